"""Boxes on frames: the model's predictions and the radiologist's corrections, with undo/redo.

Coordinates
-----------
A :class:`PixelBox` is in continuous *pixel* coordinates of one frame, the DICOM image
convention (PS3.3 C.18.6.1.1): ``(0, 0)`` is the top-left corner of the top-left pixel,
``(columns, rows)`` the bottom-right corner of the bottom-right pixel; ``x`` runs along
columns, ``y`` along rows. The same numbers therefore go unchanged into an SR ``SCOORD``.
Converting the model's normalised 0..1000 boxes into pixels is the engine wiring's job.

Model
-----
An :class:`AnnotationSet` (one per study) holds :class:`Finding` objects. A finding pairs the
model's ``prediction`` (immutable once made; ``None`` for a box the radiologist added) with the
radiologist's ``current`` box (``None`` once deleted). The correction kinds are *derived* by
comparing the two, so a move followed by a resize is recorded as ``("moved", "resized")`` and a
box moved back where the model put it counts as accepted. Every edit is a command object on
an undo stack; a new edit clears the redo stack. An action on a whole 3D finding
(:meth:`AnnotationSet.accept_all`, ``delete_all``, ``relabel_all``) edits each of its boxes and
is ONE undo step; each box keeps its own correction kind (what training reads, per slice). Undo history lives for the session only;
the findings themselves are what the workspace persists (``to_dict``/``from_dict``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from psygnal import Signal

from viewer.edit_order import Stamps

if TYPE_CHECKING:
    from viewer.volume import Volume

Origin = Literal["model", "user"]
CORRECTION_KINDS = ("accepted", "moved", "resized", "deleted", "added", "relabelled")
SCHEMA_VERSION = 1
_EPS_PX = 1e-6


@dataclass(frozen=True, slots=True)
class PixelBox:
    """An axis-aligned box in pixel coordinates of one frame (``x0 < x1``, ``y0 < y1``).

    >>> PixelBox(10, 20, 30, 60).size_px
    (20.0, 40.0)
    >>> PixelBox(5, 5, 1, 9)
    Traceback (most recent call last):
    ...
    ValueError: box needs x0 < x1 and y0 < y1, got (5.0, 5.0, 1.0, 9.0)
    """

    x0: float
    y0: float
    x1: float
    y1: float

    def __post_init__(self) -> None:
        values = tuple(float(v) for v in (self.x0, self.y0, self.x1, self.y1))
        if any(v != v or v in (float("inf"), float("-inf")) for v in values):
            raise ValueError(f"box coordinates must be finite, got {values}")
        if not (values[0] < values[2] and values[1] < values[3]):
            raise ValueError(f"box needs x0 < x1 and y0 < y1, got {values}")
        for name, value in zip(("x0", "y0", "x1", "y1"), values, strict=True):
            object.__setattr__(self, name, value)

    @property
    def size_px(self) -> tuple[float, float]:
        """``(width, height)`` in pixels."""
        return (self.x1 - self.x0, self.y1 - self.y0)

    @property
    def centre_px(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def moved(self, dx_px: float, dy_px: float) -> PixelBox:
        """The same box shifted by ``(dx, dy)`` pixels.

        >>> PixelBox(0, 0, 4, 2).moved(1, 3)
        PixelBox(x0=1.0, y0=3.0, x1=5.0, y1=5.0)
        """
        return PixelBox(self.x0 + dx_px, self.y0 + dy_px, self.x1 + dx_px, self.y1 + dy_px)

    def closed_polyline_px(self) -> list[tuple[float, float]]:
        """The five ``(x, y)`` points of the closed outline (first point repeated), clockwise.

        >>> PixelBox(1, 2, 3, 4).closed_polyline_px()
        [(1.0, 2.0), (3.0, 2.0), (3.0, 4.0), (1.0, 4.0), (1.0, 2.0)]
        """
        return [(self.x0, self.y0), (self.x1, self.y0), (self.x1, self.y1),
                (self.x0, self.y1), (self.x0, self.y0)]

    def _close_to(self, other: PixelBox) -> bool:
        return all(abs(a - b) <= _EPS_PX for a, b in zip(_tuple(self), _tuple(other), strict=True))


def _tuple(box: PixelBox) -> tuple[float, float, float, float]:
    return (box.x0, box.y0, box.x1, box.y1)


@dataclass(frozen=True, slots=True)
class FrameLocation:
    """Which frame a box is on: the sorted-series index and the source instance it came from.

    ``instance_frame`` is 0-based inside a multi-frame instance (as in ``FrameRef.frame``);
    DICOM's ReferencedFrameNumber is this plus one.
    """

    series_uid: str
    frame_index: int
    sop_instance_uid: str = ""
    instance_frame: int = 0

    def __post_init__(self) -> None:
        if not self.series_uid:
            raise ValueError("a frame location needs a series UID")
        if int(self.frame_index) < 0 or int(self.instance_frame) < 0:
            raise ValueError(f"frame indices must be >= 0, got {self}")


@dataclass(frozen=True, slots=True)
class Annotation:
    """One labelled box on one frame, made by the model or by the user."""

    box: PixelBox
    label: str
    frame: FrameLocation
    origin: Origin = "user"
    answer_id: str = ""  # which answer produced it (origin "model")
    model_id: str = ""

    def __post_init__(self) -> None:
        if self.origin not in ("model", "user"):
            raise ValueError(f"origin must be 'model' or 'user', got {self.origin!r}")
        if not self.label.strip():
            raise ValueError("a box needs a non-empty label")

    def to_dict(self) -> dict[str, Any]:
        return {"box_px": list(_tuple(self.box)), "label": self.label,
                "series_uid": self.frame.series_uid, "frame_index": self.frame.frame_index,
                "sop_instance_uid": self.frame.sop_instance_uid,
                "instance_frame": self.frame.instance_frame, "origin": self.origin,
                "answer_id": self.answer_id, "model_id": self.model_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Annotation:
        try:
            return cls(PixelBox(*data["box_px"]), str(data["label"]),
                       FrameLocation(str(data["series_uid"]), int(data["frame_index"]),
                                     str(data.get("sop_instance_uid", "")),
                                     int(data.get("instance_frame", 0))),
                       data.get("origin", "user"), str(data.get("answer_id", "")),
                       str(data.get("model_id", "")))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an annotation record: {exc!r}") from exc


@dataclass(frozen=True, slots=True)
class Finding:
    """A prediction and its correction side by side. ``reviewed`` is set by any user edit."""

    id: str
    prediction: Annotation | None
    current: Annotation | None
    reviewed: bool = False

    @property
    def deleted(self) -> bool:
        return self.current is None

    @property
    def shown(self) -> Annotation:
        """What the view draws: the current box, or the prediction for a deleted one."""
        box = self.current or self.prediction
        if box is None:  # never stored: a set drops empty findings
            raise ValueError(f"finding {self.id} has no box")
        return box

    @property
    def corrections(self) -> tuple[str, ...]:
        """Correction kinds in :data:`CORRECTION_KINDS` order; ``()`` while unreviewed."""
        pred, cur = self.prediction, self.current
        if pred is None:
            return ("added",)
        if cur is None:
            return ("deleted",)
        if not self.reviewed:
            return ()
        kinds = []
        w0, h0 = pred.box.size_px
        w1, h1 = cur.box.size_px
        c0, c1 = pred.box.centre_px, cur.box.centre_px
        if any(abs(a - b) > _EPS_PX for a, b in zip(c0, c1, strict=True)) or \
                cur.frame != pred.frame:
            kinds.append("moved")
        if abs(w0 - w1) > _EPS_PX or abs(h0 - h1) > _EPS_PX:
            kinds.append("resized")
        if cur.label != pred.label:
            kinds.append("relabelled")
        return tuple(kinds) or ("accepted",)

    @property
    def kind(self) -> str:
        """``"pending"``, one kind, or kinds joined by ``+`` (e.g. ``"moved+resized"``)."""
        return "+".join(self.corrections) or "pending"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "reviewed": self.reviewed, "kind": self.kind,
                "prediction": self.prediction.to_dict() if self.prediction else None,
                "current": self.current.to_dict() if self.current else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        pred, cur = data.get("prediction"), data.get("current")
        if pred is None and cur is None:
            raise ValueError(f"finding {data.get('id')!r} has neither prediction nor box")
        return cls(str(data["id"]), Annotation.from_dict(pred) if pred else None,
                   Annotation.from_dict(cur) if cur else None, bool(data.get("reviewed")))


@dataclass(frozen=True, slots=True)
class Edit:
    """One undoable command: finding ``finding_id`` goes from ``before`` to ``after``.

    ``None`` means the finding is absent (before an add, after removing an added box).
    """

    name: str
    finding_id: str
    before: Finding | None
    after: Finding | None


@dataclass(frozen=True, slots=True)
class BoxSize:
    """A box's extent: millimetres when the series is calibrated, pixels otherwise."""

    width: float
    height: float
    unit: Literal["mm", "px"]

    def __str__(self) -> str:
        return f"{self.width:.1f} x {self.height:.1f} {self.unit}"


