"""`medmo bench sweep` runs end to end on a small demo study and prints its figures (the
numbers are the benchmark's to report, not the test's to assert: only their form and their
consistency are checked)."""

from __future__ import annotations

import json

import pytest
import torch

from app.cli import main


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_bench_sweep_prints_the_timings_and_the_3d_detection_figures(capsys, restore_threads):
    assert main(["bench", "sweep", "--json", "--slices", "8", "--size", "128", "--chunk", "3",
                 "--threads", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["slices"] == 8 and result["chunk"] == 3 and result["threads"] == 1
    assert result["sweep_s"] > 0 and result["sequential_s"] > 0
    assert result["speedup"] == pytest.approx(result["sequential_s"] / result["sweep_s"],
                                              abs=0.01)
    assert result["padded_speedup"] == pytest.approx(
        result["sequential_s"] / result["padded_s"], abs=0.01)
    assert result["shrinking_same_as_padded"] == 1.0  # same tokens, fewer rows per step
    assert 0.0 <= result["batched_agreement"] <= 1.0
    assert result["lesions_total"] == len(result["lesions"]) >= 1
    found = [lesion for lesion in result["lesions"] if lesion["found"] is not None]
    assert result["lesions_found"] == len(found)
    assert result["false_findings"] == result["findings_3d"] - len(found)
    assert result["device"].startswith("cpu") and result["model"].endswith("demo-model")
