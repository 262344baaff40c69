"""Recording one AI answer everywhere it belongs, the same way for the GUI and ``medmo ask``.

:func:`record_answer` takes the frames as handed to the engine and the engine's
:class:`~inference.types.Answer`, and in this order: keeps each sent image in the workspace,
appends the audit record, stores the prompt and the answer as chat messages, and adds the
answer's boxes to the study's findings as model predictions. The engine's boxes are final
(:class:`inference.types.FrameBox`: parsed once, in pixels of each frame given, ``frame`` = index
in that list); each becomes a :class:`viewer.annotations.Annotation` on the
:class:`FrameLocation` of its frame. This is the one place where the engine's box type turns
into the viewer's. Boxes that cannot stand (empty after clipping to the frame) are not stored;
they are returned with a reason so the caller can say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.store.audit import AuditLog
from app.store.workspace import ChatMessage, Workspace
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox

if TYPE_CHECKING:
    from inference.types import Answer


@dataclass(frozen=True)
class Recorded:
    """What :func:`record_answer` stored: the two messages, new finding ids, boxes refused.

    ``box_findings[k]`` is the finding made from ``answer.boxes[k]`` (None when refused), so
    the box markup in the answer text can link to it.
    """

    prompt: ChatMessage
    answer: ChatMessage
    finding_ids: tuple[str, ...]
    refused: tuple[str, ...]
    box_findings: tuple[str | None, ...] = ()


def clip_box(x0: float, y0: float, x1: float, y1: float, *, width: int, height: int
             ) -> PixelBox | None:
    """The box clipped to a ``width`` x ``height`` frame, or None if nothing is left.

    >>> clip_box(-5, 10, 40, 300, width=32, height=64)
    PixelBox(x0=0.0, y0=10.0, x1=32.0, y1=64.0)
    >>> clip_box(40, 10, 50, 20, width=32, height=64) is None
    True
    """
    cx0, cx1 = max(0.0, min(x0, x1)), min(float(width), max(x0, x1))
    cy0, cy1 = max(0.0, min(y0, y1)), min(float(height), max(y0, y1))
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    return PixelBox(cx0, cy0, cx1, cy1)


def _text_offsets(answer: Answer) -> list[int]:
    """Where each frame's text starts in ``answer.text`` (the per-frame texts of a batched
    answer are joined with newlines; a one-text answer starts at 0)."""
    if len(answer.texts) <= 1:
        return [0]
    offsets, at = [], 0
    for text in answer.texts:
        offsets.append(at)
        at += len(text) + 1
    return offsets


def record_answer(
    workspace: Workspace, audit: AuditLog, *, study_uid: str,
    frames: Sequence[FrameLocation], sent: Sequence[np.ndarray], prompt: str, answer: Answer,
    windows: Sequence[tuple[float, float]] = (), task: str = "",
    annotations: AnnotationSet | None = None, weights_path: str | Path | None = None,
    adapter_path: str | Path | None = None,
) -> Recorded:
    """Store one answer. ``sent[k]`` is frame ``k`` exactly as given to the engine.

    ``annotations`` is the study's live set (the GUI's, usually autosaved); without it the set
    is loaded from the workspace, extended and saved back in one transaction.
    """
    if len(sent) != len(frames):
        raise ValueError(f"{len(sent)} sent images for {len(frames)} frames")
    hashes = tuple(workspace.put_image(np.asarray(image)) for image in sent)
    user = ChatMessage(study_uid, "user", prompt, tuple(frames), task=task,
                       sent_images=hashes, windows=tuple(windows))
    adapter = answer.adapter or ""
    reply = ChatMessage(study_uid, "assistant", answer.text, tuple(frames), model_id=answer.model,
                        adapter=adapter, task=task, stopped=answer.cancelled,
                        sent_images=hashes, windows=tuple(windows))
    boxes, refused, kept, spans = [], [], [], []
    offsets = _text_offsets(answer)
    for k, box in enumerate(answer.boxes):
        if not 0 <= box.frame < len(frames):
            refused.append(f"box {box.label!r} names frame {box.frame}, not one of the "
                           f"{len(frames)} sent")
            continue
        height, width = np.asarray(sent[box.frame]).shape[:2]
        pixel = clip_box(box.x0, box.y0, box.x1, box.y1, width=width, height=height)
        if pixel is None:
            refused.append(f"box {box.label!r} lies outside its {width}x{height} frame")
            continue
        kept.append(k)
        offset = offsets[box.frame] if box.frame < len(offsets) else 0
        spans.append((box.span[0] + offset, box.span[1] + offset))
        boxes.append(Annotation(pixel, box.label.strip() or "finding", frames[box.frame],
                                "model", reply.id, answer.model))
    reply = replace(reply, boxes=tuple(boxes), box_spans=tuple(spans))
    entry = audit.record(study_uid=study_uid, model_id=answer.model, prompt=prompt,
                 output_text=answer.text, frames=sent, boxes=boxes, weights_path=weights_path,
                 adapter=adapter, adapter_path=adapter_path, answer_id=reply.id,
                 server=answer.server)
    # the version that answered, with the hashes the audit record names: each review click on
    # these boxes then says which model it judged (training data from clicks needs that)
    reply = replace(reply, model_path=str(weights_path or ""),
                    model_sha256=entry["weights_sha256"], adapter_sha256=entry["adapter_sha256"])
    workspace.add_message(user)
    workspace.add_message(reply)
    if annotations is None:
        annotations = workspace.load_annotations(study_uid)
        ids = annotations.add_predictions(boxes)
        workspace.save_annotations(annotations)
    else:
        ids = annotations.add_predictions(boxes)
    box_findings: list[str | None] = [None] * len(answer.boxes)
    for k, fid in zip(kept, ids, strict=True):
        box_findings[k] = fid
    return Recorded(user, reply, tuple(ids), tuple(refused), tuple(box_findings))