def measure_box(box: PixelBox, volume: Volume | None, frame_index: int = 0) -> BoxSize:
    """Width (along rows of pixels, i.e. the column direction) and height of ``box``.

    Uses the volume's affine, so anisotropic and oblique pixels are measured right;
    without a calibrated volume the size is in pixels.

    >>> import numpy as np
    >>> from viewer.volume import Volume
    >>> v = Volume(np.zeros((1, 8, 8)), np.diag([0.5, 0.8, 3.0, 1.0]))
    >>> str(measure_box(PixelBox(0, 0, 4, 5), v))
    '2.0 x 4.0 mm'
    >>> str(measure_box(PixelBox(0, 0, 4, 5), Volume(np.zeros((1, 8, 8)), spacing_known=False)))
    '4.0 x 5.0 px'
    """
    width_px, height_px = box.size_px
    if volume is None or not volume.spacing_known:
        return BoxSize(width_px, height_px, "px")
    # DICOM pixel (0,0) corner is index -0.5; offsets cancel in differences.
    y = box.y0 - 0.5
    x = box.x0 - 0.5
    origin = volume.index_to_patient(x, y, frame_index)
    along_x = volume.index_to_patient(box.x1 - 0.5, y, frame_index) - origin
    along_y = volume.index_to_patient(x, box.y1 - 0.5, frame_index) - origin
    return BoxSize(float((along_x @ along_x) ** 0.5), float((along_y @ along_y) ** 0.5), "mm")


