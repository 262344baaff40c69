"""The ``medmo`` command line.

The commands are a table: name, one line of help, and the module under ``app/commands`` that
builds the command's arguments (``add_arguments(parser)``, which sets ``func``) and runs it.
``medmo --help`` imports none of those modules; ``medmo NAME ...`` imports only NAME's, and a
command imports its implementation (numpy, pydicom, torch, ...) only when it runs. So a command
that needs no model never loads torch (``tests/app/test_startup.py`` checks it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Command:
    """One ``medmo`` command: ``name`` on the command line, ``module`` under app.commands."""

    name: str
    module: str
    help: str


# Order is the order shown in --help.
COMMANDS = (
    Command("view", "view", "open the viewer window on files, folders or DICOMDIRs"),
    Command("inspect", "inspect", "list studies/series in files, folders or DICOMDIRs"),
    Command("demo-study", "demo_study",
            "write a synthetic CT phantom DICOM series + ground_truth.json"),
    Command("render", "render", "write one windowed slice to a PNG (headless)"),
    Command("link", "link", "prior slice nearest in patient position to a slice of the "
            "current series (linked scrolling, headless)"),
    Command("ask", "ask", "ask MedMO about slices of a study (streams the answer)"),
    Command("models", "models", "list, download, estimate or build MedMO checkpoints"),
    Command("doctor", "doctor", "check GPU, CUDA, memory, cache, and run a smoke test"),
    Command("bench", "bench", "benchmarks (print numbers, never assert them)"),
    Command("export", "export",
            "export a study's boxes and report from a workspace (PDF, Markdown, SR)"),
    Command("deidentify", "deidentify",
            "de-identified copies of DICOM files (PS3.15 Basic profile) to share"),
    Command("dataset", "dataset", "build training datasets (corrections, phantoms)"),
    Command("train", "train", "fine-tune (LoRA SFT / GRPO) from a YAML config"),
    Command("eval", "eval", "measure a model/adapter on a dataset's frozen split"),
    Command("train-demo-model", "train_demo_model",
            "rebuild the demo model (long: about an hour on 2 CPU cores)"),
    Command("pacs", "pacs", "query, retrieve from and send to a PACS (DICOM or DICOMweb)"),
    Command("measure", "measure", "ROI statistics (HU) of an ellipse or rectangle on a slice"),
    Command("measurements", "measurements", "list the measurements saved for a study"),
)
BY_NAME = {command.name: command for command in COMMANDS}


def _offline_by_default() -> None:
    """No network unless the user asks: Hugging Face libraries stay offline by default."""
    if os.environ.get("MEDMO_ALLOW_NETWORK") != "1":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the arguments of ``command`` built (its module imported); every other
    command is listed by name and help only. ``command=None``: just the list."""
    parser = argparse.ArgumentParser(
        prog="medmo", description="MedMO Viewer: AI-assisted clinical image viewer."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for spec in COMMANDS:
        command_parser = sub.add_parser(spec.name, help=spec.help)
        if spec.name == command:
            importlib.import_module(f"app.commands.{spec.module}").add_arguments(command_parser)
    return parser


def _command_named(argv: list[str]) -> str | None:
    """The command argv names (its first word that is not an option), if it is one of ours."""
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in BY_NAME else None


def main(argv: list[str] | None = None) -> int:
    _offline_by_default()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_named(argv))
    args = parser.parse_args(argv)
    args.argv = argv  # the words as given (e.g. for a model card's "how it was made")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
