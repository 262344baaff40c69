"""Dataset folders: rows and pixels round-trip, load with `datasets`, the split stays frozen."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.training.dataset import (
    DatasetError,
    Example,
    read_rows,
    read_split_ids,
    write_dataset,
)


def _example(k: int, *, shape=(40, 48)) -> Example:
    rng = np.random.default_rng(k)
    return Example(id=f"case-{k:03d}", image=rng.integers(0, 256, shape, dtype=np.uint8),
                   prompt="Find lesions.", boxes_norm=((100 + k, 200, 300, 400.5),),
                   labels=("nodule",), report=f"report {k}" if k % 2 else "",
                   source={"k": k})


def test_rows_and_pixels_round_trip(tmp_path):
    examples = [_example(k) for k in range(10)] + [_example(99, shape=(30, 30, 3))]
    report = write_dataset(tmp_path / "ds", examples, validation_fraction=0.3)
    assert report.created and report.train + report.validation == 11 and report.validation == 3
    rows = read_rows(tmp_path / "ds", "train") + read_rows(tmp_path / "ds", "validation")
    by_id = {e.id: e for e in examples}
    assert sorted(r["id"] for r in rows) == sorted(by_id)
    for row in rows:
        ex = by_id[row["id"]]
        from PIL import Image

        with Image.open(row["image_path"]) as im:
            assert np.array_equal(np.asarray(im), ex.image)  # exactly the pixels sent
        assert row["answer"] == ex.answer and row["boxes"] == [list(b) for b in ex.boxes_norm]
        assert row["labels"] == ["nodule"] and row["report"] == ex.report
        assert json.loads(row["source"]) == ex.source


def test_loads_with_datasets_json_and_imagefolder(tmp_path):
    from datasets import load_dataset

    write_dataset(tmp_path / "ds", [_example(k) for k in range(6)], validation_fraction=0.34)
    folder = load_dataset("imagefolder", data_dir=str(tmp_path / "ds"))
    assert set(folder) == {"train", "validation"}
    assert len(folder["train"]) == 4 and len(folder["validation"]) == 2
    first = folder["validation"][0]
    assert first["image"].size == (48, 40) and first["labels"] == ["nodule"]
    plain = load_dataset("json", data_files=str(tmp_path / "ds" / "train" / "metadata.jsonl"))
    assert plain["train"][0]["answer"].startswith("nodule <box>[[")


def test_validation_split_is_frozen_on_rebuild(tmp_path):
    out = tmp_path / "ds"
    first = [_example(k) for k in range(10)]
    write_dataset(out, first, validation_fraction=0.2)
    frozen = read_split_ids(out)
    val_before = {r["id"]: r for r in read_rows(out, "validation")}
    # rebuild: the old cases (one of them edited) and five new ones
    edited = Example(id=frozen[0], image=np.zeros((8, 8), np.uint8), prompt="changed",
                     boxes_norm=((1, 1, 2, 2),), labels=("mass",))
    second = [e for e in first if e.id != frozen[0]] + [edited] + [_example(k) for k in range(10, 15)]
    report = write_dataset(out, second)
    assert not report.created and report.held_back == 2 and report.validation == 2
    assert read_split_ids(out) == frozen
    assert {r["id"]: r["prompt"] for r in read_rows(out, "validation")} == \
        {k: v["prompt"] for k, v in val_before.items()}  # the edit did not leak into validation
    train_ids = {r["id"] for r in read_rows(out, "train")}
    assert {f"case-{k:03d}" for k in range(10, 15)} <= train_ids  # new cases: training only
    assert not train_ids & set(frozen)
    with pytest.raises(DatasetError, match="frozen validation split"):
        write_dataset(out, second, validation=[_example(50)])


def test_bad_input_is_refused_with_a_reason(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        Example(id="a", image=np.zeros((4, 4), np.float32), prompt="")
    with pytest.raises(ValueError, match="0..1000"):
        Example(id="a", image=np.zeros((4, 4), np.uint8), prompt="", boxes_norm=((5, 5, 1, 9),),
                labels=("x",))
    with pytest.raises(ValueError, match="id must match"):
        Example(id="../etc", image=np.zeros((4, 4), np.uint8), prompt="")
    with pytest.raises(DatasetError, match="duplicate"):
        write_dataset(tmp_path / "d1", [_example(1), _example(1)])
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not empty"):
        write_dataset(tmp_path / "busy", [_example(1), _example(2)])
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"
    with pytest.raises(DatasetError, match="not a MedMO dataset"):
        read_rows(tmp_path / "busy", "train")