@dataclass(eq=False)
class AnnotationSet:
    """All findings of one study, with undoable edits. Emits events; holds no Qt.

    Events: ``finding_changed(finding_id)`` after any change to one finding (look it up with
    :meth:`get`; ``None`` means it is gone) and ``history_changed(can_undo, can_redo)``.
    """

    study_uid: str
    _findings: dict[str, Finding] = field(default_factory=dict)
    _undo: list[tuple[Edit, ...]] = field(default_factory=list)  # one entry per step
    _redo: list[tuple[Edit, ...]] = field(default_factory=list)
    stamps: Stamps = field(default_factory=Stamps, init=False)  # the undo order, edit_order

    finding_changed = Signal(str)
    history_changed = Signal(bool, bool)

    def __post_init__(self) -> None:
        if not self.study_uid:
            raise ValueError("an annotation set needs the StudyInstanceUID")

    # ----------------------------------------------------------------- reading
    def __iter__(self) -> Iterator[Finding]:
        return iter(list(self._findings.values()))

    def __len__(self) -> int:
        return len(self._findings)

    def get(self, finding_id: str) -> Finding | None:
        return self._findings.get(finding_id)

    def __getitem__(self, finding_id: str) -> Finding:
        try:
            return self._findings[finding_id]
        except KeyError:
            raise KeyError(f"no finding {finding_id!r} in study annotations") from None

    def on_frame(self, series_uid: str, frame_index: int) -> list[Finding]:
        """Findings drawn on one frame (deleted ones included: the view may show them faded)."""
        return [f for f in self if f.shown.frame.series_uid == series_uid
                and f.shown.frame.frame_index == frame_index]

    def final(self) -> list[Annotation]:
        """The boxes that stand: corrections win over predictions; deleted boxes are left out."""
        return [f.current for f in self if f.current is not None]

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # -------------------------------------------------------------- model output
    def add_predictions(self, annotations: list[Annotation]) -> list[str]:
        """Record the model's boxes (not an undoable user edit). Returns the new finding ids."""
        ids = []
        for ann in annotations:
            if ann.origin != "model":
                raise ValueError("add_predictions takes model boxes; use add() for user boxes")
            fid = _new_id()
            self._findings[fid] = Finding(fid, ann, ann)
            ids.append(fid)
            self.finding_changed.emit(fid)
        return ids

    # -------------------------------------------------------------- user edits
    def accept(self, finding_id: str) -> None:
        f = self._live(finding_id, "accept")
        self._apply(Edit("accept", finding_id, f, replace(f, reviewed=True)))

    def move(self, finding_id: str, dx_px: float, dy_px: float) -> None:
        f = self._live(finding_id, "move")
        box = f.current.box.moved(dx_px, dy_px)  # type: ignore[union-attr]
        self._set_box(f, box, "move")

    def resize(self, finding_id: str, box: PixelBox) -> None:
        """Give the box new corners (a drag of any handle; may also move its centre)."""
        self._set_box(self._live(finding_id, "resize"), box, "resize")

    def relabel(self, finding_id: str, label: str) -> None:
        f = self._live(finding_id, "relabel")
        cur = replace(f.current, label=label, origin="user")  # type: ignore[type-var]
        self._apply(Edit("relabel", finding_id, f, replace(f, current=cur, reviewed=True)))

    def delete(self, finding_id: str) -> None:
        f = self._live(finding_id, "delete")
        after = None if f.prediction is None else replace(f, current=None, reviewed=True)
        self._apply(Edit("delete", finding_id, f, after))

    def add(self, annotation: Annotation) -> str:
        """Add the radiologist's own box; returns its finding id."""
        if annotation.origin != "user":
            annotation = replace(annotation, origin="user", answer_id="", model_id="")
        fid = _new_id()
        self._apply(Edit("add", fid, None, Finding(fid, None, annotation, reviewed=True)))
        return fid

    # ------------------------------------------------ edits of several findings at once
    def accept_all(self, finding_ids: Iterable[str]) -> None:
        """Accept every live predicted box of ``finding_ids`` (a 3D finding): ONE undo step."""
        self._apply_step([Edit("accept", f.id, f, replace(f, reviewed=True))
                          for f in self._group(finding_ids) if f.prediction is not None])

    def delete_all(self, finding_ids: Iterable[str]) -> None:
        """Delete every live box of ``finding_ids``: ONE undo step."""
        self._apply_step([Edit("delete", f.id, f, None if f.prediction is None
                               else replace(f, current=None, reviewed=True))
                          for f in self._group(finding_ids)])

    def relabel_all(self, finding_ids: Iterable[str], label: str) -> None:
        """Give every live box of ``finding_ids`` a new label: ONE undo step."""
        if not label.strip():
            raise ValueError("a box needs a non-empty label")
        self._apply_step([
            Edit("relabel", f.id, f, replace(f, current=replace(
                f.current, label=label, origin="user"), reviewed=True))
            for f in self._group(finding_ids) if f.current is not None
            and f.current.label != label])

    def undo(self) -> Edit:
        """Undo the last step (one edit, or all edits of a group action); returns its first
        edit, so a view can go to the box it touched."""
        if not self._undo:
            raise IndexError("nothing to undo")
        step = self._undo.pop()
        self._redo.append(step)
        self.stamps.undone()
        for edit in reversed(step):
            self._put(edit.finding_id, edit.before)
        self._history()
        return step[0]

    def redo(self) -> Edit:
        if not self._redo:
            raise IndexError("nothing to redo")
        step = self._redo.pop()
        self._undo.append(step)
        self.stamps.redone()
        for edit in step:
            self._put(edit.finding_id, edit.after)
        self._history()
        return step[0]

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "study_uid": self.study_uid,
                "findings": [f.to_dict() for f in self]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnnotationSet:
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"unknown annotation schema {data.get('schema')!r}")
        out = cls(str(data["study_uid"]))
        for item in data.get("findings", []):
            f = Finding.from_dict(item)
            out._findings[f.id] = f
        return out

    def load_finding(self, finding: Finding) -> None:
        """Put a stored finding in place without touching the undo history."""
        self._findings[finding.id] = finding
        self.finding_changed.emit(finding.id)

    # --------------------------------------------------------------- internals
    def _live(self, finding_id: str, action: str) -> Finding:
        f = self[finding_id]
        if f.current is None:
            raise ValueError(f"cannot {action} a deleted box (undo the delete first)")
        return f

    def _set_box(self, f: Finding, box: PixelBox, name: str) -> None:
        cur = replace(f.current, box=box, origin="user")  # type: ignore[type-var]
        self._apply(Edit(name, f.id, f, replace(f, current=cur, reviewed=True)))

    def _apply(self, edit: Edit) -> None:
        self._apply_step([edit])

    def _apply_step(self, edits: list[Edit]) -> None:
        if not edits:
            return
        self._undo.append(tuple(edits))
        self._redo.clear()
        self.stamps.made()
        for edit in edits:
            self._put(edit.finding_id, edit.after)
        self._history()

    def _group(self, finding_ids: Iterable[str]) -> list[Finding]:
        """The live findings among ``finding_ids`` (unknown ids are a KeyError)."""
        found = [self[fid] for fid in dict.fromkeys(finding_ids)]
        return [f for f in found if f.current is not None]

    def _put(self, finding_id: str, finding: Finding | None) -> None:
        if finding is None:
            self._findings.pop(finding_id, None)
        else:
            self._findings[finding_id] = finding
        self.finding_changed.emit(finding_id)

    def _history(self) -> None:
        self.history_changed.emit(self.can_undo, self.can_redo)


def _new_id() -> str:
    return uuid.uuid4().hex[:16]
