"""The reading workspace's hotkeys: action -> key sequence text, remappable and saved (no Qt).

Keys are Qt's portable key-sequence text ("L", "Shift+H", "Alt+2"); the window turns them into
shortcuts and re-makes them on ``changed``. A change is written to a small JSON file at once,
so it survives the next start. Keys the slice view handles itself (arrows, 0-9, F, H, M, C, A,
S, Space) are not offered here.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from psygnal import Signal

log = logging.getLogger(__name__)

# action -> (default key, what it does); order is the order of the settings dialog
HOTKEY_ACTIONS: dict[str, tuple[str, str]] = {
    "layout_1x1": ("Alt+1", "Layout 1x1"),
    "layout_1x2": ("Alt+2", "Layout 1x2"),
    "layout_2x1": ("Alt+3", "Layout 2x1"),
    "layout_2x2": ("Alt+4", "Layout 2x2"),
    "layout_1x3": ("Alt+5", "Layout 1x3 (MPR)"),
    "mpr": ("Shift+M", "MPR of the active series (2x2, crosshair)"),
    "link": ("L", "Linked scrolling on/off"),
    "link_here": ("Shift+L", "Link the active viewport to the first one here"),
    "crosshair": ("X", "Crosshair mode on/off"),
    "mip": ("P", "MIP slab on/off"),
    "minip": ("Shift+P", "MinIP slab on/off"),
    "avg": ("Alt+P", "Average slab on/off"),
    "invert": ("I", "Invert"),
    "rotate": ("R", "Rotate 90\u00b0 clockwise"),
    "flip_h": ("Shift+H", "Flip horizontally"),
    "flip_v": ("Shift+V", "Flip vertically"),
    "next_viewport": ("N", "Next viewport"),
}


MODIFIERS = {"Shift", "Ctrl", "Alt", "Meta"}


class Hotkeys:
    """Current keys of :data:`HOTKEY_ACTIONS`. Events: ``changed(action, key)``.

    >>> keys = Hotkeys()
    >>> keys.key("link")
    'L'
    >>> keys.set("link", "K")
    Traceback (most recent call last):
    ...
    ValueError: K is taken by the window (key image)
    >>> keys.set("link", "rotate")
    Traceback (most recent call last):
    ...
    ValueError: 'rotate' is not a key; write keys as Qt does, e.g. L, Shift+L, Alt+2
    """

    changed = Signal(str, str)
    RESERVED = {"K": "key image", "B": "box mode", "Delete": "delete", "Space": "cine"}

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._keys = {action: default for action, (default, _) in HOTKEY_ACTIONS.items()}
        if self.path is not None and self.path.exists():
            self._load(self.path)

    def _load(self, path: Path) -> None:
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("hotkeys file unreadable, defaults used (%s)", type(exc).__name__)
            return
        for action, key in saved.items() if isinstance(saved, dict) else ():
            if action in self._keys and isinstance(key, str) and key:
                self._keys[action] = key

    def key(self, action: str) -> str:
        return self._keys[action]

    @property
    def keys(self) -> dict[str, str]:
        return dict(self._keys)

    def set(self, action: str, key: str) -> None:
        """Give ``action`` another key; ValueError for an unknown action, a malformed key, or a
        key another action (or the window) already uses. Saved at once."""
        if action not in HOTKEY_ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        key = key.strip()
        *modifiers, last = key.split("+")
        if not last or any(m not in MODIFIERS for m in modifiers) or not (
                (len(last) == 1 and not last.islower()) or last[0].isupper()):
            raise ValueError(f"{key!r} is not a key; write keys as Qt does, e.g. L, Shift+L, "
                             "Alt+2")
        if key in self.RESERVED:
            raise ValueError(f"{key} is taken by the window ({self.RESERVED[key]})")
        taken = next((a for a, k in self._keys.items() if k == key and a != action), None)
        if taken is not None:
            raise ValueError(f"{key} is already the key of \u201c{HOTKEY_ACTIONS[taken][1]}\u201d")
        if self._keys[action] != key:
            self._keys[action] = key
            self.save()
            self.changed.emit(action, key)

    def reset(self) -> None:
        """All keys back to their defaults (saved)."""
        for action, (default, _) in HOTKEY_ACTIONS.items():
            if self._keys[action] != default:
                self._keys[action] = default
                self.changed.emit(action, default)
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self._keys, indent=1))
        except OSError as exc:
            log.warning("hotkeys not saved (%s)", type(exc).__name__)
