"""Child process for the kill -9 test: edits a workspace forever, printing each committed count.

Run as ``python -m tests.app.workspace_child WORKSPACE_DIR``. Edit ``i`` is decided by ``i``
alone, so :func:`expected_summary` can rebuild what the store must hold after ``n`` edits.
"""

from __future__ import annotations

import sys

from app.store.workspace import ChatMessage, Workspace
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox
from viewer.report import ReportDraft

STUDY = "1.2.826.0.1.3680043.8.498.1"
FRAME = FrameLocation("1.2.826.0.1.3680043.8.498.2", 3, "1.2.826.0.1.3680043.8.498.3", 0)


def apply_edit(i: int, boxes: AnnotationSet, report: ReportDraft, ws: Workspace | None) -> None:
    """Edit number ``i``: add a box, move the newest box, add a chat message, or edit the text."""
    step = i % 4
    if step == 0:
        boxes.add(Annotation(PixelBox(i % 200, 7, i % 200 + 5, 19), f"b{i}", FRAME))
    elif step == 1:
        newest = list(boxes)[-1]
        boxes.move(newest.id, 1, 2)
    elif step == 2:
        message = ChatMessage(STUDY, "user", f"m{i}", (FRAME,), id=f"m{i}")
        if ws is not None:
            ws.add_message(message)
    else:
        report.set_text(report.text + f" Sentence {i}.")


def summary(boxes: AnnotationSet, messages: list[str], report_text: str) -> tuple:
    return (sorted((f.current.label, f.current.box.x0, f.current.box.y0) for f in boxes),
            messages, report_text)


def expected_summary(n: int) -> tuple:
    boxes = AnnotationSet(STUDY)
    report = ReportDraft(STUDY, "Report.", report_id="r1")
    for i in range(n):
        apply_edit(i, boxes, report, None)
    messages = [f"m{i}" for i in range(n) if i % 4 == 2]
    return summary(boxes, messages, report.text)


def main(directory: str) -> None:
    ws = Workspace(directory)
    boxes = AnnotationSet(STUDY)
    ws.autosave(boxes)
    report = ReportDraft(STUDY, "Report.", report_id="r1")
    ws.autosave_report(report)
    print(0, flush=True)
    i = 0
    while True:
        apply_edit(i, boxes, report, ws)  # returns after its commit
        i += 1
        print(i, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
