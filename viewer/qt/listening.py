"""A widget's subscriptions to its model's events, made together and dropped together.

Every widget here takes its model in ``__init__`` and connects to the model's psygnal events
(STYLE rule 1); when the widget closes it must let go of them, or the model keeps calling a
dead widget. :class:`Subscriptions` holds the ``(event, slot)`` pairs for that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class Subscriptions:
    """Connects each ``(event, slot)`` pair now; :meth:`drop` disconnects them all (twice is
    harmless)."""

    def __init__(self, pairs: Iterable[tuple[Any, Callable[..., Any]]]) -> None:
        self._pairs = list(pairs)
        for event, slot in self._pairs:
            event.connect(slot)

    def drop(self) -> None:
        for event, slot in self._pairs:
            event.disconnect(slot, missing_ok=True)
        self._pairs = []
