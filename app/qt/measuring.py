"""The window's measuring: the measurement overlay of a slice view, the Measure menu, and the
Follow-up and DICOM tags docks. Built by the main window (the composition root) from the
session's parts; each widget gets only the part it shows.

A second viewport gets its own :class:`~viewer.qt.measure_overlay.MeasureOverlay` over its own
ViewState and the same ``session.measurements`` (``MeasureOverlay(view, session.measurements,
its_state, findings=session.findings)``); the menu's tools act on the viewport they were built
for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from app.session import ReadingSession
from viewer.dicom_tags import TagBrowserState
from viewer.prior import priors_of
from viewer.qt.followup_panel import FollowUpPanel
from viewer.qt.measure_overlay import MeasureOverlay
from viewer.qt.tag_browser import TagBrowser
from viewer.study import Study


@dataclass(frozen=True, slots=True)
class Measuring:
    """What :func:`build_measuring` made (the window keeps it to tabify and to close)."""

    overlay: MeasureOverlay
    follow_up: FollowUpPanel
    tags: TagBrowser
    follow_up_dock: QtWidgets.QDockWidget
    tags_dock: QtWidgets.QDockWidget
    menu: QtWidgets.QMenu
    study_actions: tuple[QtGui.QAction, ...]  # compare with prior, the tags dock

    def show_tools_of(self, overlay: MeasureOverlay) -> None:
        """The Measure menu acts on ``overlay``'s viewport (the active one)."""
        self.menu.clear()
        self.menu.addActions(overlay.tool_actions)
        self.menu.addSeparator()
        self.menu.addActions([overlay.undo_action, overlay.redo_action])
        self.menu.addSeparator()
        self.menu.addActions(list(self.study_actions))

    def disconnect_model(self) -> None:
        self.overlay.disconnect_model()
        self.follow_up.close()
        self.tags.close()


def build_measuring(window: QtWidgets.QMainWindow, slice_view, session: ReadingSession,
                    studies: Callable[[], list[Study]]) -> Measuring:
    """Overlay, menu and docks for ``slice_view`` (the window's viewport over
    ``session.view``). ``studies()`` lists the loaded studies (for the prior)."""
    overlay = MeasureOverlay(slice_view, session.measurements_for(session.view), session.view,
                             findings=session.findings_for(session.view))
    follow_up = FollowUpPanel(session.follow_up)
    tags = TagBrowser(TagBrowserState(session.view))
    docks = []
    for title, name, widget in (("Follow-up", "follow-up", follow_up),
                                ("DICOM tags", "dicom-tags", tags)):
        dock = QtWidgets.QDockWidget(title, window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
        docks.append(dock)

    def compare_with_prior() -> None:
        study = session.focus.study
        priors = priors_of(study, studies()) if study is not None else []
        prior = priors[0] if priors else None  # the newest earlier study
        session.set_prior(prior)
        docks[0].show()
        docks[0].raise_()
        if prior is None:
            window.statusBar().showMessage(
                "No earlier study of this patient is loaded: open the prior too", 10_000)

    menu = window.menuBar().addMenu("&Measure")
    compare = QtGui.QAction("Compare with prior study", menu)
    compare.triggered.connect(compare_with_prior)
    measuring = Measuring(overlay, follow_up, tags, docks[0], docks[1], menu,
                          (compare, docks[1].toggleViewAction()))
    measuring.show_tools_of(overlay)
    return measuring


def loaded_studies(result) -> list[Study]:
    """The studies of a LoadResult (or none before anything loaded)."""
    return list(result.studies) if result is not None else []
