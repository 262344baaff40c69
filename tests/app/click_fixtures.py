"""A workspace reviewed box by box through the app's own store code (record_answer, autosave,
AnnotationSet edits), shared by the click and corrections-dataset tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.store.audit import AuditLog
from app.store.recording import record_answer
from app.store.workspace import Workspace
from inference.boxes import norm_to_pixel, parse_boxes
from inference.types import Answer
from viewer.annotations import Annotation, FrameLocation, PixelBox

STUDY = "1.2.826.0.1.3680043.8.498.1"
SERIES = "1.2.826.0.1.3680043.8.498.2"
TEXTS = ("mass <box>[[100, 100, 300, 300]]</box> cyst <box>[[500, 500, 600, 600]]</box> "
         "cyst <box>[[700, 100, 800, 200]]</box> mass <box>[[100, 700, 200, 800]]</box> "
         "cyst <box>[[400, 100, 450, 150]]</box>",
         "mass <box>[[200, 200, 400, 400]]</box> cyst <box>[[600, 600, 700, 700]]</box>")


def reviewed_workspace(directory: Path, weights: Path) -> dict[str, str]:
    """Record one two-frame answer (five boxes on frame 0, two on frame 1) and review it:
    frame 0 accept / move / resize / relabel / delete one box each and add a missed one;
    frame 1 delete both (a normal slice). Returns label-of-prediction -> finding id."""
    frames = [FrameLocation(SERIES, k, f"1.2.3.{k}") for k in (4, 5)]
    sent = [np.full((100, 100), 40 + 20 * k, np.uint8) for k in range(2)]
    boxes = [norm_to_pixel(b, width=100, height=100, frame=k)
             for k, text in enumerate(TEXTS) for b in parse_boxes(text).boxes]
    answer = Answer(text="\n".join(TEXTS), texts=TEXTS, boxes=tuple(boxes), model="demo")
    weights.mkdir(parents=True, exist_ok=True)
    (weights / "model.safetensors").write_bytes(b"weights v1")
    with Workspace(directory) as ws:
        annotations = ws.load_annotations(STUDY)
        stop = ws.autosave(annotations)
        done = record_answer(ws, AuditLog(directory / "audit"), study_uid=STUDY, frames=frames,
                             sent=sent, prompt="Find the lesions.", answer=answer,
                             task="localize", annotations=annotations, weights_path=weights)
        ids = done.finding_ids
        annotations.accept(ids[0])
        annotations.move(ids[1], 3, 2)
        annotations.resize(ids[2], PixelBox(70, 10, 85, 22))
        annotations.relabel(ids[3], "solid nodule")
        annotations.delete(ids[4])
        annotations.delete(ids[5])
        annotations.delete(ids[6])
        annotations.add(Annotation(PixelBox(60, 60, 80, 90), "mass", frames[0]))
        stop()
    return {"accepted": ids[0], "moved": ids[1], "resized": ids[2], "relabelled": ids[3],
            "deleted": ids[4], "normal_a": ids[5], "normal_b": ids[6]}
