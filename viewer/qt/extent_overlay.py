"""ExtentOverlay: the 3D finding under review outlined on coronal and sagittal reformats.

Use
---
::

    ExtentOverlay(slice_view, session.findings3d, session.view)   # draws and listens at once

On a reformat the finding's boxes (drawn by :class:`~viewer.qt.box_overlay.BoxOverlay`) are
one-frame-thick strips; this draws the whole block they span (the boxes' in-plane bounds x the
finding's slices, :func:`viewer.boxes.mapping.stack_on_plane`) as one dash-dotted outline with
its number, label and slice range, wherever the displayed slice cuts it. Nothing is drawn in
the acquired plane, where the boxes themselves are the finding. Read-only.
"""

from __future__ import annotations

from PySide6 import QtCore

from viewer.boxes.mapping import DisplayRect, is_native, stack_on_plane
from viewer.qt.box_items import BoxItem
from viewer.qt.listening import Subscriptions
from viewer.viewstate import ViewState
from viewer.volume_findings import VolumeFindings


class ExtentOverlay(QtCore.QObject):
    """Outline of ``part.current`` over a :class:`~viewer.qt.slice_view.SliceView`."""

    def __init__(self, slice_view, part: VolumeFindings, state: ViewState) -> None:
        super().__init__(slice_view)
        self.view = slice_view
        self.part = part
        self.state = state
        self.item = BoxItem(slice_view.view_box)
        self._subscriptions = Subscriptions([
            (part.current_changed, self.sync), (part.changed, self.sync),
            (state.series_changed, self.sync), (state.plane_changed, self.sync),
            (state.slice_changed, self.sync),
        ])
        slice_view.destroyed.connect(self.disconnect_model)
        self.sync()

    def displayed_rect(self) -> DisplayRect | None:
        """Where the outline is drawn now (display mm), None when hidden."""
        return self.item.rect if self.item.visible else None

    def sync(self, *_args: object) -> None:
        group, series, geometry = self.part.current, self.state.series, self.state.geometry
        rect = None
        if group is not None and series is not None and geometry is not None and \
                group.finding.series_uid == series.uid and not is_native(geometry):
            finding = group.finding
            rect = stack_on_plane(finding.bounds, finding.first_frame, finding.last_frame,
                                  geometry, self.state.slice_index)
        if rect is None or group is None:
            self.item.hide()
            return
        finding = group.finding
        text = f"3D #{self.part.number_of(group)} {finding.label}\nslices {finding.slice_text()}"
        self.item.show(rect, style="extent", text=text, tip=finding.size_text(), selected=False)

    def disconnect_model(self, *_args: object) -> None:
        self._subscriptions.drop()
