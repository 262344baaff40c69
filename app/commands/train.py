"""``medmo train CONFIG.yaml [--resume]``: run a training config headless, in this process.

This command IS the separate training process: the GUI spawns it and reads its stdout, where
every line is one JSON event (also appended to ``OUTPUT/progress.jsonl``; see
:mod:`inference.training.callbacks`). SIGTERM or a ``STOP`` file in the output folder stops it
after the current step with a checkpoint; ``--resume`` continues from there. Exit codes: 0 done
or stopped, 1 crash, 2 bad config or input, 3 out of memory.

Multi-GPU::

    accelerate launch --config_file resources/training/accelerate_deepspeed_zero2.yaml \\
        -m app.cli train CONFIG.yaml
"""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    parser.add_argument("config", metavar="CONFIG.yaml")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in output_dir from its last checkpoint")
    parser.add_argument("--output-dir", help="override output_dir of the config")
    parser.add_argument("--steps", type=int, help="override steps (e.g. to extend on resume)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from inference.training.config import load_config

    try:
        config = load_config(args.config, output_dir=args.output_dir, steps=args.steps)
    except ValueError as exc:
        print(json.dumps({"event": "error", "kind": "config", "message": str(exc)}), flush=True)
        print(f"medmo train: {exc}", file=sys.stderr)
        return 2
    from inference.training.run import run_training

    return run_training(config, resume=args.resume, handle_signals=True)
