"""``medmo bench serve --server URL [--model NAME]``: the server against the in-process engine
on the same checkpoint, and throughput with 1, 4 and 16 viewers (see inference/bench_serve.py)."""

from __future__ import annotations

import json
import sys

from app.engine_options import add_server_arguments, server_config


def register(targets) -> None:
    serve = targets.add_parser(
        "serve", help="a MedMO server vs the in-process engine (same checkpoint), and "
        "throughput with many viewers")
    serve.add_argument("--json", action="store_true", help="print one JSON object")
    serve.add_argument("--model", default="",
                       help="the model's name on the server, a folder also readable here (the "
                            "in-process reference); default: the server's only model")
    serve.add_argument("--new-tokens", type=int, default=64)
    serve.add_argument("--repeats", type=int, default=3, help="timing repeats (min is kept)")
    serve.add_argument("--viewers", default="1,4,16",
                       help="concurrent viewers per throughput run, comma-separated")
    serve.add_argument("--requests", type=int, default=8, help="questions per viewer")
    serve.add_argument("--request-tokens", type=int, default=32,
                       help="answer length of each throughput question")
    serve.add_argument("--threads", type=int,
                       help="torch CPU threads of the in-process reference (start the server "
                            "with the same OMP_NUM_THREADS to compare like with like)")
    add_server_arguments(serve)
    serve.set_defaults(func=run)


def run(args) -> int:
    from inference.bench_serve import bench_serve
    from inference.types import EngineError

    if not args.server:
        print("medmo bench serve: --server URL is required", file=sys.stderr)
        return 2
    try:
        viewers = [int(v) for v in args.viewers.split(",") if v.strip()]
        config = server_config(args, model=args.model, max_new_tokens=args.new_tokens)
        result = bench_serve(config, local_model=args.model or None, new_tokens=args.new_tokens,
                             repeats=args.repeats, viewers=viewers, requests=args.requests,
                             request_tokens=args.request_tokens, threads=args.threads)
    except ValueError as exc:
        print(f"medmo bench serve: {exc}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(f"medmo bench serve: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"server {result['server']} ({result['server_kind']}), model {result['model']}")
    print(f"per token: server {result['remote_s_per_token'] * 1e3:.2f} ms" + (
        f", in-process {result['local_s_per_token'] * 1e3:.2f} ms, ratio {result['ratio']:.2f}"
        if result["ratio"] is not None else ""))
    for run_ in result["throughput"]:
        print(f"{run_['viewers']:>3} viewer(s): {run_['requests_per_s']:.2f} requests/s, "
              f"p50 {run_['p50_s']:.2f} s, p95 {run_['p95_s']:.2f} s, "
              f"{run_['tokens_per_s']:.0f} tokens/s, {run_['failed']} failed")
    for note in result["notes"]:
        print(f"note: {note}")
    return 0
