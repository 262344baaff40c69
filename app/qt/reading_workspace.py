"""The reading workspace in the window: the viewport grid, its toolbar, the hotkeys dialog and
prior comparison.

It gets the session (its ``layout`` and ``hotkeys`` parts) and two callables, never the window:
``loaded()`` returns what the window's loader has read so far (a LoadResult or None), and
``open_paths(paths)`` loads more. *Compare with prior* hangs the newest study beside the same
patient's next newest, each with its matching series, linked by position (and makes it the
follow-up table's prior); *Open prior folder* loads a folder beside what is open and then
compares.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6 import QtCore, QtWidgets

from app.qt.hotkeys_dialog import HotkeysDialog
from app.qt.workspace_bar import WorkspaceBar
from app.session import ReadingSession
from viewer.prior import matching_series, priors_of
from viewer.qt.viewport_grid import ViewportGrid
from viewer.study import LoadResult, Series, Study


def comparison(result: LoadResult, shown: Series | None
               ) -> tuple[tuple[Series, Study], tuple[Series, Study]] | None:
    """(current series and study, prior series and study) to hang, or None when the open
    studies hold no prior of the shown patient. The current study is the patient's newest;
    its series is the one shown, or the one matching it."""
    studies = list(result.studies)
    home = next((st for st in studies if shown is not None
                 and any(s is shown for s in st.series)), studies[0] if studies else None)
    if home is None:
        return None
    family = [st for st in studies if st.patient_id == home.patient_id]
    newest = max(family, key=lambda st: st.date or "")
    priors = priors_of(newest, family)
    if not priors or not newest.series:
        return None
    prior = priors[0]
    current_series = shown if (shown is not None and home is newest) else (
        matching_series(shown, newest.series) if shown is not None else newest.series[0])
    if current_series is None:
        current_series = newest.series[0]
    prior_series = matching_series(current_series, prior.series)
    if prior_series is None:
        return None
    return (current_series, newest), (prior_series, prior)


class ReadingWorkspace(QtCore.QObject):
    """``grid`` (the central widget) and ``bar`` (the toolbar) for the session's layout."""

    def __init__(self, session: ReadingSession, loaded: Callable[[], LoadResult | None],
                 open_paths: Callable[[Sequence[str]], None], *,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.loaded = loaded
        self.open_paths = open_paths
        self.grid = ViewportGrid(session.layout)
        self.bar = WorkspaceBar(session.layout, session.hotkeys)
        self.bar.settings_action.triggered.connect(self.edit_keys)
        self.compare_action = self.bar.addAction("Compare with prior")
        self.compare_action.triggered.connect(lambda _checked=False: self.compare_with_prior())
        self.paths: list[str] = []
        self._compare_when_loaded = False
        self.dialog: HotkeysDialog | None = None

    def edit_keys(self) -> None:
        self.dialog = HotkeysDialog(self.session.hotkeys, self.grid)
        self.dialog.open()

    def ask_prior(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.grid, "Open prior study folder")
        if folder:
            self.open_prior([folder])

    def open_prior(self, paths: Sequence[str]) -> None:
        """Load ``paths`` beside what is open; once read, hang the comparison."""
        self._compare_when_loaded = True
        self.open_paths([*self.paths, *[str(p) for p in paths]])

    def on_opened(self, paths: Sequence[str]) -> None:
        """The window opens ``paths`` afresh: one viewport again, the others emptied."""
        self.paths = [str(p) for p in paths]
        layout = self.session.layout
        layout.set_layout("1x1")
        for state in layout.viewports[1:]:
            state.set_series(None)

    def on_scanned(self, result: LoadResult) -> None:
        if self._compare_when_loaded:
            self._compare_when_loaded = False
            self.compare_with_prior(result)

    def compare_with_prior(self, result: LoadResult | None = None) -> bool:
        """Hang current and prior side by side (1x2, linked); False when there is no prior."""
        result = result if result is not None else self.loaded()
        if result is None:
            return False
        hanging = comparison(result, self.session.layout.viewports[0].series)
        if hanging is None:
            self.session.status.emit("No prior study of this patient is open")
            return False
        self.session.layout.hang_prior(*hanging)
        self.session.set_prior(hanging[1][1])  # the follow-up table compares with it too
        return True

    def notify_frame_loaded(self, series: Series, frame: int) -> None:
        """A frame of ``series`` landed: every viewport showing it redraws."""
        for state in self.session.layout.viewports[1:]:
            if state.series is series:
                state.notify_frame_loaded(frame)

    def disconnect_model(self) -> None:
        self.bar.disconnect_model()
        self.grid.disconnect_model()
