"""`medmo bench serve` against a real `transformers serve`: per-token time through the server
and in-process on the same checkpoint in the same run, and throughput with several viewers
(numbers printed, never asserted: this checks the command's shape and its arithmetic)."""

from __future__ import annotations

import json

from app.cli import main


def test_bench_serve_reports_both_paths_and_throughput(served, capsys):
    import torch

    before = torch.get_num_threads()
    args = ["bench", "serve", "--json", "--server", served.url, "--new-tokens", "6",
            "--repeats", "1", "--viewers", "1,3", "--requests", "2", "--request-tokens", "4",
            "--threads", "1"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["local_threads"] == 1 and torch.get_num_threads() == before
    assert result["model"] == served.model and result["local_model"] == served.model
    assert result["remote_s_per_token"] > 0 and result["local_s_per_token"] > 0
    assert result["ratio"] == result["remote_s_per_token"] / result["local_s_per_token"]
    runs = result["throughput"]
    assert [r["viewers"] for r in runs] == [1, 3] and [r["requests"] for r in runs] == [2, 6]
    assert all(r["failed"] == 0 and r["p50_s"] <= r["p95_s"] for r in runs)
    assert result["speedup"] == runs[1]["requests_per_s"] / runs[0]["requests_per_s"]


def test_bench_serve_without_a_server_is_a_usage_error(capsys):
    assert main(["bench", "serve", "--json"]) == 2
    assert "--server URL is required" in capsys.readouterr().err
