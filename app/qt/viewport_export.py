"""The slice view, or the whole layout of viewports, as a picture to share: PNG or JPEG of
what is on screen.

By default the picture keeps the boxes and the measurements (ROIs, angles, axes, rulers),
carries an "AI DRAFT" band above the image, and shows no patient text: the corner that names
the patient (name, ID, study description and date) is left out of every viewport unless the
user asks for it. The other corners (modality, slice, window) stay.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.qt.box_overlay import BoxOverlay
from viewer.qt.measure_overlay import MeasureOverlay
from viewer.qt.slice_view import SliceView

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
DRAFT_LABEL = "AI DRAFT - model output, not a signed report"
PATIENT_CORNER = "top_left"


@dataclass(frozen=True, slots=True)
class SnapshotOptions:
    """What the picture shows besides the image."""

    boxes: bool = True
    measurements: bool = True
    draft_label: bool = True
    patient_text: bool = False


class Pane(NamedTuple):
    """One viewport and the overlays drawn over it."""

    view: SliceView
    boxes: BoxOverlay | None = None
    measures: MeasureOverlay | None = None


def grab_viewport(view: SliceView, overlay: BoxOverlay | None,
                  options: SnapshotOptions = SnapshotOptions(), *,
                  measures: MeasureOverlay | None = None) -> QtGui.QImage:
    """Render the slice view as it is, with the parts ``options`` leaves out hidden for the
    moment of the grab (and shown again after)."""
    with _leaving_out([Pane(view, overlay, measures)], options):
        image = view.canvas.grab().toImage()
    return _with_banner(image, DRAFT_LABEL) if options.draft_label else image


def grab_layout(grid: QtWidgets.QWidget, panes: Sequence[Pane],
                options: SnapshotOptions = SnapshotOptions()) -> QtGui.QImage:
    """Render the whole layout as on screen (every viewport shown, e.g. the prior beside the
    current study), each with what ``options`` leaves out hidden; one AI DRAFT band."""
    with _leaving_out(panes, options):
        image = grid.grab().toImage()
    return _with_banner(image, DRAFT_LABEL) if options.draft_label else image


@contextmanager
def _leaving_out(panes: Sequence[Pane], options: SnapshotOptions) -> Iterator[None]:
    hidden: list[QtWidgets.QGraphicsItem | QtWidgets.QWidget] = []

    def hide(item: QtWidgets.QGraphicsItem | QtWidgets.QWidget) -> None:
        if item.isVisible():
            item.setVisible(False)
            hidden.append(item)

    for view, boxes, measures in panes:
        if not options.patient_text:
            hide(view.overlay.corners[PATIENT_CORNER])
        if not options.boxes and boxes is not None:
            for item in boxes.items.values():
                hide(item.outline)
        if not options.measurements:
            for graphic in view.rulers.graphics():
                hide(graphic)
            if measures is not None:
                for shape in [*measures.items.values(), measures.preview]:
                    hide(shape.outline)
    try:
        yield
    finally:
        for shown in hidden:
            shown.setVisible(True)


def _with_banner(image: QtGui.QImage, text: str) -> QtGui.QImage:
    """``image`` under a red band that carries ``text``: the label covers nothing of the
    picture (no corner text, no viewport), and its font shrinks until it fits the width."""
    font = QtGui.QFont()
    font.setBold(True)
    size = min(18.0, max(9.0, image.width() / 40))
    font.setPointSizeF(size)
    while QtGui.QFontMetrics(font).horizontalAdvance(text) > image.width() - 16 and size > 5:
        size -= 0.5
        font.setPointSizeF(size)
    band = QtGui.QFontMetrics(font).height() + 10
    out = QtGui.QImage(image.width(), image.height() + band, QtGui.QImage.Format.Format_RGB32)
    out.fill(QtGui.QColor(176, 0, 32))
    painter = QtGui.QPainter(out)
    try:
        painter.drawImage(0, band, image)
        painter.setFont(font)
        painter.setPen(QtGui.QColor("white"))
        painter.drawText(QtCore.QRect(0, 0, image.width(), band),
                         QtCore.Qt.AlignmentFlag.AlignCenter, text)
    finally:
        painter.end()
    return out


def save_image(image: QtGui.QImage, path: str | Path) -> Path:
    """Write ``image`` as PNG or JPEG (chosen by the suffix); ValueError or OSError says why
    not."""
    target = Path(path)
    kind = FORMATS.get(target.suffix.lower())
    if kind is None:
        raise ValueError(f"save the view as .png or .jpg, not {target.suffix or 'no suffix'}")
    target.parent.mkdir(parents=True, exist_ok=True)
    writer = QtGui.QImageWriter(str(target), kind.encode())
    if kind == "JPEG":
        writer.setQuality(92)
    if not writer.write(image):
        raise OSError(f"could not write {target}: {writer.errorString()}")
    return target
