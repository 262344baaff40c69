"""The Share menu: the active view or the whole layout as a picture, and de-identified copies of
the study, the series or the key images (:mod:`viewer.deid`, run off the GUI thread). Each de-identified export is
recorded in the workspace's audit log with its profile and options.

The menu gets the parts it needs (the slice view and its box overlay, the view state, the
findings), never the window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from app.qt.viewport_export import Pane, SnapshotOptions, grab_layout, grab_viewport, save_image
from viewer.findings import StudyFindings
from viewer.qt.box_overlay import BoxOverlay
from viewer.qt.measure_overlay import MeasureOverlay
from viewer.qt.slice_view import SliceView
from viewer.study import Series, Study
from viewer.viewstate import ViewState

SCOPES = ("study", "series", "key images")


def files_to_share(scope: str, study: Study | None, series: Series | None,
                   findings: StudyFindings) -> list[str]:
    """The instance files of the open study, the shown series, or the frames with a standing
    box (key images), each once, in order."""
    if scope == "study" and study is not None:
        refs = [ref for s in study.series for ref in s.frames]
    elif scope == "series" and series is not None:
        refs = list(series.frames)
    elif scope == "key images" and study is not None and findings.annotations is not None:
        by_uid = {s.uid: s for s in study.series}
        refs = [by_uid[a.frame.series_uid].frames[a.frame.frame_index]
                for a in findings.annotations.final() if a.frame.series_uid in by_uid]
    else:
        refs = []
    return list(dict.fromkeys(ref.path for ref in refs))


class ShareMenu(QtCore.QObject):
    """Fills ``menu``; ``finished(report_or_error)`` fires when a de-identified export ends."""

    finished = QtCore.Signal(object)

    def __init__(self, menu: QtWidgets.QMenu, view: SliceView, overlay: BoxOverlay,
                 state: ViewState, findings: StudyFindings, audit_dir: Path, *,
                 measures: MeasureOverlay | None = None,
                 layout: Callable[[], tuple[QtWidgets.QWidget, list[Pane]]] | None = None
                 ) -> None:
        super().__init__(menu)
        self.menu, self.view, self.overlay, self.measures = menu, view, overlay, measures
        self.state, self.findings, self.audit_dir = state, findings, audit_dir
        self.layout = layout  # the viewport grid and its panes, for "Save layout as image"
        self.last_report: object = None
        menu.addAction("Save view as image...").triggered.connect(self._ask_snapshot)
        menu.addAction("Save layout as image...").triggered.connect(
            lambda: self._ask_snapshot(whole_layout=True))
        menu.addSeparator()
        for scope in SCOPES:
            menu.addAction(f"Export de-identified {scope}...").triggered.connect(
                lambda _c=False, s=scope: self._ask_deidentify(s))
        self.finished.connect(self._on_finished)

    def follow(self, view: SliceView, overlay: BoxOverlay, state: ViewState,
               findings: StudyFindings, measures: MeasureOverlay | None = None) -> None:
        """Share what another viewport shows from now on (the active one)."""
        self.view, self.overlay, self.state, self.findings = view, overlay, state, findings
        self.measures = measures

    # ---- picture ------------------------------------------------------------------------
    def _ask_snapshot(self, whole_layout: bool = False) -> None:
        title = "Save layout as image" if whole_layout else "Save view as image"
        options = _ask_options(self.view, title, {
            "boxes": "Boxes", "measurements": "Measurements", "draft_label": "AI DRAFT label",
            "patient_text": "Patient name, ID and study date"},
            defaults={"boxes": True, "measurements": True, "draft_label": True})
        if options is None:
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.view, title, "",
                                                        "PNG (*.png);;JPEG (*.jpg *.jpeg)")
        if path:
            try:
                self.save_snapshot(Path(path), SnapshotOptions(**options),
                                   whole_layout=whole_layout)
            except (ValueError, OSError) as exc:
                QtWidgets.QMessageBox.warning(self.view, title, str(exc))

    def save_snapshot(self, path: Path, options: SnapshotOptions, *,
                      whole_layout: bool = False) -> Path:
        """Save the active view (or every viewport of the layout, as on screen) as ``path``
        (.png or .jpg); ValueError or OSError says why not."""
        if whole_layout and self.layout is not None:
            grid, panes = self.layout()
            return save_image(grab_layout(grid, panes, options), path)
        return save_image(grab_viewport(self.view, self.overlay, options,
                                        measures=self.measures), path)

    # ---- de-identified DICOM --------------------------------------------------------------
    def _ask_deidentify(self, scope: str) -> None:
        files = files_to_share(scope, self.state.study, self.state.series, self.findings)
        if not files:
            QtWidgets.QMessageBox.information(self.view, "Export de-identified",
                                              f"Nothing to export: no {scope} open.")
            return
        choice = _ask_options(self.view, f"Export de-identified {scope}", {
            "retain_dates": "Keep intervals between dates (shifted dates)",
            "retain_patient_characteristics": "Keep age, sex, size and weight",
            "clean_descriptors": "Keep descriptions (names and IDs cleaned out)"}, defaults={})
        if choice is None:
            return
        out = QtWidgets.QFileDialog.getExistingDirectory(self.view, "Folder for the copies")
        if out:
            self.deidentify(files, Path(out), **choice)

    def deidentify(self, files: list[str], out: Path, *, retain_dates: bool = False,
                   retain_patient_characteristics: bool = False,
                   clean_descriptors: bool = False) -> threading.Thread:
        """Run the export in a thread; ``finished`` carries the report (or the error)."""
        from viewer.deid import DeidOptions

        chosen = DeidOptions(retain_dates=retain_dates,
                             retain_patient_characteristics=retain_patient_characteristics,
                             clean_descriptors=clean_descriptors)
        paths: list[str | Path] = list(files)

        def work() -> None:
            from app.store.audit import AuditLog
            from viewer.deid import deidentify_files

            try:
                report = deidentify_files(paths, out, chosen)
                AuditLog(self.audit_dir).record_event(
                    "deidentify", profile="PS3.15 Basic Application Level Confidentiality "
                    "Profile", options=chosen.option_names(), written=len(report.written),
                    refused=len(report.refused), skipped=len(report.skipped), source="window")
                self.finished.emit(report)
            except (OSError, ValueError) as exc:
                self.finished.emit(exc)

        thread = threading.Thread(target=work, name="deidentify", daemon=True)
        thread.start()
        return thread

    def _on_finished(self, result: object) -> None:
        self.last_report = result
        from viewer.deid import DeidReport

        if isinstance(result, DeidReport):
            lines = [f"{len(result.written)} de-identified file(s) written."]
            lines += [f"Refused {Path(o.source).name}: {o.reason}" for o in result.refused]
            lines += [f"Skipped {Path(o.source).name}: {o.reason}" for o in result.skipped]
            text = "\n".join(lines)
        else:
            text = f"De-identified export failed: {result}"
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Information,
                                    "Export de-identified", text, parent=self.view)
        box.setModal(False)
        box.show()


def _ask_options(parent: QtWidgets.QWidget, title: str, labels: dict[str, str], *,
                 defaults: dict[str, bool]) -> dict[str, bool] | None:
    """A dialog of check boxes; their states by key, or None when cancelled."""
    dialog = QtWidgets.QDialog(parent)
    dialog.setWindowTitle(title)
    layout = QtWidgets.QVBoxLayout(dialog)
    boxes = {}
    for key, text in labels.items():
        boxes[key] = QtWidgets.QCheckBox(text)
        boxes[key].setChecked(defaults.get(key, False))
        layout.addWidget(boxes[key])
    buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                         | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
        return None
    return {key: box.isChecked() for key, box in boxes.items()}
