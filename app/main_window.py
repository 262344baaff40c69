"""The main window: study/series browser, skipped-files panel, slice view, status bar."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app.reading import Reading
from app.workers import LoadJob, LoadWorker
from viewer.qt.series_browser import SeriesBrowser, SkippedPanel
from viewer.qt.slice_view import SliceView
from viewer.reformat import PLANES
from viewer.study import LoadResult, Series, Skipped, Study
from viewer.viewstate import PixelReadout, ViewState
from viewer.windowing import CT_PRESETS

log = logging.getLogger(__name__)


class MainWindow(QtWidgets.QMainWindow):
    """MedMO Viewer's main window. ``open_paths`` loads in a worker; the window stays live."""

    def __init__(self, *, loader_scan=None, loader_fill=None,
                 workspace_dir: str | Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle("MedMO Viewer")
        self.resize(1280, 820)
        self.setAcceptDrops(True)
        self.state = ViewState()
        self.view = SliceView(self.state)
        self.setCentralWidget(self.view)
        self.result: LoadResult | None = None
        self.job: LoadJob | None = None
        self.last_error = ""
        self._loader = (loader_scan, loader_fill)  # None: viewer.loading (tests may pass their own)
        self._current_position = -1

        self.browser = SeriesBrowser()
        self.browser.series_chosen.connect(self.show_series)
        self.skipped_panel = SkippedPanel()
        side = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        side.addWidget(self.browser)
        side.addWidget(self.skipped_panel)
        side.setSizes([500, 200])
        dock = QtWidgets.QDockWidget("Studies", self)
        dock.setObjectName("studies")
        dock.setWidget(side)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        self.readout = QtWidgets.QLabel("")
        self.readout.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.fps = QtWidgets.QDoubleSpinBox()
        self.fps.setRange(0.5, 120.0)
        self.fps.setDecimals(1)
        self.fps.setSuffix(" fps")
        self.fps.setToolTip("Cine speed (Space or C plays/stops)")
        self.fps.setValue(self.state.cine_fps)
        self.fps.valueChanged.connect(self._set_fps)
        # permanent widgets: status messages ("Loaded ...") never hide the cursor readout
        self.readout.setMinimumWidth(430)
        self.statusBar().addPermanentWidget(self.readout)
        self.statusBar().addPermanentWidget(self.fps)
        self.statusBar().addPermanentWidget(self.progress)
        self.state.cursor_changed.connect(self._on_cursor)
        self._build_menus()
        # Chat, Report and Model docks, the engine thread and the per-study workspace sessions
        self.reading = Reading(self, workspace_dir=workspace_dir)

    # ---- menus ------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "Open &Folder...", self._ask_folder, QtGui.QKeySequence.Open)
        self._action(file_menu, "Open F&iles...", self._ask_files)
        self._action(file_menu, "Open &DICOMDIR...", self._ask_dicomdir)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QtGui.QKeySequence.Quit)

        view_menu = bar.addMenu("&View")
        # Single-key shortcuts are handled by the slice view itself; the menu shows them.
        for plane in PLANES:
            self._action(view_menu, f"{plane.title()}\tShift+{plane[0].upper()}",
                         lambda p=plane: self._set_plane(p))
        view_menu.addSeparator()
        self._action(view_menu, "Fit\tF", self.state.fit)
        self._action(view_menu, "Hide/show overlay\tH", self._toggle_overlay)
        self._action(view_menu, "Ruler mode\tM", self._toggle_ruler)
        self._action(view_menu, "Clear rulers\tDel", self.state.clear_rulers)
        self._action(view_menu, "Cine play/stop\tSpace", self._toggle_cine)
        self.window_menu = bar.addMenu("&Window")
        self._fill_window_menu()
        self.state.series_changed.connect(self._fill_window_menu)

    def _fill_window_menu(self, _series=None) -> None:
        """CT presets on 1..5, the header's own presets on 0 and 6..9."""
        menu = self.window_menu
        menu.clear()
        header = self.state.series.window_presets if self.state.series is not None else ()
        first = f" ({header[0].name} {header[0].width:g}/{header[0].level:g})" if header else ""
        self._action(menu, f"Header default{first}\t0", lambda: self.state.apply_preset(0))
        for number, preset in enumerate(CT_PRESETS, start=1):
            self._action(menu, f"{preset.name.title()} ({preset.width:g}/"
                         f"{preset.level:g})\t{number}",
                         lambda n=number: self.state.apply_preset(n))
        if len(header) > 1:
            menu.addSeparator()
        for number, preset in enumerate(header[1:5], start=6):
            self._action(menu, f"{preset.name} ({preset.width:g}/{preset.level:g})\t{number}",
                         lambda n=number: self.state.apply_preset(n))

    def _set_fps(self, value: float) -> None:
        self.state.cine_fps = value

    def _action(self, menu, text, slot, shortcut=None) -> QtGui.QAction:
        action = menu.addAction(text)
        action.triggered.connect(lambda _checked=False: slot())
        if shortcut is not None:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        return action

    def _set_plane(self, plane: str) -> None:
        if self.state.series is not None and plane in self.state.planes:
            self.state.set_plane(plane)

    def _toggle_overlay(self) -> None:
        self.state.overlay_visible = not self.state.overlay_visible

    def _toggle_ruler(self) -> None:
        self.state.mode = "window" if self.state.mode == "ruler" else "ruler"

    def _toggle_cine(self) -> None:
        self.state.cine_playing = not self.state.cine_playing

    def _ask_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open study folder")
        if folder:
            self.open_paths([folder])

    def _ask_files(self) -> None:
        files, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self, "Open images", "",
            "Images (*.dcm *.DCM *.nii *.nii.gz *.png *.jpg *.jpeg *.tif *.tiff *);;All files (*)",
        )
        if files:
            self.open_paths(files)

    def _ask_dicomdir(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open DICOMDIR", "", "DICOMDIR (*)")
        if path:
            self.open_paths([path])

    # ---- drag and drop ------------------------------------------------------------------
    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:  # noqa: N802
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.open_paths(paths)
            event.acceptProposedAction()

    # ---- loading ------------------------------------------------------------------------
    def open_paths(self, paths: Iterable[str | Path]) -> None:
        """Load files/folders/DICOMDIRs in a worker; the first series shows as soon as it can."""
        paths = [str(p) for p in paths]
        self.stop_loading()
        self.result = None
        self._current_position = -1
        self.state.set_series(None)
        self.browser.clear()
        self.skipped_panel.set_skipped(())
        self.last_error = ""
        self.progress.setRange(0, 0)  # busy until the scan tells us the frame count
        self.progress.setVisible(True)
        self.statusBar().showMessage(f"Reading {len(paths)} path(s)...")
        scan, fill = self._loader
        worker = LoadWorker(paths, first_frames=lambda s: s.volume.n_frames // 2,
                            scan=scan, fill=fill)
        self.job = LoadJob(worker, self)
        self.job.scanned.connect(self._on_scanned)
        self.job.frame_loaded.connect(self._on_frame_loaded)
        self.job.frame_skipped.connect(self._on_frame_skipped)
        self.job.progress.connect(self._on_progress)
        self.job.failed.connect(self._on_failed)
        self.job.done.connect(self._on_done)
        self.job.start()

    def stop_loading(self) -> None:
        if self.job is not None:
            self.job.detach()
            self.job.cancel()
            if not self.job.wait():
                log.warning("loader thread did not stop within 10 s")
            self.job.deleteLater()
            self.job = None

    def _on_scanned(self, result: LoadResult) -> None:
        self.result = result
        self.browser.set_result(result)
        self.skipped_panel.set_skipped(result.skipped)
        if result.all_series:
            self.show_series(0)

    def _on_frame_loaded(self, position: int, frame: int) -> None:
        if position == self._current_position:
            self.state.notify_frame_loaded(frame)

    def _on_frame_skipped(self, _position: int, skipped: Skipped) -> None:
        self.skipped_panel.add(skipped)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_failed(self, message: str) -> None:
        self.last_error = message
        log.warning("loading failed (%s)", message.split(":", 1)[0])  # no paths/names in logs
        self.statusBar().showMessage(f"Loading failed: {message}")

    def _on_done(self, seconds: float) -> None:
        self.progress.setVisible(False)
        self.browser.refresh()  # warnings found while decoding (NaN pixels) show now
        if self.result is not None and not self.last_error:
            n = len(self.result.all_series)
            skipped = self.skipped_panel.count()
            self.statusBar().showMessage(
                f"Loaded {n} series in {seconds:.2f} s" + (f", {skipped} skipped" if skipped
                                                         else ""), 10_000)

    # ---- showing ------------------------------------------------------------------------
    def show_series(self, position: int) -> None:
        """Show ``result.all_series[position]`` in the slice view."""
        if self.result is None or not 0 <= position < len(self.result.all_series):
            return
        if position == self._current_position:
            return  # already shown: a second click keeps the slice, window and rulers
        series = self.result.all_series[position]
        self._current_position = position
        self.state.set_series(series, study=self._study_of(series))
        self.browser.select(position)
        self.view.setFocus()

    def _study_of(self, series: Series) -> Study | None:
        for study in self.result.studies if self.result else ():
            if any(s is series for s in study.series):
                return study
        return None

    def _on_cursor(self, readout: PixelReadout | None) -> None:
        self.readout.setText(readout.text if readout is not None else "")

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        self.stop_loading()
        self.reading.shutdown()
        self.view.disconnect_model()
        self.state.cursor_changed.disconnect(self._on_cursor, missing_ok=True)
        self.state.series_changed.disconnect(self._fill_window_menu, missing_ok=True)
        super().closeEvent(event)
