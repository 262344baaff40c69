"""``medmo bench TARGET``: benchmark commands that print numbers and a same-run reference.

Each target lives in its own module of :mod:`app.bench` and adds its parser with
``register(targets)``; nothing heavy is imported until a target runs.
"""

from __future__ import annotations

import importlib

# target modules of app.bench, in the order --help lists them
TARGETS = ("viewer", "engine", "adapt", "serve", "pacs", "sweep", "fuzz", "startup")


def add_arguments(parser) -> None:
    targets = parser.add_subparsers(dest="bench_target", metavar="TARGET", required=True)
    for name in TARGETS:
        importlib.import_module(f"app.bench.{name}").register(targets)
