"""Things drawn over the image: corner text, edge orientation letters, distance rulers.

Corner and edge text are QLabels laid over the viewport (they stay put while the image zooms);
rulers live in the ViewBox (they move with the image). Text content comes from pure functions
so it can be checked without a widget.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from viewer.measure import Ruler, format_length, ruler_length
from viewer.reformat import PlaneGeometry
from viewer.viewstate import ViewState

CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")
EDGES = ("top", "bottom", "left", "right")
_LABEL_STYLE = (
    "QLabel { color: #e8e8a0; background: rgba(0, 0, 0, 120); font-family: monospace; "
    "font-size: 11px; }"
)
_EDGE_STYLE = (
    "QLabel { color: #ffd27f; background: rgba(0, 0, 0, 120); font-weight: bold; "
    "font-size: 14px; padding: 0 2px; }"
)
_MARGIN = 6


def _meta(series, *keys: str) -> str:
    meta = getattr(series, "meta", None) or {}
    for key in keys:
        value = meta.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


def slice_position_text(state: ViewState) -> str:
    """Where the slice lies along its normal, e.g. ``"S 12.5 mm"`` for an axial slice."""
    series, geometry = state.series, state.geometry
    if series is None or geometry is None or not series.volume.spacing_known:
        return ""
    volume = series.volume
    centre_index = geometry.to_index(
        state.slice_index, (geometry.n_rows - 1) / 2, (geometry.n_cols - 1) / 2
    )
    position = volume.index_to_patient(*centre_index)
    axis = {"sagittal": 0, "coronal": 1, "axial": 2}[geometry.plane]
    value = float(position[axis])
    letter = ("LPS" if value >= 0 else "RAI")[axis]
    return f"{letter} {abs(value):.1f} mm"


def corner_texts(state: ViewState) -> dict[str, str]:
    """Text of the four corners for the current state (empty strings when nothing is shown)."""
    series = state.series
    if series is None:
        return dict.fromkeys(CORNERS, "")
    study = state.study
    patient = [
        (study.patient_name if study else "") or _meta(series, "PatientName"),
        (study.patient_id if study else "") or _meta(series, "PatientID"),
        (study.description if study else "") or _meta(series, "StudyDescription"),
        (study.date if study else "") or _meta(series, "StudyDate"),
    ]
    number = f"Se {series.number}" if series.number is not None else ""
    width, level = state.window
    window = "" if series.volume.is_colour else f"W {width:.0f} L {level:.0f} ({state.window_name})"
    extras = [f"zoom x{state.zoom:.2f}"]
    if state.mode not in ("window", "box"):
        extras.append(state.mode.upper())  # RULER, ELLIPSE, ... (box mode has its own label)
    if state.slab is not None:
        extras.append(state.slab.text)
    if state.invert:
        extras.append("inverted")
    if state.cine_playing:
        extras.append(f"cine {state.cine_fps:g} fps")
    return {
        "top_left": "\n".join(p for p in patient if p),
        "top_right": "\n".join(
            p for p in (f"{series.modality} {series.description}".strip(), number,
                        state.plane if series.volume.spacing_known else "") if p
        ),
        "bottom_left": "\n".join(
            p for p in (f"Im {state.slice_index + 1}/{state.n_slices}",
                        slice_position_text(state)) if p
        ),
        "bottom_right": "\n".join(p for p in (window, "  ".join(extras)) if p),
    }


class TextOverlay(QtCore.QObject):
    """Corner text and edge letters laid over a viewport widget."""

    def __init__(self, host: QtWidgets.QWidget) -> None:
        super().__init__(host)
        self._host = host
        self.corners: dict[str, QtWidgets.QLabel] = {}
        self.edges: dict[str, QtWidgets.QLabel] = {}
        for name in CORNERS:
            label = QtWidgets.QLabel(host)
            label.setStyleSheet(_LABEL_STYLE)
            label.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            align = QtCore.Qt.AlignmentFlag
            label.setAlignment(
                (align.AlignLeft if "left" in name else align.AlignRight)
                | (align.AlignTop if "top" in name else align.AlignBottom)
            )
            self.corners[name] = label
        for name in EDGES:
            label = QtWidgets.QLabel(host)
            label.setStyleSheet(_EDGE_STYLE)
            label.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            self.edges[name] = label

    def set_corners(self, texts: dict[str, str], *, visible: bool) -> None:
        changed = False
        for name, label in self.corners.items():
            text = texts.get(name, "")
            show = visible and bool(text)
            if label.text() != text:  # only the slice line changes while scrolling
                label.setText(text)
                changed = True
            if label.isVisibleTo(self._host) != show:
                label.setVisible(show)
                changed = True
        if changed:
            self.relayout()

    def set_edges(self, labels: dict[str, str]) -> None:
        for name, label in self.edges.items():
            label.setText(labels.get(name, ""))
            label.setVisible(bool(labels.get(name)))
        self.relayout()

    def relayout(self) -> None:
        width, height = self._host.width(), self._host.height()
        half = max(40, width // 2 - 2 * _MARGIN)  # a narrow viewport clips, never overlaps
        for name, label in self.corners.items():
            label.adjustSize()
            if label.width() > half:
                label.resize(half, label.height())
            x = _MARGIN if "left" in name else width - label.width() - _MARGIN
            y = _MARGIN if "top" in name else height - label.height() - _MARGIN
            label.move(max(0, x), max(0, y))
        for name, label in self.edges.items():
            label.adjustSize()
            if name in ("top", "bottom"):
                x = (width - label.width()) // 2
                y = _MARGIN if name == "top" else height - label.height() - _MARGIN
            else:
                y = (height - label.height()) // 2
                x = _MARGIN if name == "left" else width - label.width() - _MARGIN
            label.move(max(0, x), max(0, y))


def ruler_endpoints_mm(
    ruler: Ruler, geometry: PlaneGeometry
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Ruler ends in displayed-mm view coordinates of this plane, or None if not on it."""
    if ruler.plane != geometry.plane:
        return None
    row_mm, col_mm = geometry.pixel_spacing_mm
    ends = []
    for index in (ruler.start_index, ruler.end_index):
        _, row_px, col_px = geometry.from_index(*index)
        ends.append(((col_px + 0.5) * col_mm, (row_px + 0.5) * row_mm))
    return ends[0], ends[1]


