"""The open study's 3D findings as one part of the reading session (evented, no Qt).

:class:`VolumeFindings` follows the session's :class:`~viewer.findings.StudyFindings`: whenever a
box is added, edited or removed it re-joins the study's boxes, series by series, into
:class:`FindingGroup` objects (:func:`group_findings`, built on
:func:`viewer.findings3d.cluster_boxes`) and emits ``changed``. Deleted boxes stay in their group
(so a deleted finding can be seen and undone); measurements use the live boxes.

Review happens on the group: :meth:`VolumeFindings.go_to` shows the largest slice and selects
its box, :meth:`VolumeFindings.show_in` shows a reformat through the finding's centre (the
extent outline is drawn there), and accept/delete/relabel act on every box of the group as ONE
undoable step. A move or resize of one box stays that slice's own correction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from psygnal import Signal

from viewer.annotations import CORRECTION_KINDS, AnnotationSet, Finding
from viewer.findings import StudyFindings, go_to_finding
from viewer.findings3d import Finding3D, JoinRule, SliceBox, cluster_boxes, measure
from viewer.reformat import native_plane
from viewer.viewstate import ViewState
from viewer.volume import Volume


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """One 3D finding of the study: ``finding`` is measured on its live boxes (on all of them
    once every box is deleted); ``ids`` are all its boxes' finding ids, deleted ones included.
    ``kinds`` counts the boxes' correction kinds (``"pending"`` for unreviewed ones)."""

    finding: Finding3D
    ids: tuple[str, ...]
    live_ids: tuple[str, ...]
    kinds: tuple[tuple[str, int], ...]
    from_model: bool

    @property
    def deleted(self) -> bool:
        return not self.live_ids

    @property
    def status(self) -> str:
        """``"pending"``, one kind for all boxes, or counts: ``"5 accepted, 1 moved"``.

        >>> from viewer.annotations import PixelBox
        >>> from viewer.findings3d import measure
        >>> f = measure("1.2", [SliceBox("a", 0, PixelBox(0, 0, 4, 4), "nodule")])
        >>> FindingGroup(f, ("a",), ("a",), (("accepted", 5), ("moved", 1)), True).status
        '5 accepted, 1 moved'
        """
        if len(self.kinds) == 1:
            return self.kinds[0][0]
        return ", ".join(f"{n} {kind}" for kind, n in self.kinds)

    @property
    def largest_id(self) -> str:
        return self.finding.largest.key


def _kinds(findings: Iterable[Finding]) -> tuple[tuple[str, int], ...]:
    order = ("pending", *CORRECTION_KINDS)
    counts = Counter(kind for f in findings for kind in (f.corrections or ("pending",)))
    return tuple((k, counts[k]) for k in order if counts[k])


def group_findings(findings: Iterable[Finding], volume_of: Callable[[str], Volume | None],
                   rule: JoinRule | None = None) -> list[FindingGroup]:
    """Every box of a study joined into 3D findings, per series (see module docstring)."""
    rule = rule or JoinRule()
    by_series: dict[str, list[Finding]] = {}
    for f in findings:
        by_series.setdefault(f.shown.frame.series_uid, []).append(f)
    groups = []
    for series_uid in sorted(by_series):
        members = {f.id: f for f in by_series[series_uid]}
        volume = volume_of(series_uid)
        boxes = [SliceBox(f.id, f.shown.frame.frame_index, f.shown.box, f.shown.label)
                 for f in members.values()]
        for cluster in cluster_boxes(boxes, volume, rule):
            live = [m for m in cluster if not members[m.key].deleted]
            finding = measure(series_uid, live or cluster, volume, generic=rule.generic_labels)
            ids = tuple(m.key for m in cluster)
            groups.append(FindingGroup(
                finding, ids, tuple(m.key for m in live), _kinds(members[k] for k in ids),
                any(members[k].prediction is not None for k in ids)))
    return groups


