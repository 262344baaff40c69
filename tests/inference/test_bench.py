"""The engine benchmark runs end to end and reports its keys (numbers are not asserted)."""

from __future__ import annotations

from inference.bench import bench_engine


def test_bench_engine_reports_the_issue_keys(tiny_model):
    result = bench_engine(str(tiny_model), new_tokens=4, frames=2, repeats=1, size=64)
    for key in ("engine_s_per_token", "generate_s_per_token", "ratio", "ttft_s",
                "batched_speedup", "device"):
        assert key in result
    # 4 tokens x 1 repeat is a smoke run: the numbers are noise, only their form is checked
    assert isinstance(result["engine_s_per_token"], float)
    assert isinstance(result["generate_s_per_token"], float)
    assert result["ttft_s"] > 0 and result["batched_speedup"] > 0
    assert result["device"].startswith("cpu")


def test_random_architecture_path_runs_on_a_small_config(tiny_model):
    """The --arch path (random weights built in memory, GPU figures) on a config small enough
    for CPU: same code, tiny sizes."""
    import json

    config = json.loads((tiny_model / "config.json").read_text())
    result = bench_engine(None, new_tokens=3, frames=2, repeats=1, size=64, arch=config)
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
