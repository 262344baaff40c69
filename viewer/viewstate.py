"""What the slice view shows, as an evented model (no Qt): views listen, tests need no widget.

Every setter validates, stores and emits; a setter that changes nothing emits nothing, so a
view that writes back what it was told cannot loop.
"""

from __future__ import annotations

import numpy as np
from psygnal import Signal

from viewer.measure import Ruler
from viewer.orientation import IMAGE_TOOLS
from viewer.readout import PixelReadout, pixel_readout
from viewer.reformat import PlaneGeometry, available_planes, native_plane, plane_geometry
from viewer.slab import Slab
from viewer.study import Series, Study
from viewer.windowing import CT_PRESETS, auto_window

__all__ = ["MEASURE_TOOLS", "POINTER_MODES", "PixelReadout", "ViewState", "pixel_readout"]

# What a left-drag on the image does: window/level, measure a distance, draw a box, move the
# crosshair (the other planes go to the point clicked), or draw a measurement
# (viewer.measurements; like boxes, only on acquired frames)
MEASURE_TOOLS: tuple[str, ...] = ("ellipse", "rectangle", "freehand", "angle", "bidirectional")
POINTER_MODES: tuple[str, ...] = ("window", "ruler", "box", "crosshair", *MEASURE_TOOLS)
_NATIVE_ONLY = ("box", *MEASURE_TOOLS)
MIN_ZOOM, MAX_ZOOM = 0.05, 64.0


