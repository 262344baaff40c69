"""`medmo ask` end to end on a synthetic CT series and a tiny random checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from tests.viewer.series_factory import write_series


def _write_ct_series(folder, *, slices=5, size=64, seed=0):
    """A small axial CT series (the suite's series factory); returns the SOP Instance UIDs in
    the viewer's slice order (feet to head)."""
    import pydicom

    rng = np.random.default_rng(seed)
    hu = rng.integers(-1000, 400, (slices, size, size)).astype(np.float32)
    written = write_series(folder, slices=slices, rows=size, columns=size, hu=hu, seed=seed,
                           pixel_spacing=(0.7, 0.7), origin=(0.0, 0.0, 2.5),
                           attributes={"PatientName": "Test^Phantom", "PatientID": "TEST-0",
                                       "SliceThickness": 2.5})
    return [pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
            for path, _ in written]


@pytest.fixture(scope="module")
def ct_series(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ct")
    return folder, _write_ct_series(folder)


def test_json_shape_with_boxes_in_slice_pixels(ct_series, tiny_model, capsys):
    from viewer.loading import load

    folder, _ = ct_series
    series = load([folder]).all_series[0]
    code = main(["ask", str(folder), "--slice", "1", "--slice", "3", "--task", "localize",
                 "--prompt", "nodule", "--model", str(tiny_model), "--max-new-tokens", "12",
                 "--json"])
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads(out)  # stdout is exactly one JSON object
    assert set(result) == {"text", "boxes", "model", "adapter", "server", "timings"}
    assert result["server"] == ""  # answered in-process
    assert set(result["timings"]) == {"ttft_s", "new_tokens", "tokens_per_s"}
    assert result["model"] == str(tiny_model) and result["adapter"] is None
    timings = result["timings"]
    assert 0 < timings["new_tokens"] <= 2 * 12  # the cap asked for, for each of the 2 slices
    assert 0 < timings["ttft_s"] < 60 and timings["tokens_per_s"] > 0
    assert result["text"].strip()  # the tokens counted are the text printed
    for box in result["boxes"]:  # random weights: maybe none; if any, they must be well formed
        assert set(box) == {"label", "slice", "sop_instance_uid", "x0", "y0", "x1", "y1"}
        assert box["slice"] in (1, 3)
        assert box["sop_instance_uid"] == series.frames[box["slice"]].sop_instance_uid
        assert 0 <= box["x0"] < box["x1"] <= 64 and 0 <= box["y0"] < box["y1"] <= 64


def test_answer_json_maps_frames_to_slices_and_uids(ct_series):
    """The --json conversion with a known box: frame index -> slice K -> its SOP Instance UID."""
    from app.commands.ask import answer_json
    from inference.boxes import norm_to_pixel, parse_boxes
    from inference.types import Answer, Timings
    from viewer.loading import load

    folder, _ = ct_series
    series = load([folder]).all_series[0]
    parsed = parse_boxes("nodule <box>[[500, 250, 750, 1000]]</box>")
    box = norm_to_pixel(parsed.boxes[0], width=64, height=64, frame=1)
    answer = Answer(text="t", boxes=(box,), timings=Timings(0.5, 3, 10.0, 1.0), model="m")
    result = answer_json(answer, [0, 4], series)
    assert result["boxes"] == [{"label": "nodule", "slice": 4,
                                "sop_instance_uid": series.frames[4].sop_instance_uid,
                                "x0": 32.0, "y0": 16.0, "x1": 48.0, "y1": 64.0}]


def test_streams_text_to_stdout(ct_series, tiny_model, capsys):
    folder, _ = ct_series
    code = main(["ask", str(folder), "--prompt", "What is shown?", "--model", str(tiny_model),
                 "--max-new-tokens", "6"])
    assert code == 0
    assert capsys.readouterr().out.strip()


def test_no_model_says_how_to_get_one(ct_series, capsys, monkeypatch, tmp_path):
    import inference.models

    monkeypatch.setattr(inference.models, "DEMO_MODEL_DIR", tmp_path / "no-demo-model")
    folder, _ = ct_series
    assert main(["ask", str(folder), "--prompt", "Q"]) == 2
    err = capsys.readouterr().err
    assert "medmo models download" in err and "--model" in err and "make-tiny" in err


def test_bad_slice_series_and_path(ct_series, tiny_model, tmp_path, capsys):
    folder, _ = ct_series
    assert main(["ask", str(folder), "--slice", "9", "--prompt", "Q",
                 "--model", str(tiny_model)]) == 2
    assert "0..4" in capsys.readouterr().err
    assert main(["ask", str(folder), "--series", "3", "--prompt", "Q",
                 "--model", str(tiny_model)]) == 2
    (tmp_path / "junk.txt").write_text("not an image")
    assert main(["ask", str(tmp_path), "--prompt", "Q", "--model", str(tiny_model)]) == 3


def test_missing_model_is_exit_1(ct_series, tmp_path, capsys):
    folder, _ = ct_series
    assert main(["ask", str(folder), "--prompt", "Q", "--model", "MBZUAI/Nope"]) == 1
    assert "not available locally" in capsys.readouterr().err


def test_ct_slices_are_windowed_as_on_screen(ct_series):
    from viewer.loading import load
    from viewer.windowing import apply_window, windowed_slices

    folder, _ = ct_series
    series = load([folder]).all_series[0]
    frames = windowed_slices(series, [2])
    assert frames[0].dtype == np.uint8
    np.testing.assert_array_equal(frames[0], apply_window(series.volume.array[2], 350, 50))


def test_adapter_is_applied_and_reported(ct_series, tiny_model, tmp_path, capsys):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    torch.manual_seed(3)
    base = AutoModelForImageTextToText.from_pretrained(tiny_model)
    lora = get_peft_model(base, LoraConfig(r=8, lora_alpha=32, target_modules=["q_proj", "v_proj"],
                                           init_lora_weights=False))
    lora.save_pretrained(tmp_path / "site-lora")
    folder, _ = ct_series
    args = ["ask", str(folder), "--prompt", "Q", "--model", str(tiny_model), "--max-new-tokens", "8",
            "--json"]
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(args + ["--adapter", str(tmp_path / "site-lora")]) == 0
    adapted = json.loads(capsys.readouterr().out)
    assert plain["adapter"] is None and adapted["adapter"] == "site-lora"
    assert adapted["text"] != plain["text"]
    assert main(args + ["--adapter", str(tmp_path)]) == 1
    assert "not a LoRA adapter folder" in capsys.readouterr().err
