"""Helpers for training tests (the phantom dataset and the format-trained tiny model are
fixtures of tests/conftest.py)."""

from __future__ import annotations

import json


def events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
