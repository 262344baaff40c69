"""SliceView: draws a ViewState (series, plane, slice, window, camera, rulers) with pyqtgraph.

The widget takes its model in ``__init__``, subscribes to its signals and only draws; every
mouse or key gesture is turned into a call on the model (STYLE rule 1).

Mouse: left-drag window/level (horizontal = width, vertical = level) or, in ruler mode (M),
draws a ruler; middle-drag pans; right-drag zooms; wheel scrolls slices, Ctrl+wheel zooms.
Keys: Up/Down, PageUp/PageDown (10), Home/End scroll; 0..9 window presets; F fit; H hides the
corner text; M ruler mode; Delete clears rulers; Space or C starts/stops cine; A/C/S planes
(Shift+A/Shift+C/Shift+S, so plain C stays cine).

Tools (e.g. the box overlay) hook in through :attr:`SliceView.input_tools`: each is asked
first, in order, with ``mouse_press(event) -> bool`` (True: it takes this drag, and then gets
``mouse_move``/``mouse_release`` until the button is let go), ``mouse_double_click(event) ->
bool``, ``key_press(event) -> bool`` (True: consumed) and ``hover(event)`` (no button down).
What no tool takes falls through to the gestures above.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.measure import Ruler
from viewer.qt.listening import Subscriptions
from viewer.qt.slice_decorations import RulerItems, TextOverlay, corner_texts
from viewer.slab import render_view
from viewer.viewstate import ViewState

Qt = QtCore.Qt


class _Canvas(pg.GraphicsView):
    """The pyqtgraph view; forwards input to its SliceView instead of pyqtgraph's handlers."""

    def __init__(self, owner: SliceView) -> None:
        super().__init__(background="k")
        self._owner = owner
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)

    def wheelEvent(self, event: QtGui.QWheelEvent) -> None:  # noqa: N802 (Qt override)
        self._owner._wheel(event)

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        self._owner._press(event)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        self._owner._move(event)

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        self._owner._release(event)

    def mouseDoubleClickEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        self._owner._double_click(event)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:  # noqa: N802
        self._owner._key(event)

    def leaveEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802
        self._owner.state.set_cursor(None)
        super().leaveEvent(event)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        owner = getattr(self, "_owner", None)  # pyqtgraph resizes during its own __init__
        if owner is not None and getattr(owner, "overlay", None) is not None:
            owner._on_resize()


