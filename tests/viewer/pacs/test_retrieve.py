"""Retrieving from a real Orthanc into the study cache: C-GET, C-MOVE and WADO-RS, series by
series, as stored, fetched once, and resumable."""

from __future__ import annotations

import threading

import numpy as np
import pydicom
import pytest

from viewer.loading import load
from viewer.pacs import PacsClient, StudyCache, parse_node, retrieve_study
from viewer.pacs.events import Progress, RetrieveResult, SeriesReady
from viewer.pacs.nodes import DicomNode

JPEG2000 = "1.2.840.10008.1.2.4.91"


def run(client, uid, cache, **options) -> tuple[list, RetrieveResult]:
    events = list(retrieve_study(client, uid, cache, **options))
    assert isinstance(events[-1], RetrieveResult)
    return events, events[-1]


def nodes(site) -> dict[str, object]:
    dicom = parse_node(site.orthanc.dicom_url)
    move = DicomNode(dicom.ae_title, dicom.host, dicom.port, retrieve="move",
                     storage_port=site.move_port)
    return {"C-GET": dicom, "C-MOVE": move, "WADO-RS": parse_node(site.orthanc.web_url)}


@pytest.mark.parametrize("method", ["C-GET", "C-MOVE", "WADO-RS"])
def test_a_study_arrives_series_by_series_and_opens_as_uploaded(method, pacs_site, tmp_path):
    client = PacsClient(nodes(pacs_site)[method])
    cache = StudyCache(tmp_path / "cache")
    events, result = run(client, pacs_site.demo_uid, cache)

    assert (result.complete, result.error, result.failed) == (True, "", 0)
    assert result.instances == result.received == pacs_site.demo_count
    ready = [e for e in events if isinstance(e, SeriesReady)]
    assert [r.series_uid for r in ready] == pacs_site.demo_series
    assert [len(r.paths) for r in ready] == [10, 6]
    # the first series is whole (and could open) while the second has not arrived yet
    first_ready = events.index(ready[0])
    done_then = [e.done for e in events[:first_ready] if isinstance(e, Progress)][-1]
    assert done_then == 10 < pacs_site.demo_count
    progress = [e for e in events if isinstance(e, Progress)]
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert progress[-1].total == pacs_site.demo_count and progress[-1].remaining == 0

    fetched, original = load(list(result.paths)), load(list(pacs_site.demo_files.values()))
    assert not fetched.skipped
    assert [s.uid for s in fetched.all_series] == [s.uid for s in original.all_series]
    for ours, theirs in zip(fetched.all_series, original.all_series, strict=True):
        np.testing.assert_array_equal(ours.volume.array, theirs.volume.array)
        np.testing.assert_allclose(ours.volume.affine, theirs.volume.affine)


@pytest.mark.parametrize("method", ["C-GET", "WADO-RS"])
def test_jpeg2000_arrives_as_stored_and_decodes(method, pacs_site, tmp_path):
    client = PacsClient(nodes(pacs_site)[method])
    _events, result = run(client, pacs_site.j2k_uid, StudyCache(tmp_path / "cache"))
    assert result.complete and not result.error
    (path,) = result.paths
    ours = pydicom.dcmread(path)
    assert ours.file_meta.TransferSyntaxUID == JPEG2000  # not transcoded (Orthanc cannot)
    original = pydicom.dcmread(pacs_site.files[str(ours.SOPInstanceUID)])
    np.testing.assert_array_equal(ours.pixel_array, original.pixel_array)


def test_a_study_opened_twice_is_fetched_once_even_with_the_pacs_down(orthanc_factory,
                                                                      pacs_site, tmp_path):
    orthanc = orthanc_factory()
    orthanc.upload(pacs_site.demo_files.values())
    client = PacsClient(parse_node(orthanc.dicom_url))
    cache = StudyCache(tmp_path / "cache")
    _events, first = run(client, pacs_site.demo_uid, cache)
    assert first.received == pacs_site.demo_count

    _events, again = run(client, pacs_site.demo_uid, cache)
    assert (again.received, again.instances, again.complete) == (0, pacs_site.demo_count, True)

    orthanc.stop()
    events, offline = run(client, pacs_site.demo_uid, cache)
    assert (offline.received, offline.instances, offline.complete) == (
        0, pacs_site.demo_count, True)
    assert not offline.error
    assert "opened from the cache" in offline.problems[0]
    assert [e.from_cache for e in events if isinstance(e, SeriesReady)] == [True, True]


@pytest.mark.parametrize("method", ["C-GET", "WADO-RS"])
def test_cancel_keeps_what_arrived_and_retry_fetches_only_the_rest(method, pacs_site,
                                                                   tmp_path):
    client = PacsClient(nodes(pacs_site)[method])
    cache = StudyCache(tmp_path / "cache")
    cancel = threading.Event()
    events = []
    for event in retrieve_study(client, pacs_site.demo_uid, cache, cancel=cancel):
        events.append(event)
        if isinstance(event, Progress) and event.done == 4:
            cancel.set()
    stopped = events[-1]
    assert stopped.cancelled and not stopped.complete and not stopped.error
    assert 4 <= stopped.instances < pacs_site.demo_count
    for path in stopped.paths:  # every file kept is whole
        assert pydicom.dcmread(path).pixel_array.size > 0

    _events, retried = run(client, pacs_site.demo_uid, cache)
    assert retried.complete and not retried.cancelled
    assert retried.received == pacs_site.demo_count - stopped.instances
    assert retried.instances == pacs_site.demo_count


def test_cache_lists_and_purges(pacs_site, tmp_path):
    cache = StudyCache(tmp_path / "cache")
    run(PacsClient(nodes(pacs_site)["C-GET"]), pacs_site.demo_uid, cache)
    (listed,) = cache.studies()
    assert listed.study_uid == pacs_site.demo_uid and listed.complete
    assert (listed.patient_name, listed.instances) == ("PHANTOM^DEMO", pacs_site.demo_count)
    assert listed.node == pacs_site.orthanc.dicom_url
    assert cache.node_of(pacs_site.demo_uid) == pacs_site.orthanc.dicom_url
    assert cache.purge(older_than_days=1) == 0  # fetched just now: kept
    freed = cache.purge(pacs_site.demo_uid)
    assert freed == listed.size_bytes > 0
    assert cache.studies() == [] and cache.paths(pacs_site.demo_uid) == []
    assert not any((tmp_path / "cache" / "studies").iterdir())