class RulerItems:
    """A small pool of line + label items in the ViewBox, reused as rulers change."""

    def __init__(self, view_box: pg.ViewBox) -> None:
        self._view_box = view_box
        self._items: list[tuple[pg.PlotCurveItem, pg.TextItem]] = []
        self.texts: list[str] = []  # labels currently shown (for the status bar and tests)

    def _item(self, i: int) -> tuple[pg.PlotCurveItem, pg.TextItem]:
        while len(self._items) <= i:
            line = pg.PlotCurveItem(pen=pg.mkPen("#40ff40", width=2))
            text = pg.TextItem(color="#40ff40", anchor=(0, 1))
            line.setZValue(10)
            text.setZValue(11)
            self._view_box.addItem(line)
            self._view_box.addItem(text)
            self._items.append((line, text))
        return self._items[i]

    def graphics(self) -> list[QtWidgets.QGraphicsItem]:
        """The drawn lines and their texts (an image export can leave them out)."""
        return [item for pair in self._items for item in pair]

    def update(self, state: ViewState) -> None:
        geometry, series = state.geometry, state.series
        self.texts = []
        shown = [] if geometry is None or series is None else [
            r for r in state.rulers if r.plane == geometry.plane
            and r.slice_k == state.slice_index]
        for i, ruler in enumerate(shown):
            if geometry is None or series is None:  # pragma: no cover - shown is empty then
                break
            ends = ruler_endpoints_mm(ruler, geometry)
            if ends is None:
                continue
            (x0, y0), (x1, y1) = ends
            line, text = self._item(i)
            line.setData(np.array([x0, x1]), np.array([y0, y1]))
            label = format_length(*ruler_length(series.volume, ruler.start_index,
                                                ruler.end_index))
            text.setText(label)
            text.setPos(x1, y1)
            line.setVisible(True)
            text.setVisible(True)
            self.texts.append(label)
        for line, text in self._items[len(self.texts):]:
            line.setVisible(False)
            text.setVisible(False)
