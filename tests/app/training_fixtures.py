"""Fixtures for the training tab tests: a tiny random Qwen3-VL checkpoint and a small phantom
dataset, both real files built on the spot (import these names into a test module)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tab_tiny_model(tmp_path_factory):
    from inference.tiny import make_tiny

    return make_tiny(tmp_path_factory.mktemp("tab-tiny-qwen3vl"))


@pytest.fixture(scope="session")
def tab_phantom_dataset(tmp_path_factory):
    from app.training_data import build_phantom_benchmark

    out = tmp_path_factory.mktemp("tab-phantom") / "ds"
    build_phantom_benchmark(out, train=16, heldout=6, size=64)
    return out
