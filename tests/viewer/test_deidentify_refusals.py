"""What de-identification refuses or skips, and why: burned-in annotation (deid-data's
ultrasounds, secondary captures of a CT brain), unreadable inputs; a mask lets the suspect
instances through with that region blanked; DICOMDIRs and folders are expanded."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.fileset import FileSet

from tests.viewer.deid_inputs import (
    DEID_DATA,
    dciodvfy_errors,
    identifying_values,
    left_in_bytes,
    pydicom_file,
)
from viewer.deid import DeidOptions, PixelRegion, deidentify_files

SUSPECT = {
    "GREYSCALE_IMAGE.dcm": "BurnedInAnnotation=YES",
    "RGB_IMAGE.dcm": "ultrasound without BurnedInAnnotation=NO",
    "ctbrain1.dcm": "secondary capture without BurnedInAnnotation=NO",
    "ctbrain2.dcm": "secondary capture without BurnedInAnnotation=NO",
}


@pytest.fixture(scope="module")
def suspect_inputs(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("suspect")
    for name in SUSPECT:
        source = next(DEID_DATA.rglob(name))
        shutil.copy(source, folder / name)
    shutil.copy(pydicom_file("CT_small.dcm"), folder / "CT_small.dcm")
    return sorted(folder.iterdir())


def test_burned_in_candidates_are_refused_with_the_reason(suspect_inputs, tmp_path):
    report = deidentify_files(suspect_inputs, tmp_path / "out", DeidOptions())
    refused = {Path(o.source).name: o.reason for o in report.refused}
    assert set(refused) == set(SUSPECT)
    for name, why in SUSPECT.items():
        assert why in refused[name] and "--mask" in refused[name]
    assert [Path(o.source).name for o in report.written] == ["CT_small.dcm"]
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_a_mask_blanks_the_region_and_lets_them_through(suspect_inputs, tmp_path):
    region = PixelRegion(0, 0, 120, 40)
    report = deidentify_files(suspect_inputs, tmp_path / "out", DeidOptions(mask=region))
    assert report.refused == [] and len(report.written) == len(suspect_inputs)
    written = {Path(o.source).name: o for o in report.written}
    for name in SUSPECT:
        source = next(p for p in suspect_inputs if p.name == name)
        before = pydicom.dcmread(source)
        if before.file_meta.TransferSyntaxUID.is_compressed:
            before.decompress()
        after = pydicom.dcmread(written[name].path)
        assert written[name].masked and after.BurnedInAnnotation == "NO"
        assert "113101" in [i.CodeValue for i in after.DeidentificationMethodCodeSequence]
        old, new = before.pixel_array, after.pixel_array
        assert new.shape == old.shape
        assert not new[:40, :120].any(), name
        assert np.array_equal(new[40:], old[40:]) and np.array_equal(new[:, 120:], old[:, 120:])
        assert left_in_bytes(Path(written[name].path), identifying_values(source)) == {}, name
        assert dciodvfy_errors(Path(written[name].path)) - dciodvfy_errors(source) == set()
    ct = pydicom.dcmread(written["CT_small.dcm"].path)  # not suspect: pixels untouched
    assert not written["CT_small.dcm"].masked
    assert ct.PixelData == pydicom.dcmread(pydicom_file("CT_small.dcm")).PixelData
    brains = [pydicom.dcmread(written[n].path) for n in ("ctbrain1.dcm", "ctbrain2.dcm")]
    assert brains[0].StudyInstanceUID == brains[1].StudyInstanceUID


def test_unreadable_inputs_are_skipped_with_a_reason_while_the_rest_go_through(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(pydicom_file("MR_truncated.dcm"), folder / "MR_truncated.dcm")
    shutil.copy(pydicom_file("MR_small.dcm"), folder / "MR_small.dcm")
    (folder / "notes.txt").write_text("Patient CompressedSamples, not an image")
    report = deidentify_files([folder, tmp_path / "absent.dcm"], tmp_path / "out",
                              DeidOptions())
    skipped = {Path(o.source).name: o.reason for o in report.skipped}
    assert "truncated" in skipped["MR_truncated.dcm"]
    assert "not a readable DICOM file" in skipped["notes.txt"]
    assert skipped["absent.dcm"] == "no such file or folder"
    assert [Path(o.source).name for o in report.written] == ["MR_small.dcm"]


def test_a_dicomdir_gives_one_file_per_instance_it_lists(tmp_path):
    dicomdir = pydicom_file("dicomdirtests") / "DICOMDIR"
    listed = [inst.path for inst in FileSet(pydicom.dcmread(dicomdir))]
    report = deidentify_files([dicomdir], tmp_path / "out", DeidOptions())
    assert report.refused == [] and report.skipped == []
    assert len(report.written) == len(listed) == len(list((tmp_path / "out").iterdir()))
    studies = {pydicom.dcmread(o.path).StudyInstanceUID for o in report.written}
    originals = {pydicom.dcmread(p).StudyInstanceUID for p in listed}
    assert len(studies) == len(originals) and not studies & originals
