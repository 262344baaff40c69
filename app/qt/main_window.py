"""The main window: the composition root of a reading window.

It builds one :class:`~app.session.ReadingSession` (the Qt-free model), the engine's Qt bridge
(:class:`~app.qt.engine_worker.EngineClient`, the session's engine port), and the widgets, handing
each the session part it shows: the slice view and box overlay get ``session.view`` and
``session.findings``, the Chat panel ``session.conversation``, the Report panel
``session.report``, the Model panel and Fine-tuning tab ``session.engine``. No widget receives
the window. Loading studies runs in a worker (:mod:`app.qt.workers`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app.qt.engine_worker import EngineClient
from app.qt.measuring import build_measuring, loaded_studies
from app.qt.pacs_link import PacsLink
from app.qt.panels.chat import ChatPanel
from app.qt.panels.findings import FindingsPanel
from app.qt.panels.findings3d import Findings3DPanel
from app.qt.panels.model import ModelPanel
from app.qt.panels.report import ReportPanel
from app.qt.panels.sweep import SweepBar
from app.qt.panels.training import TrainingTab
from app.qt.reading_workspace import ReadingWorkspace
from app.qt.share_menu import ShareMenu
from app.qt.viewport_export import Pane
from app.qt.widgets import scrolling, stacked
from app.qt.workers import LoadJob, LoadWorker
from app.session import ReadingSession
from viewer.qt.box_overlay import BoxOverlay
from viewer.qt.extent_overlay import ExtentOverlay
from viewer.qt.measure_overlay import MeasureOverlay
from viewer.qt.series_browser import SeriesBrowser, SkippedPanel
from viewer.reformat import PLANES
from viewer.study import LoadResult, Series, Skipped, Study
from viewer.viewstate import PixelReadout
from viewer.windowing import CT_PRESETS

log = logging.getLogger(__name__)


class MainWindow(QtWidgets.QMainWindow):
    """MedMO Viewer's main window. ``open_paths`` loads in a worker; the window stays live."""

    #: the first slice of what ``open_paths`` loads is painted (once per open): the moment
    #: ``medmo view`` starts loading the model, and ``medmo bench startup`` times
    first_slice_shown = QtCore.Signal()

    def __init__(self, *, loader_scan=None, loader_fill=None,
                 workspace_dir: str | Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle("MedMO Viewer")
        room = QtGui.QGuiApplication.primaryScreen().availableGeometry()  # 90 %: images need room
        self.resize(max(1280, room.width() * 9 // 10), max(820, room.height() * 9 // 10))
        self.setAcceptDrops(True)
        self.session = ReadingSession(workspace_dir=workspace_dir)
        self.engine = EngineClient(self.session.engine, self)
        self.session.engine.port = self.engine
        self.state = self.session.view
        self.result: LoadResult | None = None
        self.workspace = ReadingWorkspace(self.session, lambda: self.result,
                                          lambda paths: self.open_paths(paths), parent=self)
        self.view = self.workspace.grid.views[0]  # shows session.view
        self.setCentralWidget(self.workspace.grid)
        self.addToolBar(self.workspace.bar)
        self.job: LoadJob | None = None
        self.last_error = ""
        self._loader = (loader_scan, loader_fill)  # None: viewer.loading (tests may pass their own)
        self._current_position = -1
        self._first_slice_pending = False

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
        self.state.series_changed.connect(self._on_series_shown)
        self._build_menus()
        self._build_reading()

    # ---- reading: session parts -> panels -----------------------------------------------
    def _build_reading(self) -> None:
        session = self.session
        # each viewport draws and edits the boxes and measurements of the study it shows
        self.overlay = BoxOverlay(self.view, session.findings_for(self.state), self.state)
        grid_views = self.workspace.grid.views
        self.viewport_overlays = [
            (BoxOverlay(view, session.findings_for(state), state),
             MeasureOverlay(view, session.measurements_for(state), state,
                            findings=session.findings_for(state)))
            for view, state in zip(grid_views[1:], session.layout.viewports[1:], strict=True)]
        self.share = ShareMenu(self.menuBar().addMenu("&Share"), self.view, self.overlay,
                               self.state, session.findings_for(self.state),
                               session.workspace_dir / "audit", layout=self._layout_panes)
        self.panels = _Panels(
            findings=FindingsPanel(session.findings, self.state),
            chat=ChatPanel(session.conversation, session.frames, session.findings),
            report=ReportPanel(session.report, session.findings, self.state),
            model=ModelPanel(session.engine),
            training=TrainingTab(runs_dir=session.workspace_dir.parent / "runs"))
        self.extent_overlay = ExtentOverlay(self.view, session.findings3d, self.state)
        self.sweep_bar = SweepBar(session.sweep, self.state)
        self.findings3d_panel = Findings3DPanel(session.findings3d)
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        panels = self.panels
        for name, widget in (("Findings", panels.findings), ("Chat", panels.chat),
                             ("Report", panels.report), ("Model", panels.model),
                             ("Fine-tuning", scrolling(panels.training))):
            dock = QtWidgets.QDockWidget(name, self)
            dock.setObjectName(name.lower())
            dock.setWidget(widget)
            dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
            self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
            self.docks[name] = dock
        self.splitDockWidget(self.docks["Findings"], self.docks["Chat"],
                             QtCore.Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.docks["Chat"], self.docks["Report"])
        self.tabifyDockWidget(self.docks["Report"], self.docks["Model"])
        self.tabifyDockWidget(self.docks["Model"], self.docks["Fine-tuning"])
        self.docks["Chat"].raise_()
        self.docks["3D findings"] = dock = QtWidgets.QDockWidget("3D findings", self)
        dock.setObjectName("3d-findings")
        dock.setWidget(stacked(self.sweep_bar, self.findings3d_panel))
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
        # a tab beside the boxes list, tabified once the window has its size (as the PACS
        # tab: tabified at construction, a ghost "3D findings" tab stayed drawn over Report)
        self.measuring = build_measuring(self, self.view, session,
                                         lambda: loaded_studies(self.result))
        self.share.measures = self.measuring.overlay
        QtCore.QTimer.singleShot(0, self._tabify_findings3d)
        session.sweep.started.connect(lambda _text: dock.raise_())
        self.boxes_menu = self.menuBar().addMenu("&Boxes")
        self._show_box_tools_of(self.overlay)
        engine, form = session.engine, panels.training.form
        panels.training.adapter_chosen.connect(engine.use_adapter)
        panels.training.rolled_back.connect(lambda: engine.use_adapter(""))
        form.model.currentTextChanged.connect(engine.set_base_model)
        engine.base_model_changed.connect(
            lambda model: None if form.model.currentText().strip() == model
            else form.model.setCurrentText(model))
        session.conversation.needs_model.connect(lambda: self.docks["Model"].raise_())
        session.focus_changed.connect(self._on_focus)
        session.report.stream_started.connect(lambda _model: self.docks["Report"].raise_())
        session.status.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.key_shortcut = QtGui.QShortcut(QtGui.QKeySequence("K"), self)
        self.key_shortcut.activated.connect(session.toggle_key_image)
        self._build_pacs()

    def _on_focus(self, state) -> None:
        """Another viewport is active: the panels go to findings there, and the Boxes and
        Measure menus act on it."""
        self.panels.findings.set_view(state)
        self.panels.report.view = state
        self.sweep_bar.view = state
        index = self.session.layout.index_of(state)
        boxes, measures = self._overlays()[index]
        self._show_box_tools_of(boxes)
        self.measuring.show_tools_of(measures)
        self.share.follow(self.workspace.grid.views[index], boxes, state,
                          self.session.findings_for(state), measures)

    def _overlays(self) -> list[tuple[BoxOverlay, MeasureOverlay]]:
        """Each viewport's box and measurement overlays, in layout order."""
        return [(self.overlay, self.measuring.overlay), *self.viewport_overlays]

    def _layout_panes(self) -> tuple[QtWidgets.QWidget, list[Pane]]:
        """The viewport grid, and each viewport with its overlays (Share, "Save layout")."""
        grid = self.workspace.grid
        return grid, [Pane(v, *o) for v, o in zip(grid.views, self._overlays(), strict=True)]

    def _show_box_tools_of(self, overlay: BoxOverlay) -> None:
        self.boxes_menu.clear()
        self.boxes_menu.addActions([overlay.undo_action, overlay.redo_action,
                                    overlay.box_mode_action, overlay.show_deleted_action])

    def _build_pacs(self) -> None:
        """The PACS panel, tabbed with the study list: what it retrieves opens here."""
        self.pacs = PacsLink(self.session, self.open_paths, open_prior=self.workspace.open_prior,
                             parent=self)
        self.workspace.bar.addAction("Priors on PACS").triggered.connect(
            lambda _checked=False: self.pacs.find_priors())
        dock = self.docks["PACS"] = QtWidgets.QDockWidget("PACS", self)
        dock.setObjectName("pacs")
        dock.setWidget(self.pacs.panel)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.pacs.panel.focus_requested.connect(dock.raise_)
        # tabified once the window has its size: tabified at construction, Qt 6.11 left the
        # first tab bar drawn where it was when the window was resized (two tab bars)
        QtCore.QTimer.singleShot(0, self._tabify_pacs)

    def _tabify_findings3d(self) -> None:
        self.tabifyDockWidget(self.docks["Findings"], self.docks["3D findings"])
        self.tabifyDockWidget(self.docks["3D findings"], self.measuring.follow_up_dock)
        self.tabifyDockWidget(self.measuring.follow_up_dock, self.measuring.tags_dock)
        self.docks["Findings"].raise_()
        # the images get the room: the right-hand panels take a third of the window at most
        self.resizeDocks([self.docks["Findings"]], [self.width() // 3],
                         QtCore.Qt.Orientation.Horizontal)

    def _tabify_pacs(self) -> None:
        studies = self.findChild(QtWidgets.QDockWidget, "studies")
        if studies is not None:
            self.tabifyDockWidget(studies, self.docks["PACS"])
            studies.raise_()  # the study list stays in front; Ctrl+F brings the PACS tab

    # ---- menus ------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "Open &Folder...", self._ask_folder, QtGui.QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open F&iles...", self._ask_files)
        self._action(file_menu, "Open &DICOMDIR...", self._ask_dicomdir)
        self._action(file_menu, "Open &Prior Folder...", lambda: self.workspace.ask_prior())
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QtGui.QKeySequence.StandardKey.Quit)

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
        self.workspace.on_opened([str(p) for p in paths])
        self.stop_loading()
        self.result = None
        self._current_position = -1
        self.state.set_series(None)
        self.browser.clear()
        self.skipped_panel.set_skipped(())
        self.last_error = ""
        self._first_slice_pending = True
        self.progress.setRange(0, 0)  # busy until the scan tells us the frame count
        self.progress.setVisible(True)
        self.statusBar().showMessage(f"Reading {len(paths)} path(s)...")
        scan, fill = self._loader
        worker = LoadWorker(paths, first_frames=lambda s: s.volume.n_frames // 2,
                            scan=scan, fill=fill)
        self.session.conversation.loading = True
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
        self.session.conversation.loading = False

    def _on_scanned(self, result: LoadResult) -> None:
        self.result = result
        self.browser.set_result(result)
        self.skipped_panel.set_skipped(result.skipped)
        if result.all_series:
            self.show_series(0)
        self.workspace.on_scanned(result)

    def _on_frame_loaded(self, position: int, frame: int) -> None:
        if position == self._current_position:
            self.state.notify_frame_loaded(frame)
            if self.state.frame_visible(frame):
                self._first_slice_on_screen()
        if self.result is not None and 0 <= position < len(self.result.all_series):
            self.workspace.notify_frame_loaded(self.result.all_series[position], frame)

    def _first_slice_on_screen(self) -> None:
        if self._first_slice_pending and self.state.series is not None:
            self._first_slice_pending = False
            self.view.repaint()  # painted now, not at the next idle moment
            self.first_slice_shown.emit()

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
        self._first_slice_on_screen()  # NIfTI and plain images are filled when scanned
        self.progress.setVisible(False)
        self.session.conversation.loading = False
        self.browser.refresh()  # warnings found while decoding (NaN pixels) show now
        if self.result is not None and not self.last_error:
            n = len(self.result.all_series)
            skipped = self.skipped_panel.count()
            self.statusBar().showMessage(
                f"Loaded {n} series in {seconds:.2f} s" + (f", {skipped} skipped" if skipped
                                                         else ""), 10_000)

    # ---- showing ------------------------------------------------------------------------
    def show_series(self, position: int) -> None:
        """Show ``result.all_series[position]`` in the active viewport."""
        if self.result is None or not 0 <= position < len(self.result.all_series):
            return
        target = self.session.layout.active
        if target is self.state and position == self._current_position:
            return  # already shown: a second click keeps the slice, window and rulers
        series = self.result.all_series[position]
        target.set_series(series, study=self._study_of(series))
        self.workspace.grid.active_view.setFocus()

    def _on_series_shown(self, series: Series | None) -> None:
        """Whoever brought a series on screen (browser, chat link, finding), the browser
        follows."""
        all_series = self.result.all_series if self.result is not None else []
        position = next((k for k, s in enumerate(all_series) if s is series), -1)
        self._current_position = position
        if position >= 0:
            self.browser.select(position)

    def _study_of(self, series: Series) -> Study | None:
        for study in self.result.studies if self.result else ():
            if any(s is series for s in study.series):
                return study
        return None

    def _on_cursor(self, readout: PixelReadout | None) -> None:
        self.readout.setText(readout.text if readout is not None else "")

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        self.stop_loading()
        self.shutdown_reading()
        self.workspace.disconnect_model()
        self.state.cursor_changed.disconnect(self._on_cursor, missing_ok=True)
        self.state.series_changed.disconnect(self._fill_window_menu, missing_ok=True)
        self.state.series_changed.disconnect(self._on_series_shown, missing_ok=True)
        super().closeEvent(event)

    def shutdown_reading(self) -> None:
        """Save the report being typed, stop training and the engine (an answer it was
        writing is stored), then close the workspace."""
        if getattr(self, "_reading_closed", False):
            return
        self._reading_closed = True
        self.pacs.shutdown()
        self.panels.report.flush()
        self.panels.training.shutdown()
        self.session.sweep.cancel()  # no new chunk after the one the shutdown stops
        if not self.engine.shutdown():
            log.warning("engine thread did not stop within 30 s")
        # an answer stopped by the shutdown is queued for us: store it before closing
        QtCore.QCoreApplication.sendPostedEvents(self.engine)
        for panel in (self.panels.findings, self.panels.chat, self.panels.report,
                      self.panels.model, self.sweep_bar, self.findings3d_panel):
            panel.disconnect_model()
        self.extent_overlay.disconnect_model()
        self.overlay.disconnect_model()
        self.measuring.disconnect_model()
        self.session.close()


@dataclass(frozen=True, slots=True)
class _Panels:
    """The window's reading panels, each made with the session part it shows."""

    findings: FindingsPanel
    chat: ChatPanel
    report: ReportPanel
    model: ModelPanel
    training: TrainingTab
