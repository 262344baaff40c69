"""The slice view as a picture to share: PNG or JPEG of what is on screen.

By default the picture keeps the boxes and the rulers, carries an "AI DRAFT" label, and shows
no patient text: the corner that names the patient (name, ID, study description and date) is
left out unless the user asks for it. The other corners (modality, slice, window) stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.qt.box_overlay import BoxOverlay
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


def grab_viewport(view: SliceView, overlay: BoxOverlay | None,
                  options: SnapshotOptions = SnapshotOptions()) -> QtGui.QImage:
    """Render the slice view as it is, with the parts ``options`` leaves out hidden for the
    moment of the grab (and shown again after)."""
    hidden: list[QtWidgets.QGraphicsItem | QtWidgets.QWidget] = []

    def hide(item: QtWidgets.QGraphicsItem | QtWidgets.QWidget) -> None:
        if item.isVisible():
            item.setVisible(False)
            hidden.append(item)

    if not options.patient_text:
        hide(view.overlay.corners[PATIENT_CORNER])
    if not options.boxes and overlay is not None:
        for item in overlay.items.values():
            hide(item.outline)
    if not options.measurements:
        for graphic in view.rulers.graphics():
            hide(graphic)
    try:
        image = view.canvas.grab().toImage()
    finally:
        for shown in hidden:
            shown.setVisible(True)
    if options.draft_label:
        _label(image, DRAFT_LABEL)
    return image


def _label(image: QtGui.QImage, text: str) -> None:
    painter = QtGui.QPainter(image)
    try:
        font = painter.font()
        font.setBold(True)
        font.setPointSizeF(max(9.0, image.height() / 45))
        painter.setFont(font)
        metrics = QtGui.QFontMetrics(font)
        box = QtCore.QRect(0, 0, metrics.horizontalAdvance(text) + 16, metrics.height() + 8)
        # below the top edge letter (A, P, ...), which stays readable
        box.moveCenter(QtCore.QPoint(image.width() // 2, box.height() // 2 + 30))
        painter.fillRect(box, QtGui.QColor(176, 0, 32))
        painter.setPen(QtGui.QColor("white"))
        painter.drawText(box, QtCore.Qt.AlignmentFlag.AlignCenter, text)
    finally:
        painter.end()


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
