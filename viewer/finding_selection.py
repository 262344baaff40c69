"""Which finding is selected and whether deleted predictions are shown (evented, no Qt).

One :class:`FindingSelection` is shared by the box overlay and the findings panel: either may
change it, both listen, so a click in the list selects the box and a click on the box
highlights its row.
"""

from __future__ import annotations

from psygnal import Signal


class FindingSelection:
    """The selected finding id (or None) and the "show deleted" toggle.

    >>> sel = FindingSelection()
    >>> seen = []
    >>> _ = sel.selected_changed.connect(seen.append)
    >>> sel.select("f1"); sel.select("f1"); sel.select(None)
    >>> seen
    ['f1', None]
    """

    selected_changed = Signal(object)  # str | None
    show_deleted_changed = Signal(bool)

    def __init__(self) -> None:
        self._selected: str | None = None
        self._show_deleted = False

    @property
    def selected(self) -> str | None:
        return self._selected

    def select(self, finding_id: str | None) -> None:
        """Select a finding by id (None clears); emits only on a change."""
        if finding_id is not None and not isinstance(finding_id, str):
            raise ValueError(f"a finding id is a str, got {type(finding_id).__name__}")
        if finding_id != self._selected:
            self._selected = finding_id
            self.selected_changed.emit(finding_id)

    @property
    def show_deleted(self) -> bool:
        """Whether deleted predictions are drawn as faint ghosts (the selected one always is)."""
        return self._show_deleted

    @show_deleted.setter
    def show_deleted(self, value: bool) -> None:
        if bool(value) != self._show_deleted:
            self._show_deleted = bool(value)
            self.show_deleted_changed.emit(self._show_deleted)