class ViewState:
    """The state of one slice view.

    Signals carry the new value; connect views to them (STYLE rule 1).
    """

    series_changed = Signal(object)  # Series | None
    plane_changed = Signal(str)
    slice_changed = Signal(int)
    window_changed = Signal(float, float)  # width, level
    camera_changed = Signal()  # zoom / pan / fit
    overlay_changed = Signal(bool)
    cine_changed = Signal(bool)
    mode_changed = Signal(str)
    rulers_changed = Signal()
    cursor_changed = Signal(object)  # PixelReadout | None
    data_changed = Signal(int)  # a frame of the current series landed (array axis 0 index)
    display_changed = Signal()  # slab projection or invert

    def __init__(self) -> None:
        self._series: Series | None = None
        self._study: Study | None = None
        self._plane = "axial"
        self._geometry: PlaneGeometry | None = None
        self._slice = 0
        self._width, self._level = 400.0, 40.0
        self._window_name = "default"
        self._zoom = 1.0
        self._pan_mm = (0.0, 0.0)
        self._overlay_visible = True
        self._cine_playing = False
        self._cine_fps = 10.0
        self._mode = "window"
        self._rulers: tuple[Ruler, ...] = ()
        self._cursor: PixelReadout | None = None
        self._slab: Slab | None = None
        self._invert = False
        self._tools: tuple[str, ...] = ()  # image tools applied to the plane, in order

    # ---- series and plane -------------------------------------------------------------
    @property
    def series(self) -> Series | None:
        return self._series

    @property
    def study(self) -> Study | None:
        """The study the series belongs to (patient/study text of the overlay), if known."""
        return self._study

    @property
    def plane(self) -> str:
        return self._plane

    @property
    def geometry(self) -> PlaneGeometry | None:
        return self._geometry

    @property
    def planes(self) -> tuple[str, ...]:
        return available_planes(self._series.volume) if self._series is not None else ()

    def set_series(
        self,
        series: Series | None,
        *,
        study: Study | None = None,
        slice_index: int | None = None,
    ) -> None:
        """Show a series in its native plane, middle slice, default window, fitted."""
        self._series = series
        self._study = study
        self._rulers = ()
        self._cine_playing = False
        self._tools = ()
        if series is not None and series.volume.is_colour:
            self._slab = None  # no projection of colour pictures
        if series is None:
            self._geometry = None
            self._slice = 0
        else:
            self._plane = native_plane(series.volume)
            self._geometry = plane_geometry(series.volume, self._plane)
            middle = self._geometry.n_slices // 2
            self._slice = self._clamp(middle if slice_index is None else slice_index)
            self._reset_window()
        self._zoom, self._pan_mm = 1.0, (0.0, 0.0)
        self.series_changed.emit(series)
        self.cine_changed.emit(False)
        self._leave_box_mode()

    def show_frame(self, series_uid: str, frame_index: int) -> bool:
        """Bring native frame ``frame_index`` of a series of the open study on screen (its
        acquired plane); False when no such series is open. Chat links, findings and report
        sentences navigate through this."""
        candidates = (self._series,) + (self._study.series if self._study is not None else ())
        series = next((s for s in candidates if s is not None and s.uid == series_uid), None)
        if series is None:
            return False
        if series is not self._series:
            self.set_series(series, study=self._study, slice_index=frame_index)
        native = native_plane(series.volume)
        if self._plane != native:
            self.set_plane(native)
        self.slice_index = frame_index
        return True

    def set_plane(self, plane: str) -> None:
        """Switch to another plane; the slice moves to the middle of the new stack."""
        if self._series is None:
            raise ValueError("no series shown")
        if plane == self._plane:
            return
        self._geometry = plane_geometry(self._series.volume, plane)  # raises on bad plane
        self._tools = ()
        self._plane = plane
        self._slice = self._geometry.n_slices // 2
        self._zoom, self._pan_mm = 1.0, (0.0, 0.0)
        self.plane_changed.emit(plane)
        self.slice_changed.emit(self._slice)
        self.camera_changed.emit()
        self._leave_box_mode()

    # ---- slice ----------------------------------------------------------------------------
    @property
    def n_slices(self) -> int:
        return self._geometry.n_slices if self._geometry is not None else 0

    @property
    def slice_index(self) -> int:
        return self._slice

    @slice_index.setter
    def slice_index(self, value: int) -> None:
        value = self._clamp(int(value))
        if value != self._slice:
            self._slice = value
            self.slice_changed.emit(value)

    def step(self, delta: int, *, wrap: bool = False) -> None:
        """Move ``delta`` slices (clamped, or wrapping round for cine)."""
        if self.n_slices == 0:
            return
        target = self._slice + int(delta)
        self.slice_index = target % self.n_slices if wrap else target

    def _clamp(self, value: int) -> int:
        return max(0, min(value, self.n_slices - 1)) if self.n_slices else 0

    # ---- window / level -----------------------------------------------------------------
    @property
    def window(self) -> tuple[float, float]:
        """(width, level) in the series' units (HU for CT)."""
        return (self._width, self._level)

    @property
    def window_name(self) -> str:
        return self._window_name

    def set_window(self, width: float, level: float, *, name: str = "custom") -> None:
        if not np.isfinite(width) or not np.isfinite(level):
            raise ValueError(f"window must be finite, got W {width} L {level}")
        width = max(float(width), 1e-3)
        self._window_name = name
        if (width, float(level)) != (self._width, self._level):
            self._width, self._level = width, float(level)
            self.window_changed.emit(width, float(level))

    def drag_window(self, dx_px: float, dy_px: float) -> None:
        """Mouse drag: right widens the window, down raises the level (both scale with width)."""
        step = max(self._width, 20.0) / 256.0
        self.set_window(self._width + dx_px * step, self._level + dy_px * step)

    def apply_preset(self, key: int) -> None:
        """Number key: 0 the header default, 1..5 CT lung/mediastinum/bone/brain/abdomen,
        6..9 further presets from the header."""
        if key == 0:
            self._reset_window()
        elif 1 <= key <= len(CT_PRESETS):
            preset = CT_PRESETS[key - 1]
            self.set_window(preset.width, preset.level, name=preset.name)
        elif 6 <= key <= 9:
            header = self._series.window_presets if self._series is not None else ()
            if key - 5 < len(header):
                preset = header[key - 5]
                self.set_window(preset.width, preset.level, name=preset.name or "header")
        else:
            raise ValueError(f"no window preset on key {key}")

    def refresh_auto_window(self) -> None:
        """Recompute an automatic window from the slice on screen (after its pixels land)."""
        if self._window_name == "auto" and self._series is not None:
            self._auto_window_from_slice()

    def _reset_window(self) -> None:
        series = self._series
        if series is None:
            return
        if series.window_presets:
            preset = series.window_presets[0]
            self.set_window(preset.width, preset.level, name=preset.name or "header")
        elif series.modality.upper() == "CT":
            self.set_window(400.0, 40.0, name="default")
        else:
            self._auto_window_from_slice()

    def _auto_window_from_slice(self) -> None:
        from viewer.reformat import plane_image

        if self._series is None or self._geometry is None:
            return
        image = plane_image(self._series.volume, self._geometry, self._slice)
        if self._series.volume.is_colour:
            self.set_window(255.0, 127.5, name="auto")
            return
        preset = auto_window(np.asarray(image, dtype=np.float32))
        self.set_window(preset.width, preset.level, name="auto")

    # ---- slab projection, invert, image tools -------------------------------------------
    @property
    def slab(self) -> Slab | None:
        """The slab projection shown instead of the single slice (None: the slice itself)."""
        return self._slab

    def set_slab(self, slab: Slab | None) -> None:
        if slab is not None and self._series is not None and self._series.volume.is_colour:
            raise ValueError("slab projections need a greyscale series")
        if slab != self._slab:
            self._slab = slab
            self.display_changed.emit()

    def toggle_slab(self, mode: str, thickness_mm: float) -> None:
        """Key or toolbar: the ``mode`` slab on, or off when that mode is already on."""
        on = self._slab is not None and self._slab.mode == mode
        self.set_slab(None if on else Slab(mode, thickness_mm))

    @property
    def invert(self) -> bool:
        return self._invert

    @invert.setter
    def invert(self, value: bool) -> None:
        if bool(value) != self._invert:
            self._invert = bool(value)
            self.display_changed.emit()

    @property
    def image_tools(self) -> tuple[str, ...]:
        """Rotations and flips applied to the plane since it came on screen, in order."""
        return self._tools

    def apply_tool(self, tool: str) -> None:
        """"rotate" (90 degrees clockwise), "flip_h" or "flip_v": the plane's geometry turns
        (no resampling), so rulers, boxes and the readout follow; the camera refits."""
        if tool not in IMAGE_TOOLS:
            raise ValueError(f"unknown image tool {tool!r}; known: {tuple(IMAGE_TOOLS)}")
        if self._geometry is None:
            return
        self._geometry = IMAGE_TOOLS[tool](self._geometry)
        self._tools = (*self._tools, tool)
        self._zoom, self._pan_mm = 1.0, (0.0, 0.0)
        self.plane_changed.emit(self._plane)
        self.camera_changed.emit()

    def set_camera(self, zoom: float, pan_mm: tuple[float, float]) -> None:
        """Zoom and pan at once (a linked viewport copying another's camera)."""
        zoom = min(max(float(zoom), MIN_ZOOM), MAX_ZOOM)
        pan = (float(pan_mm[0]), float(pan_mm[1]))
        if (zoom, pan) != (self._zoom, self._pan_mm):
            self._zoom, self._pan_mm = zoom, pan
            self.camera_changed.emit()

    # ---- camera -------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        """Magnification relative to fitting the whole slice in the view (1.0 = fit)."""
        return self._zoom

    @property
    def pan_mm(self) -> tuple[float, float]:
        """Offset of the view centre from the slice centre, in displayed mm (x right, y down)."""
        return self._pan_mm

    def fit(self) -> None:
        if (self._zoom, self._pan_mm) != (1.0, (0.0, 0.0)):
            self._zoom, self._pan_mm = 1.0, (0.0, 0.0)
            self.camera_changed.emit()

    def zoom_by(self, factor: float, *, anchor_mm: tuple[float, float] | None = None) -> None:
        """Zoom by ``factor`` keeping ``anchor_mm`` (offset from the slice centre) in place."""
        if factor <= 0 or not np.isfinite(factor):
            raise ValueError(f"zoom factor must be positive, got {factor}")
        new_zoom = min(max(self._zoom * factor, MIN_ZOOM), MAX_ZOOM)
        applied = new_zoom / self._zoom
        if anchor_mm is not None:
            ax, ay = anchor_mm
            px, py = self._pan_mm
            self._pan_mm = (ax + (px - ax) / applied, ay + (py - ay) / applied)
        self._zoom = new_zoom
        self.camera_changed.emit()

    def pan_by(self, dx_mm: float, dy_mm: float) -> None:
        """Move the picture by (dx, dy) displayed mm (the view centre moves the other way)."""
        px, py = self._pan_mm
        self._pan_mm = (px - dx_mm, py - dy_mm)
        self.camera_changed.emit()

    # ---- overlays, cine, mode, rulers, cursor -----------------------------------------
    @property
    def overlay_visible(self) -> bool:
        return self._overlay_visible

    @overlay_visible.setter
    def overlay_visible(self, value: bool) -> None:
        if bool(value) != self._overlay_visible:
            self._overlay_visible = bool(value)
            self.overlay_changed.emit(self._overlay_visible)

    @property
    def cine_playing(self) -> bool:
        return self._cine_playing

    @cine_playing.setter
    def cine_playing(self, value: bool) -> None:
        if bool(value) != self._cine_playing:
            self._cine_playing = bool(value) and self.n_slices > 1
            self.cine_changed.emit(self._cine_playing)

    @property
    def cine_fps(self) -> float:
        return self._cine_fps

    @cine_fps.setter
    def cine_fps(self, value: float) -> None:
        if not 0.5 <= float(value) <= 120.0:
            raise ValueError(f"cine fps must be within 0.5..120, got {value}")
        self._cine_fps = float(value)
        self.cine_changed.emit(self._cine_playing)

    @property
    def mode(self) -> str:
        """Left-drag mode (:data:`POINTER_MODES`): "window" (window/level), "ruler" (distance
        measurement), "box" (draw a new box) or one of :data:`MEASURE_TOOLS`; boxes and
        measurements only on a native plane (see :attr:`can_draw_boxes`). Leaving the native
        plane or the series ends those modes."""
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in POINTER_MODES:
            raise ValueError(f"unknown mode {value!r}; known: {POINTER_MODES}")
        if value in _NATIVE_ONLY and not self.can_draw_boxes:
            raise ValueError(f"{value} is drawn on acquired frames: open a series in its "
                             "native plane first")
        if value != self._mode:
            self._mode = value
            self.mode_changed.emit(value)

    @property
    def can_draw_boxes(self) -> bool:
        """A series is shown in its acquired (native) plane, whose frames boxes live on."""
        return (self._series is not None and self._geometry is not None
                and self._plane == native_plane(self._series.volume))

    def _leave_box_mode(self) -> None:
        if self._mode in _NATIVE_ONLY and not self.can_draw_boxes:
            self._mode = "window"
            self.mode_changed.emit("window")

    @property
    def rulers(self) -> tuple[Ruler, ...]:
        return self._rulers

    def add_ruler(self, ruler: Ruler) -> None:
        self._rulers = (*self._rulers, ruler)
        self.rulers_changed.emit()

    def replace_last_ruler(self, ruler: Ruler) -> None:
        """Update the ruler being dragged."""
        self._rulers = (*self._rulers[:-1], ruler) if self._rulers else (ruler,)
        self.rulers_changed.emit()

    def drop_last_ruler(self) -> None:
        """Remove the most recent ruler (e.g. a click that never dragged)."""
        if self._rulers:
            self._rulers = self._rulers[:-1]
            self.rulers_changed.emit()

    def clear_rulers(self) -> None:
        if self._rulers:
            self._rulers = ()
            self.rulers_changed.emit()

    @property
    def cursor(self) -> PixelReadout | None:
        return self._cursor

    def set_cursor(self, index: tuple[float, float, float] | None) -> None:
        """Cursor at a volume index ``(column, row, frame)``, or None when it left the image."""
        readout = None
        if index is not None and self._series is not None:
            readout = pixel_readout(self._series, index)
        if readout != self._cursor:
            self._cursor = readout
            self.cursor_changed.emit(readout)

    def notify_frame_loaded(self, frame: int) -> None:
        """The loader filled array frame ``frame`` of the current series."""
        self.data_changed.emit(int(frame))

    def frame_visible(self, frame: int) -> bool:
        """Whether array frame ``frame`` contributes to the image on screen."""
        geometry = self._geometry
        if geometry is None:
            return False
        return geometry.slice_axis != 0 or frame == self._slice
