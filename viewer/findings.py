"""The open study's findings as one part of the reading session: its annotation set and which
finding is selected (evented, no Qt).

The box overlay and the findings panel both take a :class:`StudyFindings` in ``__init__`` and
listen: when another study opens, :meth:`StudyFindings.set_annotations` swaps the set and both
follow; a click on a box or on a row goes through :attr:`StudyFindings.selection`, so each
highlights what the other selected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psygnal import Signal

from viewer.annotations import AnnotationSet, Finding
from viewer.finding_selection import FindingSelection

if TYPE_CHECKING:
    from viewer.viewstate import ViewState


class StudyFindings:
    """The findings shown now (``annotations``, None before a study opens) and the selection.

    Events: ``annotations_changed(AnnotationSet | None)`` when another study's set takes its
    place (the selection is cleared first).

    >>> from viewer.annotations import AnnotationSet
    >>> part = StudyFindings()
    >>> seen = []
    >>> _ = part.annotations_changed.connect(lambda a: seen.append(a.study_uid))
    >>> part.set_annotations(AnnotationSet("1.2.3")); part.set_annotations(part.annotations)
    >>> seen
    ['1.2.3']
    """

    annotations_changed = Signal(object)

    def __init__(self, selection: FindingSelection | None = None) -> None:
        self.selection = selection if selection is not None else FindingSelection()
        self._annotations: AnnotationSet | None = None

    @classmethod
    def showing(cls, annotations: AnnotationSet) -> StudyFindings:
        """A part that shows ``annotations`` already (scripts, tests)."""
        part = cls()
        part.set_annotations(annotations)
        return part

    @property
    def annotations(self) -> AnnotationSet | None:
        return self._annotations

    def set_annotations(self, annotations: AnnotationSet | None) -> None:
        """Show another study's findings (None: no study open)."""
        if annotations is self._annotations:
            return
        self.selection.select(None)
        self._annotations = annotations
        self.annotations_changed.emit(annotations)

    @property
    def selected(self) -> Finding | None:
        """The selected finding, when it (still) exists."""
        fid = self.selection.selected
        if fid is None or self._annotations is None:
            return None
        return self._annotations.get(fid)


def go_to_finding(findings: StudyFindings, state: ViewState, finding_id: str) -> bool:
    """Show a finding's series and frame in its acquired plane and select its box (a click on
    its row, or on a report sentence linked to it). False when there is no such finding."""
    annotations = findings.annotations
    finding = annotations.get(finding_id) if annotations is not None else None
    if finding is None:
        return False
    frame = finding.shown.frame
    state.show_frame(frame.series_uid, frame.frame_index)
    findings.selection.select(finding_id)
    return True