class VolumeFindings:
    """The open study's 3D findings and the one under review (:attr:`current`).

    Events: ``changed()`` when the groups may differ (a box changed, another study or series
    came on screen); ``current_changed(FindingGroup | None)``.
    """

    changed = Signal()
    current_changed = Signal(object)

    def __init__(self, findings: StudyFindings, view: ViewState,
                 rule: JoinRule | None = None) -> None:
        self.findings = findings
        self.view = view
        self.rule = rule or JoinRule()
        self._annotations: AnnotationSet | None = None
        self._groups: list[FindingGroup] | None = None
        self._anchor: str | None = None  # a box of the group under review
        findings.annotations_changed.connect(self._attach)
        findings.selection.selected_changed.connect(self._on_selected)
        view.series_changed.connect(self._invalidate)
        self._attach(findings.annotations)

    def set_view(self, view: ViewState) -> None:
        """Review the findings in ``view`` from now on (the active viewport)."""
        self.view.series_changed.disconnect(self._invalidate)
        self.view = view
        view.series_changed.connect(self._invalidate)
        self._invalidate()

    # ------------------------------------------------------------------ reading
    @property
    def groups(self) -> list[FindingGroup]:
        """The study's 3D findings, series by series, in slice order (joined on demand)."""
        if self._groups is None:
            annotations = self._annotations
            self._groups = (group_findings(annotations, self._volume_of, self.rule)
                            if annotations is not None else [])
        return self._groups

    def group_of(self, finding_id: str | None) -> FindingGroup | None:
        """The group holding box ``finding_id`` (None when there is none)."""
        if finding_id is None:
            return None
        return next((g for g in self.groups if finding_id in g.ids), None)

    @property
    def current(self) -> FindingGroup | None:
        """The group under review: chosen in the list, or holding the selected box."""
        return self.group_of(self._anchor)

    def number_of(self, group: FindingGroup) -> int:
        """1-based number of a group in the list."""
        return self.groups.index(group) + 1

    # ------------------------------------------------------------------ reviewing
    def go_to(self, group: FindingGroup) -> bool:
        """Review ``group``: its series in the acquired plane at its largest slice, with that
        slice's box selected."""
        self._set_anchor(group.largest_id)
        return go_to_finding(self.findings, self.view, group.largest_id)

    def show_in(self, group: FindingGroup, plane: str) -> bool:
        """Show ``group`` in ``plane`` (a reformat, or the acquired plane) on the slice through
        its centre; False when the series cannot show that plane."""
        self._set_anchor(group.largest_id)
        finding = group.finding
        if not self.view.show_frame(finding.series_uid, finding.largest.frame_index):
            return False
        series = self.view.series
        if series is None or plane not in self.view.planes:
            return False
        if plane == native_plane(series.volume):
            return True
        self.view.set_plane(plane)
        geometry = self.view.geometry
        if geometry is None:  # pragma: no cover - set just above
            return False
        box = finding.bounds
        centre = ((box.x0 + box.x1) / 2 - 0.5, (box.y0 + box.y1) / 2 - 0.5,
                  (finding.first_frame + finding.last_frame) / 2)
        self.view.slice_index = round(geometry.from_index(*centre)[0])
        return True

    def accept(self, group: FindingGroup) -> None:
        """Accept every AI box of the group as it is (one undo step)."""
        self._edit().accept_all(group.live_ids)

    def delete(self, group: FindingGroup) -> None:
        """Delete every box of the group (one undo step)."""
        if self.findings.selection.selected in group.ids:
            self.findings.selection.select(None)
        self._edit().delete_all(group.live_ids)

    def relabel(self, group: FindingGroup, label: str) -> None:
        """Give every box of the group ``label`` (one undo step)."""
        self._edit().relabel_all(group.live_ids, label.strip())

    # ------------------------------------------------------------------ internals
    def _edit(self) -> AnnotationSet:
        if self._annotations is None:
            raise ValueError("no study open")
        return self._annotations

    def _volume_of(self, series_uid: str) -> Volume | None:
        view = self.view
        candidates = (view.series,) + (view.study.series if view.study is not None else ())
        series = next((s for s in candidates if s is not None and s.uid == series_uid), None)
        return series.volume if series is not None else None

    def _attach(self, annotations: AnnotationSet | None) -> None:
        if self._annotations is not None:
            self._annotations.finding_changed.disconnect(self._invalidate, missing_ok=True)
        self._annotations = annotations
        if annotations is not None:
            annotations.finding_changed.connect(self._invalidate)
        self._anchor = None
        self._invalidate()
        self.current_changed.emit(None)

    def _invalidate(self, *_args: object) -> None:
        self._groups = None
        self.changed.emit()

    def _on_selected(self, finding_id: str | None) -> None:
        if finding_id is not None and finding_id != self._anchor:
            self._set_anchor(finding_id)

    def _set_anchor(self, finding_id: str) -> None:
        before = self.current
        self._anchor = finding_id
        after = self.current
        if after is not before:
            self.current_changed.emit(after)
