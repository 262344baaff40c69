"""The ``medmo`` command line.

Each sub-command lives in its own module under ``app/commands`` and exposes
``register(subparsers)``, which adds its parser and sets ``func=run``. Command modules import
nothing heavy at module level, so ``medmo --help`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Sub-command name -> module. Order is the order shown in --help.
COMMANDS = (
    "view",
    "inspect",
    "demo_study",
    "render",
    "ask",
    "models",
    "doctor",
    "bench",
    "export",
    "dataset",
    "train",
    "eval",
    "train_demo_model",
    "pacs",
)


def _offline_by_default() -> None:
    """No network unless the user asks: Hugging Face libraries stay offline by default."""
    if os.environ.get("MEDMO_ALLOW_NETWORK") != "1":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medmo", description="MedMO Viewer: AI-assisted clinical image viewer."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"app.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"app.commands.{name}":
                raise
            continue  # command not built yet
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    _offline_by_default()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
