"""The engine benchmark runs end to end and reports its keys (numbers are not asserted)."""

from __future__ import annotations

from inference.bench import bench_engine


def test_bench_engine_reports_the_issue_keys(tiny_model_dir):
    result = bench_engine(str(tiny_model_dir), new_tokens=4, frames=2, repeats=1, size=64)
    for key in ("engine_s_per_token", "generate_s_per_token", "ratio", "ttft_s",
                "batched_speedup", "device"):
        assert key in result
    assert result["engine_s_per_token"] > 0 and result["generate_s_per_token"] > 0
    assert result["device"].startswith("cpu")
