"""The engine benchmark measures every side once per round, through the interleave it is given
(the printed comparisons are checked in tests/app/test_bench.py)."""

from __future__ import annotations

from app.bench.rounds import interleave
from inference.bench import bench_engine

SIDES = {"generate_s_per_token", "engine_s_per_token", "batched_s", "sequential_s"}


def test_bench_engine_measures_each_side_once_per_round(tiny_model):
    seen: list[list[str]] = []

    def recording(sides, rounds):
        seen.append(list(sides))
        return interleave(sides, rounds)

    result = bench_engine(str(tiny_model), new_tokens=4, frames=2, rounds=2, size=64,
                          interleave=recording)
    assert len(seen) == 1 and set(seen[0]) == SIDES  # one interleaved run holds all four
    assert {side: len(values) for side, values in result["runs"].items()} == dict.fromkeys(
        SIDES, 2)
    assert all(v > 0 for v in result["runs"]["batched_s"] + result["runs"]["sequential_s"])
    assert result["ttft_s"] > 0 and result["device"].startswith("cpu")


def test_random_architecture_path_runs_on_a_small_config(tiny_model):
    """The --arch path (random weights built in memory, GPU figures) on a config small enough
    for CPU: same code, tiny sizes."""
    import json

    config = json.loads((tiny_model / "config.json").read_text())
    result = bench_engine(None, new_tokens=3, frames=2, rounds=1, size=64, arch=config,
                          interleave=interleave)
    assert result["model"] == "random-qwen3-vl-custom"
    assert "random weights" in result["notes"][0]


def test_static_cache_gives_the_same_greedy_text(tiny_model, frames):
    from inference.engine import Engine
    from inference.runtime import EngineConfig

    texts = []
    for cache in (None, "static"):
        eng = Engine(EngineConfig(model=str(tiny_model), cache_implementation=cache))
        texts.append(eng.ask(frames[:1], "Q?", max_new_tokens=12, min_new_tokens=12).text)
        eng.close()
    assert texts[0] == texts[1]