class SliceView(QtWidgets.QWidget):
    """A slice viewer widget bound to one :class:`ViewState`."""

    def __init__(self, state: ViewState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 200)
        self.canvas = _Canvas(self)
        self.setFocusProxy(self.canvas)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)

        self.view_box = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view_box.setMouseEnabled(False, False)
        self.view_box.setDefaultPadding(0.0)
        self.canvas.setCentralItem(self.view_box)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setAutoDownsample(False)
        self.view_box.addItem(self.image_item)
        self.rulers = RulerItems(self.view_box)
        self.overlay = TextOverlay(self.canvas.viewport())
        self.displayed: np.ndarray | None = None  # the uint8 array last given to the image
        self._scratch: np.ndarray | None = None

        self._drag_button: Qt.MouseButton | None = None
        self.input_tools: list = []  # asked before the built-in gestures (module docstring)
        self._tool_drag = None  # the tool that took the current drag
        self._wheel_rest = 0  # wheel angle not yet turned into a slice step (1/8 degree)
        self._drag_last = QtCore.QPointF()
        self._drag_anchor_mm = (0.0, 0.0)
        self._cine = QtCore.QTimer(self)
        self._cine.timeout.connect(self._cine_tick)
        self._reload = QtCore.QTimer(self)  # coalesces redraws while frames stream in
        self._reload.setSingleShot(True)
        self._reload.setInterval(30)
        self._reload.timeout.connect(self._on_data_landed)

        self._subscriptions = Subscriptions([
            (state.series_changed, self._on_series),
            (state.plane_changed, self._on_plane),
            (state.slice_changed, self._on_slice),
            (state.window_changed, self._on_window),
            (state.camera_changed, self._apply_camera),
            (state.overlay_changed, self._on_overlay),
            (state.cine_changed, self._on_cine),
            (state.mode_changed, self._on_mode),
            (state.rulers_changed, self._on_rulers),
            (state.data_changed, self._on_frame),
            (state.display_changed, self._redraw_image),
        ])
        self._on_series(state.series)

    # ---- model -> drawing -------------------------------------------------------------
    def disconnect_model(self) -> None:
        """Stop listening to the model (called on close)."""
        self._subscriptions.drop()
        self._cine.stop()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        self.disconnect_model()
        super().closeEvent(event)

    def _on_series(self, _series=None) -> None:
        self._on_plane()

    def _on_plane(self, _plane: str | None = None) -> None:
        geometry = self.state.geometry
        if geometry is None:
            self.image_item.clear()
            self.displayed = None
            self.overlay.set_edges({})
        else:
            row_mm, col_mm = geometry.pixel_spacing_mm
            self.image_item.setTransform(QtGui.QTransform.fromScale(col_mm, row_mm))
            self.overlay.set_edges(geometry.labels)
        self._redraw_image()
        self._apply_camera()
        self._on_rulers()
        self._on_cine(self.state.cine_playing)

    def _on_slice(self, _k: int) -> None:
        self._redraw_image()
        self.rulers.update(self.state)
        self._update_text()

    def _on_window(self, _width: float, _level: float) -> None:
        self._redraw_image()
        self._update_text()

    def _redraw_image(self) -> None:
        state, geometry = self.state, self.state.geometry
        if geometry is None or state.series is None:
            return
        width, level = state.window
        shape = (geometry.n_rows, geometry.n_cols)
        if self._scratch is None or self._scratch.shape != shape:
            self._scratch = np.empty(shape, np.float32)  # reused: no 1 MB allocation per slice
        self.displayed = render_view(state.series.volume, geometry, state.slice_index,
                                     width, level, slab=state.slab, invert=state.invert,
                                     scratch=self._scratch)
        self.image_item.setImage(self.displayed, autoLevels=False, levels=(0, 255))
        self._update_text()

    def _update_text(self) -> None:
        self.overlay.set_corners(corner_texts(self.state), visible=self.state.overlay_visible)

    def _on_overlay(self, _visible: bool) -> None:
        self._update_text()

    def _on_mode(self, mode: str) -> None:
        self.canvas.setCursor(Qt.CursorShape.ArrowCursor if mode == "window"
                              else Qt.CursorShape.CrossCursor)
        self._update_text()

    def _on_rulers(self) -> None:
        self.rulers.update(self.state)

    def _on_cine(self, playing: bool) -> None:
        if playing:
            self._cine.start(max(1, int(round(1000.0 / self.state.cine_fps))))
        else:
            self._cine.stop()
        self._update_text()

    def _cine_tick(self) -> None:
        self.state.step(1, wrap=True)

    def _on_frame(self, frame: int) -> None:
        if self.state.frame_visible(frame) and not self._reload.isActive():
            self._reload.start()

    def _on_data_landed(self) -> None:
        self.state.refresh_auto_window()
        self._redraw_image()

    def _fit_rect_mm(self) -> QtCore.QRectF | None:
        geometry = self.state.geometry
        if geometry is None:
            return None
        row_mm, col_mm = geometry.pixel_spacing_mm
        return QtCore.QRectF(0.0, 0.0, geometry.n_cols * col_mm, geometry.n_rows * row_mm)

    def _apply_camera(self) -> None:
        rect = self._fit_rect_mm()
        if rect is None:
            return
        zoom = self.state.zoom
        pan_x, pan_y = self.state.pan_mm
        centre = rect.center() + QtCore.QPointF(pan_x, pan_y)
        width, height = rect.width() / zoom, rect.height() / zoom
        self.view_box.setRange(
            QtCore.QRectF(centre.x() - width / 2, centre.y() - height / 2, width, height),
            padding=0.0,
        )
        self._update_text()

    def _on_resize(self) -> None:
        self._apply_camera()
        self.overlay.relayout()

    # ---- coordinates ------------------------------------------------------------------
    def view_mm(self, viewport_pos: QtCore.QPointF) -> QtCore.QPointF:
        """Displayed-mm view coordinates of a viewport position."""
        return self.view_box.mapSceneToView(self.canvas.mapToScene(viewport_pos.toPoint()))

    def pixel_at(self, viewport_pos: QtCore.QPointF) -> tuple[float, float]:
        """(row_px, col_px) pixel-centre coordinates of the displayed image at a position."""
        geometry = self.state.geometry
        point = self.view_mm(viewport_pos)
        row_mm, col_mm = geometry.pixel_spacing_mm if geometry else (1.0, 1.0)
        return (point.y() / row_mm - 0.5, point.x() / col_mm - 0.5)

    def viewport_pos_of_pixel(self, row_px: float, col_px: float) -> QtCore.QPoint:
        """Viewport position of a displayed pixel centre (for tests and tools)."""
        geometry = self.state.geometry
        row_mm, col_mm = geometry.pixel_spacing_mm if geometry else (1.0, 1.0)
        scene = self.view_box.mapViewToScene(
            QtCore.QPointF((col_px + 0.5) * col_mm, (row_px + 0.5) * row_mm)
        )
        return self.canvas.mapFromScene(scene)

    def index_at(self, viewport_pos: QtCore.QPointF) -> tuple[float, float, float] | None:
        """Volume index ``(column, row, frame)`` under a viewport position (None outside)."""
        geometry = self.state.geometry
        if geometry is None:
            return None
        row_px, col_px = self.pixel_at(viewport_pos)
        if not (-0.5 <= row_px < geometry.n_rows - 0.5 and -0.5 <= col_px < geometry.n_cols - 0.5):
            return None
        return geometry.to_index(self.state.slice_index, row_px, col_px)

    # ---- input -> model ---------------------------------------------------------------
    def _wheel(self, event: QtGui.QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if delta == 0:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            anchor = self._offset_mm(event.position())
            self.state.zoom_by(1.15 ** (delta / 120.0), anchor_mm=anchor)
        else:
            # a mouse notch is 120; touchpads send small deltas: add them up to whole slices
            self._wheel_rest += delta
            notches = int(self._wheel_rest / 120)
            if notches:
                self._wheel_rest -= notches * 120
                self.state.step(-notches)
        event.accept()

    def _offset_mm(self, viewport_pos: QtCore.QPointF) -> tuple[float, float]:
        rect = self._fit_rect_mm()
        point = self.view_mm(viewport_pos)
        centre = rect.center() if rect is not None else QtCore.QPointF()
        return (point.x() - centre.x(), point.y() - centre.y())

    def _press(self, event: QtGui.QMouseEvent) -> None:
        self.canvas.setFocus()
        for tool in self.input_tools:
            if tool.mouse_press(event):
                self._tool_drag = tool
                event.accept()
                return
        self._drag_button = event.button()
        self._drag_last = event.position()
        self._drag_anchor_mm = self._offset_mm(event.position())
        if event.button() == Qt.MouseButton.LeftButton and self.state.mode == "ruler":
            index = self.index_at(event.position())
            if index is not None:
                self.state.add_ruler(Ruler(self.state.plane, self.state.slice_index,
                                           index, index))
            else:
                self._drag_button = None
        event.accept()

    def _move(self, event: QtGui.QMouseEvent) -> None:
        pos = event.position()
        self.state.set_cursor(self.index_at(pos))
        if self._tool_drag is not None:
            self._tool_drag.mouse_move(event)
            event.accept()
            return
        button = self._drag_button
        if button is None:
            for tool in self.input_tools:
                tool.hover(event)
            return
        dx, dy = pos.x() - self._drag_last.x(), pos.y() - self._drag_last.y()
        if button == Qt.MouseButton.LeftButton and self.state.mode == "ruler":
            index = self.index_at(pos)
            if index is not None and self.state.rulers:
                last = self.state.rulers[-1]
                self.state.replace_last_ruler(Ruler(last.plane, last.slice_k,
                                                    last.start_index, index))
        elif button == Qt.MouseButton.LeftButton:
            self.state.drag_window(dx, dy)
        elif button == Qt.MouseButton.MiddleButton:
            before, after = self.view_mm(self._drag_last), self.view_mm(pos)
            self.state.pan_by(after.x() - before.x(), after.y() - before.y())
        elif button == Qt.MouseButton.RightButton:
            self.state.zoom_by(math.exp(-dy * 0.01), anchor_mm=self._drag_anchor_mm)
        self._drag_last = pos
        event.accept()

    def _release(self, event: QtGui.QMouseEvent) -> None:
        if self._tool_drag is not None:
            tool, self._tool_drag = self._tool_drag, None
            tool.mouse_release(event)
            event.accept()
            return
        if (self._drag_button == Qt.MouseButton.LeftButton and self.state.mode == "ruler"
                and self.state.rulers):
            last = self.state.rulers[-1]
            if np.allclose(last.start_index, last.end_index):  # a click, not a measurement
                self.state.drop_last_ruler()
        self._drag_button = None
        event.accept()

    def _double_click(self, event: QtGui.QMouseEvent) -> None:
        if any(tool.mouse_double_click(event) for tool in self.input_tools):
            event.accept()
            return
        self._press(event)  # as QWidget does: a second press

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:  # noqa: N802
        self._key(event)

    def _key(self, event: QtGui.QKeyEvent) -> None:
        if any(tool.key_press(event) for tool in self.input_tools):
            event.accept()
            return
        state, key = self.state, event.key()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        # Qt.Key is an IntEnum: keyed by int, the dicts take event.key() as it comes
        moves: dict[int, int] = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -10,
                                 Qt.Key.Key_PageDown: 10}
        planes: dict[int, str] = {Qt.Key.Key_A: "axial", Qt.Key.Key_C: "coronal",
                                  Qt.Key.Key_S: "sagittal"}
        if key in moves:
            state.step(moves[key])
        elif key == Qt.Key.Key_Home:
            state.slice_index = 0
        elif key == Qt.Key.Key_End:
            state.slice_index = state.n_slices - 1
        elif Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
            state.apply_preset(int(key - Qt.Key.Key_0))  # 6..9 without a header preset: no-op
        elif key == Qt.Key.Key_F:
            state.fit()
        elif key == Qt.Key.Key_H:
            state.overlay_visible = not state.overlay_visible
        elif key == Qt.Key.Key_M:
            state.mode = "window" if state.mode == "ruler" else "ruler"
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            state.clear_rulers()
        elif shift and key in planes and state.series is not None:
            if planes[key] in state.planes:
                state.set_plane(planes[key])
        elif key in (Qt.Key.Key_Space, Qt.Key.Key_C):
            state.cine_playing = not state.cine_playing
        else:
            event.ignore()
            return
        event.accept()

    # ---- helpers for benchmarks and tests -------------------------------------------
    def render_now(self) -> None:
        """Paint the viewport synchronously (what a screen refresh does)."""
        self.canvas.viewport().repaint()

    def drawn_levels(self) -> tuple[float, float]:
        """The window (low, high) the current image was drawn with, in series units."""
        from viewer.windowing import window_bounds

        return window_bounds(*self.state.window)
