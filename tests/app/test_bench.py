"""`medmo bench` prints numbers a reader can trust: each comparison lists its interleaved rounds,
every time is positive, the medians and spreads are those of the rounds, and the ratio is the
ratio of the medians. Tiny sizes and 2 rounds: the shape and sense are checked, never a speed."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess

import pytest

from app.bench.rounds import compare, interleave, summary
from app.cli import main


def check_side(side: dict, rounds: int, *, positive: bool = True) -> None:
    """One side of a comparison: its rounds, and the median and spread of exactly those."""
    values = side["rounds"]
    assert len(values) == rounds
    if positive:
        assert all(v > 0 for v in values), values
    assert side["median"] == pytest.approx(statistics.median(values), abs=1e-9)
    assert side["spread"] == pytest.approx(max(values) - min(values), abs=1e-9)


def check_comparison(block: dict, ours: str, reference: str, rounds: int, *,
                     positive: bool = True) -> None:
    assert block["rounds"] == rounds
    check_side(block[ours], rounds, positive=positive)
    check_side(block[reference], rounds, positive=positive)
    assert block["ratio_is"] == f"median {ours} / median {reference}"
    ratio = block[ours]["median"] / block[reference]["median"]
    assert block["ratio"] == pytest.approx(ratio, abs=0.0051)  # printed with 2-3 decimals


def run_json(capsys, *argv: str) -> tuple[dict, str]:
    assert main(["bench", *argv, "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def printed_rounds(err: str, rounds: int) -> list[str]:
    lines = [line for line in err.splitlines() if line.startswith("round ")]
    assert [line.split(":")[0] for line in lines] == [f"round {k}/{rounds}"
                                                       for k in range(1, rounds + 1)]
    return lines


# ---- the helper every target uses -------------------------------------------------------
def test_rounds_alternate_and_the_ratio_is_of_the_medians():
    order: list[str] = []
    values = iter([3.0, 1.0, 2.0, 2.0, 1.0, 5.0])

    def side(name: str):
        return lambda: order.append(name) or next(values)

    runs = interleave({"new": side("new"), "old": side("old")}, 3)
    assert order == ["new", "old", "old", "new", "new", "old"]
    assert runs == {"new": [3.0, 2.0, 1.0], "old": [1.0, 2.0, 5.0]}
    block = compare(runs, "new", "old")
    check_comparison(block, "new", "old", 3)
    assert block["ratio"] == 1.0  # medians 2.0 and 2.0, whatever the best of each says
    assert summary([0.5, 0.25])["spread"] == 0.25


def test_rounds_refuse_what_is_not_interleaved():
    with pytest.raises(ValueError, match="rounds"):
        interleave({"a": lambda: 1.0}, 0)
    with pytest.raises(ValueError, match="not interleaved"):
        compare({"a": [1.0, 2.0], "b": [1.0]}, "a", "b")


# ---- each target, end to end through the CLI --------------------------------------------
def test_bench_viewer_reads_what_simpleitk_reads_in_interleaved_rounds(capsys):
    out, err = run_json(capsys, "viewer", "--slices", "6", "--size", "64", "--renders", "3",
                        "--rounds", "2")
    assert out["max_abs_diff_hu_vs_simpleitk"] == 0.0
    check_comparison(out["vs_simpleitk"], "full_volume_s", "simpleitk_s", 2)
    check_side(out["first_slice"], 2)
    assert out["full_volume_s"] == out["vs_simpleitk"]["full_volume_s"]["median"]
    assert out["simpleitk_s"] == out["vs_simpleitk"]["simpleitk_s"]["median"]
    assert out["full_over_simpleitk"] == out["vs_simpleitk"]["ratio"]
    assert 0 < out["simpleitk_execute_s"] <= max(out["vs_simpleitk"]["simpleitk_s"]["rounds"])
    assert out["render_ms_p50"] > 0
    assert all("first_slice_s" in line and "simpleitk_s" in line
               for line in printed_rounds(err, 2))


def test_bench_engine_interleaves_both_comparisons(capsys, tiny_model):
    out, err = run_json(capsys, "engine", "--model", str(tiny_model), "--new-tokens", "4",
                        "--frames", "2", "--size", "64", "--rounds", "2")
    # seconds per token are differences of two timings: noise may make one round negative
    check_comparison(out["engine_vs_generate"], "engine_s_per_token", "generate_s_per_token",
                     2, positive=False)
    check_comparison(out["sequential_vs_batched"], "sequential_s", "batched_s", 2)
    assert out["ratio"] == out["engine_vs_generate"]["ratio"]
    assert out["batched_speedup"] == out["sequential_vs_batched"]["ratio"]
    assert out["engine_s_per_token"] == out["engine_vs_generate"]["engine_s_per_token"]["median"]
    assert out["rounds"] == 2 and out["ttft_s"] > 0 and out["device"].startswith("cpu")
    assert len(printed_rounds(err, 2)) == 2


@pytest.mark.timeout(240)
def test_bench_fuzz_times_its_reference_among_the_mutants(capsys):
    from viewer.fuzz.campaign import DEFAULT_SOURCES

    out, err = run_json(capsys, "fuzz", "--n", "20", "--answers", "30", "--seed", "4",
                        "--rounds", "2")
    files, boxes = out["files"], out["boxes"]
    assert files["mutants"] == 20 and files["defects"] == 0
    # one load of every unmutated source per round, all opened by the same workers
    assert files["reference"]["outcomes"] == {"opened": 2 * len(DEFAULT_SOURCES)}
    block = files["vs_reference"]
    check_comparison(block, "mutant_s", "reference_s", 2)
    assert block["rounds_left_out"] == []
    assert files["ratio_to_reference"] == block["ratio"]
    assert boxes["answers"] == 30 and boxes["crashes"] == boxes["invalid_boxes"] == 0
    scaling = boxes["scaling_1MiB_over_64KiB (linear ~16, quadratic ~256)"]
    assert set(scaling) >= {"keys without braces", "objects missing their closing brace"}
    assert "20/20 mutants" in err


def test_bench_pacs_names_the_server_it_asked_and_interleaves_getscu(capsys):
    if shutil.which("getscu") is None:
        pytest.fail("getscu (dcmtk) is missing: sh installer/system-deps.sh test")
    out, err = run_json(capsys, "pacs", "--slices", "4", "--size", "64", "--rounds", "2",
                        "--server-nodelay")
    assert out["instances"] == 4 and out["rounds"] == 2
    check_comparison(out["ours_vs_getscu"], "pacs_get_s", "getscu_s", 2)
    check_comparison(out["cpu_ours_vs_getscu"], "pacs_get_cpu_s", "getscu_cpu_s", 2)
    assert out["ratio"] == out["ours_vs_getscu"]["ratio"]
    assert out["pacs_get_s"] == out["ours_vs_getscu"]["pacs_get_s"]["median"]
    assert 0 < out["first_slice_s"] <= out["pacs_get_best_s"]
    installed = subprocess.run(["Orthanc", "--version"], capture_output=True, text=True)
    version = installed.stdout.split()[1]  # "Orthanc 1.10.1"
    assert out["server"] == f"Orthanc {version}, TCP_NODELAY=1"
    assert len(printed_rounds(err, 2)) == 2


def test_bench_pacs_baseline_is_a_third_side_of_every_round(capsys):
    """--baseline TREE times that checkout's retrieve in the same rounds (here this very
    checkout, so both retrieve the same study the same way)."""
    from pathlib import Path

    tree = Path(__file__).resolve().parents[2]
    out, err = run_json(capsys, "pacs", "--slices", "3", "--size", "64", "--rounds", "2",
                        "--baseline", str(tree))
    check_comparison(out["baseline_vs_getscu"], "baseline_s", "getscu_s", 2)
    check_comparison(out["ours_vs_baseline"], "pacs_get_s", "baseline_s", 2)
    check_comparison(out["cpu_baseline_vs_getscu"], "baseline_cpu_s", "getscu_cpu_s", 2)
    assert out["baseline"] == str(tree)
    assert all("baseline_s" in line for line in printed_rounds(err, 2))
