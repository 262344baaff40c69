"""``medmo bench serve``: MedMO through a server against the in-process engine on the same
checkpoint, measured in the same run, and the server's throughput with many viewers at once.

Per-token time, both ways, is the decode time per token as the viewer receives it: over an
answer forced to exactly N tokens, (arrival of its last text - arrival of its first) / (N - 1),
timed where the viewer consumes the stream (for the server: after HTTP and SSE parsing), the
minimum over repeats (the median is reported too), in alternating blocks (server, in-process,
server, in-process), each block's first answer discarded. ``ratio`` = remote / in-process: 1.0 means
serving adds nothing per token. Time to first token is reported beside it.

Throughput: V viewers (threads, each its own connection, as separate workstations) each ask R
single-frame localisation questions of a fixed length back to back; requests/s over the wall
time, p50/p95 latency per question, generated tokens/s. ``speedup`` is the request rate at the
most viewers over the rate with one: ~1 for a server that answers one at a time (transformers
serve with a vision model), more for continuous batching (vLLM).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inference.remote import RemoteConfig, RemoteEngine
from inference.remote_checks import synthetic_frame


def decode_time(engine: Any, frame: np.ndarray, new_tokens: int) -> tuple[float, float]:
    """(seconds per token, time to first text) of one answer of exactly ``new_tokens``
    tokens, as the viewer receives it: ``(arrival of the last text - arrival of the first) /
    (N - 1)``, timed where the stream is consumed."""
    from inference.types import Answer

    start = time.perf_counter()
    first = last = 0.0
    answer = None
    for item in engine.stream([frame], "Describe the findings in this slice.",
                              max_new_tokens=new_tokens, min_new_tokens=new_tokens):
        now = time.perf_counter()
        if isinstance(item, Answer):
            answer = item
        elif item:
            first, last = first or now, now
    if answer is None or answer.timings.new_tokens != new_tokens:
        got = answer.timings.new_tokens if answer else 0
        raise RuntimeError(f"asked for exactly {new_tokens} tokens, got {got}: the engine "
                           "ignores the fixed length")
    return (last - first) / (new_tokens - 1), first - start


def per_token_s(engines: dict[str, Any], frame: np.ndarray, new_tokens: int, repeats: int,
                rounds: int = 2) -> dict[str, dict]:
    """:func:`decode_time` of each engine: ``rounds`` rounds in which each engine in turn gives
    one warm-up answer (discarded: on a machine shared with the server, the other side's
    threads may still be spinning) and then ``repeats`` timed ones. Alternating blocks spread a
    burst of outside load over both; min and median over all timed answers."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in engines}
    for _ in range(rounds):
        for name, engine in engines.items():
            decode_time(engine, frame, new_tokens)
            times[name] += [decode_time(engine, frame, new_tokens) for _ in range(repeats)]
    return {name: {"s_per_token": min(t for t, _ in got),
                   "s_per_token_median": statistics.median(t for t, _ in got),
                   "ttft_s": min(f for _, f in got), "answers": len(got)}
            for name, got in times.items()}


def throughput(config: RemoteConfig, viewers: int, requests: int, new_tokens: int,
               frame: np.ndarray) -> dict:
    """``viewers`` threads, each with its own engine, asking ``requests`` questions each."""
    engines = [RemoteEngine(config) for _ in range(viewers)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_line = threading.Barrier(viewers + 1)

    def viewer(engine: RemoteEngine) -> None:
        start_line.wait()
        for _ in range(requests):
            started = time.perf_counter()
            try:
                engine.ask([frame], "", task="localize", max_new_tokens=new_tokens,
                           min_new_tokens=new_tokens)
            except Exception as exc:  # noqa: BLE001 - counted and reported, never hidden
                with lock:
                    errors.append(str(exc))
                continue
            with lock:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=viewer, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    start_line.wait()
    wall_start = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall_start
    for engine in engines:
        engine.close()
    done = len(latencies)
    return {"viewers": viewers, "requests": done, "failed": len(errors),
            "requests_per_s": done / wall, "tokens_per_s": done * new_tokens / wall,
            "p50_s": float(np.percentile(latencies, 50)) if latencies else None,
            "p95_s": float(np.percentile(latencies, 95)) if latencies else None,
            "wall_s": wall, "first_error": errors[0] if errors else ""}


def bench_serve(config: RemoteConfig, *, local_model: str | None = None, new_tokens: int = 64,
                repeats: int = 3, viewers: Sequence[int] = (1, 4, 16), requests: int = 8,
                request_tokens: int = 32, threads: int | None = None) -> dict:
    """Measure and return the benchmark numbers (see module docstring) as a dict.

    ``threads``: torch CPU threads of the in-process reference (default: torch's). Compare
    like with like: give the server the same (``OMP_NUM_THREADS``); on one machine the server
    and this process then share its cores without taking each other's.
    """
    if new_tokens < 2 or repeats < 1 or requests < 1 or not viewers or min(viewers) < 1:
        raise ValueError("need new_tokens >= 2, repeats >= 1, requests >= 1, viewers >= 1")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _bench(config, local_model, new_tokens, repeats, viewers, requests,
                      request_tokens)
    finally:
        torch.set_num_threads(before)


def _bench(config: RemoteConfig, local_model: str | None, new_tokens: int, repeats: int,
           viewers: Sequence[int], requests: int, request_tokens: int) -> dict:
    import torch

    remote = RemoteEngine(config)
    model = remote.model_name
    if local_model and not Path(local_model).expanduser().is_dir():
        local_model = None  # a name on the server only: look for the served folder instead
    local_model = local_model or remote.local_checkpoint() or None
    frame = synthetic_frame(256)
    notes = [f"{os.cpu_count()} CPU cores seen; the server and this process share them"
             if _same_machine(config) else "server on another machine"]
    result: dict[str, Any] = {"server": remote.url, "server_kind": remote.kind, "model": model,
                              "new_tokens": new_tokens, "repeats": repeats,
                              "local_threads": torch.get_num_threads()}
    engines: dict[str, Any] = {"remote": remote}
    try:
        if local_model:
            from inference.engine import Engine
            from inference.runtime import EngineConfig

            engines["local"] = Engine(EngineConfig(model=local_model, max_new_tokens=new_tokens))
        else:
            notes.append(f"{model!r} is not a folder here: no in-process reference (--model DIR)")
        measured = per_token_s(engines, frame, new_tokens, repeats)
    finally:
        for engine in engines.values():
            engine.close()
    remote_s = measured["remote"]["s_per_token"]
    local_s = measured["local"]["s_per_token"] if local_model else None
    result.update(remote_s_per_token=remote_s, remote=measured["remote"],
                  local_model=local_model, local_s_per_token=local_s,
                  local=measured.get("local"), ratio=remote_s / local_s if local_s else None)
    runs = [throughput(config, v, requests, request_tokens, frame) for v in viewers]
    result["throughput"] = runs
    result["request_tokens"] = request_tokens
    base = runs[0]["requests_per_s"]
    result["speedup"] = runs[-1]["requests_per_s"] / base if base else None
    result["speedup_viewers"] = [runs[0]["viewers"], runs[-1]["viewers"]]
    result["notes"] = notes
    return result


def _same_machine(config: RemoteConfig) -> bool:
    from urllib.parse import urlsplit

    from inference.remote_config import is_loopback

    return is_loopback(urlsplit(config.base_url).hostname or "")
