"""The demo phantom's ground truth, and the inspect / demo-study / bench commands (real CLI)."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest

from app.cli import main
from viewer.loading import load
from viewer.phantom import lung_masks, phantom_slice_2d
from viewer.phantom_world import free_areas

SERIES_KEYS = {"series_uid", "modality", "description", "shape", "spacing_mm", "frames",
               "photometric", "source", "warnings"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A small demo study written once through the real ``medmo demo-study`` command."""
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo-study", str(out), "--slices", "40", "--size", "256", "--seed", "5"]) == 0
    return out


def test_demo_is_a_ct_series_in_hu_with_shuffled_files(demo):
    result = load([demo])
    (series,) = result.all_series
    assert series.modality == "CT"
    assert series.volume.shape == (40, 256, 256)
    assert result.studies[0].patient_name == "PHANTOM^DEMO"
    assert "synthetic" in result.studies[0].description.lower()
    paths = [ref.path for ref in series.frames]
    assert paths != sorted(paths)  # file names are not in slice order
    array = series.volume.array
    assert array[:, 2, 2].max() < -900  # air
    assert -950 < np.median(array[20][lung_masks(256, 0.5)[1]]) < -750  # lungs
    assert array[20].max() > 700  # bone of the spine (a bright distractor)
    z = [series.volume.index_to_patient(0, 0, k)[2] for k in range(40)]
    assert np.all(np.diff(z) > 0)


def test_ground_truth_boxes_enclose_exactly_the_lesion_pixels(demo):
    truth = json.loads((demo / "ground_truth.json").read_text())
    (series,) = load([demo]).all_series
    assert {e["series_uid"] for e in truth} == {series.uid}
    boxes = defaultdict(list)
    for entry in truth:
        assert entry["sop_instance_uid"] == series.frames[entry["slice"]].sop_instance_uid
        boxes[entry["slice"]].append(entry)
    assert len(boxes) >= 3
    for k in range(series.volume.n_frames):
        _, _, spine = lung_masks(256, k / 39)
        free = free_areas(256, k / 39)  # the lungs without the liver dome
        lesion = (series.volume.array[k] > -300) & (free["right"] | free["left"])
        covered = np.zeros_like(lesion)
        for box in boxes.get(k, []):
            inside = lesion[box["y0"]:box["y1"], box["x0"]:box["x1"]]
            assert inside.any()
            # tight: every edge row/column of the box touches the lesion
            assert inside[0].any() and inside[-1].any()
            assert inside[:, 0].any() and inside[:, -1].any()
            assert not spine[box["y0"]:box["y1"], box["x0"]:box["x1"]].any()
            covered[box["y0"]:box["y1"], box["x0"]:box["x1"]] = True
        assert not (lesion & ~covered).any(), f"lesion pixels outside every box on slice {k}"


def test_demo_is_deterministic_for_a_seed(demo, tmp_path):
    assert main(["demo-study", str(tmp_path), "--slices", "40", "--size", "256",
                 "--seed", "5"]) == 0
    assert (tmp_path / "ground_truth.json").read_text() == (demo / "ground_truth.json").read_text()
    name = sorted(p.name for p in demo.glob("*.dcm"))[7]
    assert (tmp_path / name).read_bytes() == (demo / name).read_bytes()


def test_phantom_slice_2d_has_one_box_around_a_bright_lesion():
    image, (box,) = phantom_slice_2d(256, seed=11)
    assert 16 <= box.x1 - box.x0 <= 62 and 16 <= box.y1 - box.y0 <= 62
    assert np.median(image[box.y0:box.y1, box.x0:box.x1]) > 100
    other, _ = phantom_slice_2d(256, seed=12)
    assert not np.array_equal(image, other)


def test_inspect_json_has_the_issue_shape_and_exit_0(demo, capsys, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 10)
    assert main(["inspect", str(demo), str(junk), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"studies", "skipped"}
    (study,) = data["studies"]
    assert set(study) == {"study_uid", "patient_id", "description", "series"}
    (series,) = study["series"]
    assert set(series) == SERIES_KEYS
    assert series["shape"] == [40, 256, 256]
    assert series["frames"] == 40
    assert series["warnings"] == []  # nothing dropped or replaced in the demo study
    assert series["spacing_mm"] == pytest.approx([2.5, 350 / 256, 350 / 256])
    assert (series["modality"], series["photometric"], series["source"]) == (
        "CT", "MONOCHROME2", "dicom")
    skipped = {entry["path"]: entry["reason"] for entry in data["skipped"]}
    assert skipped[str(junk)] == "not a DICOM file"
    assert skipped[str(demo / "ground_truth.json")] == "not a DICOM file"


def test_inspect_exit_2_when_nothing_loads_and_a_readable_table(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("hello")
    assert main(["inspect", str(tmp_path), "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["studies"] == [] and data["skipped"][0]["reason"] == "not a DICOM file"
    assert main(["inspect", str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().out


def test_inspect_table_lists_colour_shape(capsys):
    from pydicom.data import get_testdata_file

    assert main(["inspect", get_testdata_file("examples_ybr_color.dcm")]) == 0
    out = capsys.readouterr().out
    assert "30x240x320x3" in out and "YBR_FULL_422" in out
