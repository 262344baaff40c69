"""Searching a real Orthanc the way radiologists type, over DIMSE and DICOMweb alike."""

from __future__ import annotations

from datetime import date

import pytest

from viewer.pacs import PacsClient, PacsError, StudyQuery, parse_node
from viewer.pacs.query import date_range

DEMO_NAME = "PHANTOM^DEMO"
NAMED = "Quixotewell^Hannelore"


@pytest.fixture(params=["DIMSE", "DICOMweb"])
def client(request, pacs_site):
    url = pacs_site.orthanc.dicom_url if request.param == "DIMSE" else pacs_site.orthanc.web_url
    return PacsClient(parse_node(url))


def names(records) -> set[str]:
    return {r.patient_name for r in records}


def test_connection_test_answers(client):
    assert client.echo() > 0


@pytest.mark.parametrize("typed", ["phantom", "PHANTOM*", "phan*", "phantom demo",
                                   "Phantom, Demo", "*DEMO"])
def test_names_as_radiologists_type_them(client, typed):
    assert names(client.find_studies(StudyQuery(patient_name=typed))) == {DEMO_NAME}


def test_name_of_another_patient_and_no_match(client):
    assert names(client.find_studies(StudyQuery(patient_name="quixotewell hann"))) == {NAMED}
    assert client.find_studies(StudyQuery(patient_name="nobody-here")) == []


def test_result_carries_series_and_instance_counts(client, pacs_site):
    (study,) = client.find_studies(StudyQuery(accession="ACC-2026-0042"))
    assert study.study_uid == pacs_site.demo_uid
    assert (study.series, study.instances) == (2, 16)
    assert study.modalities == ("CT",)
    assert study.as_json()["patient_id"] == "PHANTOM-0005"


def test_patient_id_exact_and_with_wildcard(client):
    assert names(client.find_studies(StudyQuery(patient_id="PID-77180342"))) == {NAMED}
    assert client.find_studies(StudyQuery(patient_id="PID-7718")) == []  # exact unless *
    assert names(client.find_studies(StudyQuery(patient_id="PID-7718*"))) == {NAMED}


def test_modality_and_description(client):
    assert {r.modalities for r in client.find_studies(StudyQuery(modality="mr"))} == {("MR",)}
    assert names(client.find_studies(StudyQuery(description="chest"))) == {NAMED}
    # a word with a space cannot be sent verbatim to Orthanc: matched on our side instead
    assert names(client.find_studies(StudyQuery(description="CT phantom (not"))) == {DEMO_NAME}


def test_date_presets_and_custom_range(client):
    today = date(2026, 1, 5)
    week = client.find_studies(StudyQuery(date=date_range("last 7 days", today=today)))
    assert names(week) == {DEMO_NAME, NAMED}
    assert names(client.find_studies(StudyQuery(date=date_range("today", today=today)))) \
        == {NAMED}
    old = client.find_studies(StudyQuery(date=date_range(
        "custom", today=today, first=date(2004, 1, 1), last=date(2004, 12, 31))))
    assert old and all(r.date.startswith("2004") for r in old)
    newest_first = client.find_studies(StudyQuery())
    assert [r.date for r in newest_first] == sorted((r.date for r in newest_first),
                                                    reverse=True)


def test_series_of_a_study(client, pacs_site):
    series = client.find_series(pacs_site.demo_uid)
    assert [s.series_uid for s in series] == pacs_site.demo_series
    assert [s.instances for s in series] == [10, 6]


def test_a_server_that_is_down_is_one_clear_message(orthanc_factory):
    orthanc = orthanc_factory()
    dicom, web = orthanc.dicom_url, orthanc.web_url
    orthanc.stop()
    for url in (dicom, web):
        with pytest.raises(PacsError, match="nothing is listening on 127.0.0.1:.*connection "
                                            "refused"):
            PacsClient(parse_node(url)).find_studies(StudyQuery())


def test_an_ae_title_orthanc_does_not_know(pacs_site):
    stranger = parse_node(pacs_site.orthanc.dicom_url, our_ae_title="STRANGER")
    with pytest.raises(PacsError, match="does not accept our AE title 'STRANGER'"):
        PacsClient(stranger).find_studies(StudyQuery())


def test_calling_the_pacs_by_a_wrong_ae_title_is_rejected(pacs_site):
    wrong = parse_node(pacs_site.orthanc.dicom_url.replace("ORTHANC@", "NOTORTHANC@"))
    with pytest.raises(PacsError, match="rejected the association .*Called AE title not "
                                        "recognised.*not called 'NOTORTHANC'"):
        PacsClient(wrong).echo()


def test_a_wrong_dicomweb_path_says_so(pacs_site):
    with pytest.raises(PacsError, match="404.*DICOMweb base URL"):
        PacsClient(parse_node(pacs_site.orthanc.rest_url + "/not-dicom-web")).echo()
