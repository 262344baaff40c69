"""De-identified export (viewer.deid) on real files with identifiers: pydicom's and deid-data's.

Each run writes one file per instance; a byte search of every output finds none of its input's
names, IDs, dates (unless retained, then shifted), UIDs or private values; pixels are unchanged;
a study stays one study and a Key Object Selection still points at its images; the PS3.15
markers name the profile and options; dciodvfy finds no error the input did not have."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pydicom
import pytest

from tests.viewer.deid_inputs import (
    copy_study,
    dciodvfy_errors,
    identifying_values,
    left_in_bytes,
)
from viewer.deid import DeidOptions, deidentify_files, write_map


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    return copy_study(tmp_path_factory.mktemp("in"))


def _run(inputs: list[Path], out: Path, **options):
    report = deidentify_files(inputs, out, DeidOptions(seed="tests", **options))
    by_source = {Path(o.source).name: Path(o.path) for o in report.written}
    return report, by_source


@pytest.fixture(scope="module")
def basic(inputs, tmp_path_factory):
    return _run(inputs, tmp_path_factory.mktemp("basic"))


@pytest.fixture(scope="module")
def all_options(inputs, tmp_path_factory):
    return _run(inputs, tmp_path_factory.mktemp("all"), retain_dates=True,
                retain_patient_characteristics=True, clean_descriptors=True)


def _date(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


@pytest.mark.parametrize("run", ["basic", "all_options"])
def test_one_file_out_per_file_in_with_no_identifier_left_in_its_bytes(run, inputs, request):
    report, outputs = request.getfixturevalue(run)
    assert report.refused == [] and report.skipped == []
    assert sorted(outputs) == sorted(p.name for p in inputs)
    assert len({p.name for p in outputs.values()}) == len(inputs)
    for source in inputs:
        output = outputs[source.name]
        values = identifying_values(source, dates=run == "basic")
        assert len(values) >= 5, source.name  # the check has something to find
        assert left_in_bytes(output, values) == {}, source.name
        assert "CompressedSamples" not in output.name


@pytest.mark.parametrize("run", ["basic", "all_options"])
def test_pixels_unchanged_no_private_tags_and_markers_set(run, inputs, request):
    report, outputs = request.getfixturevalue(run)
    expected_codes = ["113100"] if run == "basic" else ["113100", "113107", "113108", "113105"]
    for source in inputs:
        before, after = pydicom.dcmread(source), pydicom.dcmread(outputs[source.name])
        if "PixelData" in before:
            assert after.PixelData == before.PixelData, source.name
        assert not [e for e in after.iterall() if e.tag.is_private], source.name
        assert after.PatientIdentityRemoved == "YES"
        assert [i.CodeValue for i in after.DeidentificationMethodCodeSequence] == expected_codes
        assert {i.CodingSchemeDesignator for i in after.DeidentificationMethodCodeSequence} \
            == {"DCM"}
        assert after.LongitudinalTemporalInformationModified == (
            "REMOVED" if run == "basic" else "MODIFIED")


def test_a_study_stays_one_study_and_key_images_follow(basic, inputs):
    _report, outputs = basic
    cts = [pydicom.dcmread(outputs[f"CompressedSamples_CT1_{k}.dcm"]) for k in range(3)]
    original = pydicom.dcmread(inputs[0])
    assert len({ds.StudyInstanceUID for ds in cts}) == 1
    assert len({ds.SeriesInstanceUID for ds in cts}) == 1
    assert len({ds.FrameOfReferenceUID for ds in cts}) == 1
    assert len({ds.SOPInstanceUID for ds in cts}) == 3
    assert cts[0].StudyInstanceUID != original.StudyInstanceUID
    assert all(ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID for ds in cts)
    assert len({str(ds.PatientID) for ds in cts}) == 1 and cts[0].PatientID != original.PatientID
    kos = pydicom.dcmread(outputs["key-images.dcm"])
    referenced = {item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
                  for item in kos.ContentSequence if "ReferencedSOPSequence" in item}
    assert referenced == {ds.SOPInstanceUID for ds in cts}
    evidence = kos.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == cts[0].StudyInstanceUID
    assert {i.ReferencedSOPInstanceUID for i in evidence.ReferencedSeriesSequence[0]
            .ReferencedSOPSequence} == {ds.SOPInstanceUID for ds in cts}
    assert kos.StudyInstanceUID == cts[0].StudyInstanceUID


def test_basic_profile_removes_dates_and_patient_characteristics(basic, inputs):
    _report, outputs = basic
    mr = pydicom.dcmread(outputs["MR_small.dcm"])
    assert mr.get("StudyDate", "") in ("", "19000101")
    assert mr.get("PatientBirthDate", "") == ""
    assert mr.get("PatientSex", "") == "" and "PatientWeight" not in mr


def test_retained_dates_move_by_one_shift_per_patient(all_options, inputs):
    _report, outputs = all_options
    shifts = {}
    for name in ("CompressedSamples_CT1_0.dcm", "CompressedSamples_CT1_2.dcm", "MR_small.dcm"):
        source = pydicom.dcmread(next(p for p in inputs if p.name == name))
        out = pydicom.dcmread(outputs[name])
        study = (_date(out.StudyDate) - _date(source.StudyDate)).days
        shifts[name] = study
        assert study != 0
        if "ContentDate" in source:  # intervals within the patient's record are kept
            assert (_date(out.ContentDate) - _date(source.ContentDate)).days == study
        assert out.get("PatientBirthDate", "") == ""  # not part of the option
    assert shifts["CompressedSamples_CT1_0.dcm"] == shifts["CompressedSamples_CT1_2.dcm"]


def test_patient_characteristics_kept_with_the_option(all_options, inputs):
    _report, outputs = all_options
    source = pydicom.dcmread(next(p for p in inputs if p.name == "MR_small.dcm"))
    out = pydicom.dcmread(outputs["MR_small.dcm"])
    assert (out.PatientSex, float(out.PatientWeight)) == ("F", 80.0) == (
        source.PatientSex, float(source.PatientWeight))


def test_clean_descriptors_keeps_descriptions_without_the_patients_names(tmp_path):
    source = pydicom.dcmread(Path(pydicom.data.get_testdata_file("MR_small.dcm")))
    source.StudyDescription = "MR knee for CompressedSamples, ID 4MR1"
    source.SeriesDescription = "T1 sagittal"
    path = tmp_path / "described.dcm"
    source.save_as(path, enforce_file_format=True)
    _report, cleaned = _run([path], tmp_path / "clean", clean_descriptors=True)
    _report, basic = _run([path], tmp_path / "basic")
    kept = pydicom.dcmread(cleaned["described.dcm"])
    assert kept.SeriesDescription == "T1 sagittal"
    assert kept.StudyDescription.startswith("MR knee for ")
    assert "CompressedSamples" not in kept.StudyDescription and "4MR1" not in kept.StudyDescription
    removed = pydicom.dcmread(basic["described.dcm"])
    assert "StudyDescription" not in removed and "SeriesDescription" not in removed


def test_no_new_dciodvfy_errors(all_options, basic, inputs):
    for _report, outputs in (basic, all_options):
        for source in inputs:
            new = dciodvfy_errors(outputs[source.name]) - dciodvfy_errors(source)
            assert new == set(), (source.name, sorted(new))


def test_map_written_only_where_asked(basic, tmp_path):
    report, outputs = basic
    out_dir = next(iter(outputs.values())).parent
    assert sorted(p.suffix for p in out_dir.iterdir()) == [".dcm"] * len(outputs)
    target = write_map(report, tmp_path / "site-only" / "map.json")
    import json

    body = json.loads(target.read_text())
    assert {p["old_patient_id"] for p in body["patients"]} >= {"1CT1", "4MR1"}
    assert target.stat().st_mode & 0o077 == 0
    ct = next(i for i in body["instances"] if i["in"].endswith("CompressedSamples_CT1_0.dcm"))
    assert ct["new_SOPInstanceUID"] == pydicom.dcmread(ct["out"]).SOPInstanceUID
