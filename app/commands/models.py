"""``medmo models list|download|make-tiny|estimate``: what checkpoints exist and what they need.

Exit codes: 0 success; 1 the operation failed (message on stderr); 2 bad arguments.
"""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="known ids, and checkpoints in the HF cache/folders")
    listing.add_argument("--folder", action="append", default=[],
                         help="also look in this folder (repeatable; also $MEDMO_MODELS_DIR)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_list)

    down = actions.add_parser("download", help="download a checkpoint (uses the network)")
    down.add_argument("model_id", help="e.g. MBZUAI/MedMO-8B")
    down.add_argument("--revision")
    down.set_defaults(func=_download)

    tiny = actions.add_parser("make-tiny", help="build a tiny random Qwen3-VL checkpoint (tests)")
    tiny.add_argument("out_dir")
    tiny.add_argument("--seed", type=int, default=0)
    tiny.set_defaults(func=_make_tiny)

    est = actions.add_parser("estimate", help="GPU memory a model needs (weights + KV cache)")
    est.add_argument("model", help="4b, 8b, a hub id in the cache, or a folder")
    est.add_argument("--dtype", default="bfloat16",
                     choices=["bfloat16", "float16", "float32", "8bit", "4bit"])
    est.add_argument("--context", type=int, default=8192, help="context tokens for the KV cache")
    est.add_argument("--gpu-gib", type=float, help="check against this much free GPU memory")
    est.add_argument("--json", action="store_true")
    est.set_defaults(func=_estimate)


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _list(args) -> int:
    import os

    from inference.models import REGISTRY, list_models

    folders = list(args.folder)
    folders += [p for p in os.environ.get("MEDMO_MODELS_DIR", "").split(os.pathsep) if p]
    local = list_models(folders)
    if args.json:
        print(json.dumps({
            "known": [{"id": m.id, "variant": m.variant, "base": m.base, "verified": m.verified,
                       "note": m.note} for m in REGISTRY.values()],
            "local": [{"name": m.name, "path": m.path, "size_bytes": m.size_bytes,
                       "variant": m.variant, "source": m.source} for m in local],
        }))
        return 0
    print("Known MedMO checkpoints:")
    have = {m.name for m in local}
    for m in REGISTRY.values():
        mark = "downloaded" if m.id in have else "not downloaded"
        print(f"  {m.id:<24} {m.variant:<3} ({m.base}; {mark}; {m.note})")
    print("On this machine:" if local else "On this machine: none found "
          "(medmo models download ID, or --folder DIR)")
    for found in local:
        print(f"  {found.name:<40} {found.variant:<5} {_human(found.size_bytes):>9}  "
              f"[{found.source}] {found.path}")
    return 0


def _download(args) -> int:
    from inference.models import download

    try:
        path = download(args.model_id, revision=args.revision)
    except ValueError as exc:
        print(f"medmo models download: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - network/auth errors reach the user as a message
        print(f"medmo models download: failed: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _make_tiny(args) -> int:
    from inference.tiny import make_tiny

    path = make_tiny(args.out_dir, seed=args.seed)
    print(f"tiny random Qwen3-VL checkpoint (answers are meaningless) written to {path}")
    return 0


def _estimate(args) -> int:
    from inference.memory import (
        GIB,
        QWEN3_VL_4B,
        QWEN3_VL_8B,
        check_fits,
        estimate_memory,
    )
    from inference.types import InsufficientMemoryError

    config = {"4b": QWEN3_VL_4B, "8b": QWEN3_VL_8B}.get(args.model.lower())
    if config is None:
        try:
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(args.model, local_files_only=True).to_dict()
        except (OSError, ValueError) as exc:
            print(f"medmo models estimate: cannot read the config of {args.model!r}: {exc}",
                  file=sys.stderr)
            return 1
    estimate = estimate_memory(config, dtype=args.dtype, context_tokens=args.context)
    fits = None
    message = ""
    if args.gpu_gib is not None:
        try:
            check_fits(estimate, free_bytes=int(args.gpu_gib * GIB))
            fits = True
        except InsufficientMemoryError as exc:
            fits, message = False, str(exc)
    if args.json:
        print(json.dumps({"params": estimate.params, "weights_bytes": estimate.weights_bytes,
                          "kv_cache_bytes": estimate.kv_cache_bytes,
                          "overhead_bytes": estimate.overhead_bytes,
                          "total_bytes": estimate.total_bytes, "dtype": estimate.dtype,
                          "context_tokens": estimate.context_tokens, "fits": fits}))
    else:
        print(estimate.summary())
        if message:
            print(message)
    return 0 if fits is not False else 1
