"""What a box says: its style kind, caption and tooltip (pure functions, no Qt).

Styles
------
``"ai"``           a model prediction not yet reviewed: dashed amber, tagged ``AI``.
``"ai_accepted"``  a prediction the radiologist accepted unchanged: solid amber, ``AI ✓``.
``"user"``         the radiologist's own box or a corrected prediction: solid cyan.
``"deleted"``      a deleted prediction, drawn only as a faint dotted ghost on request.
"""

from __future__ import annotations

from viewer.annotations import BoxSize, Finding

STYLE_KINDS = ("ai", "ai_accepted", "user", "deleted")


def style_kind(finding: Finding) -> str:
    """Which of :data:`STYLE_KINDS` a finding is drawn with.

    >>> from viewer.annotations import Annotation, FrameLocation, PixelBox
    >>> ann = Annotation(PixelBox(0, 0, 4, 4), "nodule", FrameLocation("1.2", 0), "model")
    >>> style_kind(Finding("f", ann, ann))
    'ai'
    >>> style_kind(Finding("f", ann, ann, reviewed=True))
    'ai_accepted'
    >>> style_kind(Finding("f", ann, ann.__class__(PixelBox(1, 0, 5, 4), "nodule",
    ...                                            ann.frame, "user"), reviewed=True))
    'user'
    >>> style_kind(Finding("f", ann, None, reviewed=True))
    'deleted'
    """
    if finding.current is None:
        return "deleted"
    if finding.prediction is None:
        return "user"
    kinds = finding.corrections
    if kinds == ():
        return "ai"
    return "ai_accepted" if kinds == ("accepted",) else "user"


def origin_text(finding: Finding) -> str:
    """``"AI"`` for a box the model proposed (even if corrected since), else ``"radiologist"``."""
    return "AI" if finding.prediction is not None else "radiologist"


def caption(finding: Finding, size: BoxSize) -> str:
    """Two lines drawn beside the box: tag, label (and the correction), then the size.

    >>> from viewer.annotations import Annotation, FrameLocation, PixelBox
    >>> ann = Annotation(PixelBox(0, 0, 4, 4), "nodule", FrameLocation("1.2", 0), "model")
    >>> caption(Finding("f", ann, ann), BoxSize(12.04, 8.0, "mm"))
    'AI  nodule\\n12.0 x 8.0 mm'
    >>> caption(Finding("f", ann, ann, reviewed=True), BoxSize(3, 4, "px"))
    'AI ✓  nodule\\n3.0 x 4.0 px'
    >>> caption(Finding("f", None, ann.__class__(ann.box, "cyst", ann.frame)), BoxSize(1, 1, "mm"))
    'cyst\\n1.0 x 1.0 mm'
    >>> moved = ann.__class__(PixelBox(2, 0, 6, 4), "nodule", ann.frame, "user")
    >>> caption(Finding("f", ann, moved, reviewed=True), BoxSize(1, 1, "mm"))
    'nodule  [moved]\\n1.0 x 1.0 mm'
    """
    style = style_kind(finding)
    tag = {"ai": "AI  ", "ai_accepted": "AI ✓  ", "deleted": "deleted AI  "}.get(style, "")
    corrected = f"  [{finding.kind}]" if style == "user" and finding.prediction else ""
    return f"{tag}{finding.shown.label}{corrected}\n{size}"


def tooltip(finding: Finding, size: BoxSize) -> str:
    """Where the box came from and what happened to it (shown on hover).

    >>> from viewer.annotations import Annotation, FrameLocation, PixelBox
    >>> ann = Annotation(PixelBox(0, 0, 4, 4), "nodule", FrameLocation("1.2", 3), "model",
    ...                  answer_id="a17", model_id="MBZUAI/MedMO-4B")
    >>> print(tooltip(Finding("f", ann, ann), BoxSize(2, 2, "mm")))
    nodule (2.0 x 2.0 mm), image 4
    AI prediction from answer a17 by MBZUAI/MedMO-4B
    status: pending
    """
    shown = finding.shown
    lines = [f"{shown.label} ({size}), image {shown.frame.frame_index + 1}"]
    pred = finding.prediction
    if pred is not None:
        source = "AI prediction"
        if pred.answer_id:
            source += f" from answer {pred.answer_id}"
        if pred.model_id:
            source += f" by {pred.model_id}"
        lines.append(source)
        if pred.label != shown.label:
            lines.append(f"model label: {pred.label}")
    else:
        lines.append("drawn by the radiologist")
    lines.append(f"status: {finding.kind}")
    return "\n".join(lines)
