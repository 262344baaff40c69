"""The clicks scenario's site renders slices at the size the start model reads, read from the
model folder's processor configuration: 256 for the shipped demo model, 512 for a model trained
on 512 x 512 slices, so each is benchmarked at its own scale and its frames reach it unresized."""

from __future__ import annotations

import json
import shutil

import pytest

from app.training.site_sim import model_slice_size, site_slice
from inference.frames import model_size, pixel_bounds_of_folder
from inference.models import DEMO_MODEL_DIR


def _reaches_unresized(folder, side: int) -> bool:
    low, high, factor = pixel_bounds_of_folder(folder)
    return model_size(side, side, min_pixels=low, max_pixels=high, factor=factor) == (side, side)


def test_shipped_demo_model_is_benchmarked_at_256():
    side = model_slice_size(DEMO_MODEL_DIR)
    assert side == 256
    assert site_slice(3, size=side).image.shape == (256, 256)
    assert _reaches_unresized(DEMO_MODEL_DIR, side)
    assert not _reaches_unresized(DEMO_MODEL_DIR, 512)  # a 512 slice would be shrunk


def test_a_model_trained_on_512_slices_is_benchmarked_at_512(tmp_path):
    folder = tmp_path / "demo-512"
    folder.mkdir()
    shutil.copy(DEMO_MODEL_DIR / "processor_config.json", folder)
    config = json.loads((folder / "processor_config.json").read_text())
    config["image_processor"]["size"]["longest_edge"] = 512 * 512
    (folder / "processor_config.json").write_text(json.dumps(config))
    side = model_slice_size(folder)
    assert side == 512
    image = site_slice(3, size=side).image
    assert image.shape == (512, 512)
    assert _reaches_unresized(folder, side)


def test_a_model_without_a_cap_reads_a_ct_slice_at_its_own_512(tiny_model):
    side = model_slice_size(tiny_model)
    assert side == 512 and _reaches_unresized(tiny_model, side)


def test_a_folder_without_processor_config_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        model_slice_size(tmp_path)
