"""What goes wrong with a real PACS: it dies or hangs mid-retrieve, holds a transfer syntax we
cannot take, or the cache's disk fills. Each is one clear message, and what arrived stays."""

from __future__ import annotations

import resource
import time

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import MPEG2MPML, generate_uid

from viewer.pacs import PacsClient, StudyCache, Timeouts, parse_node, retrieve_study
from viewer.pacs.events import Progress

VIDEO_ENDOSCOPIC = "1.2.840.10008.5.1.4.1.1.77.1.1.1"


@pytest.fixture
def own_pacs(orthanc_factory, pacs_site):
    """An Orthanc of this test's own (it may be killed), holding the demo study."""
    orthanc = orthanc_factory()
    orthanc.upload(pacs_site.demo_files.values())
    return orthanc


def retrieve_until(client, uid, cache, *, at: int, then) -> tuple[list, object]:
    """Retrieve, calling ``then()`` once ``at`` instances are on disk."""
    events = []
    for event in retrieve_study(client, uid, cache):
        events.append(event)
        if isinstance(event, Progress) and event.done == at:
            then()
    return events, events[-1]


def assert_whole(paths) -> None:
    for path in paths:
        assert pydicom.dcmread(path).pixel_array.size > 0


@pytest.mark.parametrize("url", ["dicom", "web"])
def test_server_killed_mid_retrieve_keeps_what_arrived(url, own_pacs, pacs_site, tmp_path):
    client = PacsClient(parse_node(own_pacs.dicom_url if url == "dicom" else own_pacs.web_url))
    cache = StudyCache(tmp_path / "cache")
    _events, result = retrieve_until(client, pacs_site.demo_uid, cache, at=4,
                                     then=own_pacs.kill)
    assert "lost during the retrieve" in result.error or "nothing is listening" in result.error
    assert not result.complete
    assert 4 <= result.instances < pacs_site.demo_count
    assert_whole(result.paths)
    assert len(cache.paths(pacs_site.demo_uid)) == result.instances


def test_server_hanging_mid_retrieve_times_out(own_pacs, pacs_site, tmp_path):
    client = PacsClient(parse_node(own_pacs.dicom_url), timeouts=Timeouts(message_s=2.0))
    started = time.monotonic()
    _events, result = retrieve_until(client, pacs_site.demo_uid, StudyCache(tmp_path / "c"),
                                     at=4, then=own_pacs.freeze)
    assert time.monotonic() - started < 15
    assert "did not answer for 2 s during the retrieve: gave up" in result.error
    assert 4 <= result.instances < pacs_site.demo_count
    assert_whole(result.paths)


def mpeg2_instance(study: Dataset, folder) -> str:
    """A video instance of ``study`` in MPEG-2, a syntax the viewer does not decode."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = VIDEO_ENDOSCOPIC
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = MPEG2MPML
    ds = Dataset()
    ds.file_meta = meta
    for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "StudyDate",
                    "AccessionNumber", "StudyDescription"):
        setattr(ds, keyword, study.get(keyword, ""))
    ds.SOPClassUID, ds.SOPInstanceUID = VIDEO_ENDOSCOPIC, meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.Modality = generate_uid(), 9, "ES"
    ds.Rows = ds.Columns = 16
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 3, "YBR_PARTIAL_420"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.NumberOfFrames, ds.PlanarConfiguration = 1, 0
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(60)])
    path = folder / "video.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_an_instance_in_a_syntax_we_did_not_propose(own_pacs, pacs_site, tmp_path):
    study = pydicom.dcmread(next(iter(pacs_site.demo_files.values())), stop_before_pixels=True)
    own_pacs.upload([mpeg2_instance(study, tmp_path)])
    client = PacsClient(parse_node(own_pacs.dicom_url))
    _events, result = retrieve_until(client, pacs_site.demo_uid, StudyCache(tmp_path / "c"),
                                     at=-1, then=lambda: None)
    assert result.failed == 1 and not result.complete and not result.error
    assert result.instances == pacs_site.demo_count  # the images came anyway
    (problem,) = result.problems
    assert "could not send 1 instance(s)" in problem and "transfer syntax" in problem


def test_a_full_cache_keeps_what_arrived_and_retry_finishes(pacs_site, tmp_path):
    client = PacsClient(parse_node(pacs_site.orthanc.dicom_url))
    one_file = max(p.stat().st_size for p in pacs_site.demo_files.values())
    cache = StudyCache(tmp_path / "cache", max_bytes=5 * one_file + 1000)  # about five fit
    _events, result = retrieve_until(client, pacs_site.demo_uid, cache, at=-1,
                                     then=lambda: None)
    assert "the study cache is full" in result.error
    assert "purge cached studies, then Retry" in result.error
    assert 1 <= result.instances < pacs_site.demo_count
    assert_whole(result.paths)
    assert not list((tmp_path / "cache").rglob("*.part"))  # no half-written file left

    cache.max_bytes = None  # the user purged, or raised the limit
    _events, retried = retrieve_until(client, pacs_site.demo_uid, cache, at=-1,
                                      then=lambda: None)
    assert retried.complete and retried.received == pacs_site.demo_count - result.instances


@pytest.fixture
def file_size_limit():
    """``limit(n)``: from now on this process cannot write files past n bytes (EFBIG, as a
    full disk refuses writes: a real OS error; Python ignores SIGXFSZ)."""
    before = resource.getrlimit(resource.RLIMIT_FSIZE)
    yield lambda n: resource.setrlimit(resource.RLIMIT_FSIZE, (n, before[1]))
    resource.setrlimit(resource.RLIMIT_FSIZE, before)


def test_the_disk_refusing_writes_is_one_clear_message(pacs_site, tmp_path, file_size_limit):
    client = PacsClient(parse_node(pacs_site.orthanc.dicom_url))
    cache = StudyCache(tmp_path / "cache", min_free_bytes=0)
    file_size_limit(4096)  # smaller than any instance
    _events, result = retrieve_until(client, pacs_site.demo_uid, cache, at=-1,
                                     then=lambda: None)
    assert "the study cache's disk is full" in result.error and "then Retry" in result.error
    assert result.instances == 0 and not result.complete
    assert not list((tmp_path / "cache").rglob("*.part"))
