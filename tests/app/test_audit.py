"""The audit log: one fsynced line per AI output, never rewritten, free of patient identifiers."""

from __future__ import annotations

import io
import json
import logging
import os

import numpy as np
import pytest

from app.export import gather
from app.export.markdown import export_markdown
from app.store.audit import AuditLog, PhiGuard, WeightsHasher, frame_sha256, read_audit
from app.store.workspace import ChatMessage, Workspace
from tests.app.export_fixtures import (
    BIRTH_DATE,
    LESION_PX,
    LESION_SLICE,
    PATIENT_ID,
    PATIENT_NAME,
    series_from_files,
    write_ct_series,
)
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox
from viewer.windowing import apply_window


@pytest.fixture
def weights(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(os.urandom(4096))
    (folder / "config.json").write_text("{}")
    return folder


def test_records_are_appended_and_never_rewritten(tmp_path, weights):
    log = AuditLog(tmp_path / "audit")
    frame = np.arange(16, dtype=np.uint8).reshape(4, 4)
    first = log.record(study_uid="1.2.3", model_id="tiny", prompt="Describe", output_text="ok",
                       frames=[frame], weights_path=weights)
    before = log.path.read_bytes()
    box = Annotation(PixelBox(1, 1, 3, 3), "nodule", FrameLocation("1.2.3.4", 0), "model")
    log.record(study_uid="1.2.3", model_id="tiny", prompt="Localise", output_text="<box>",
               frames=[frame, frame.T], boxes=[box], adapter="site", adapter_path=weights)
    after = log.path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 2
    records, problems = read_audit(log.path)
    assert problems == [] and records[0] == first
    second = records[1]
    assert second["frame_sha256"] == [frame_sha256(frame), frame_sha256(frame.T)]
    assert second["frame_sha256"][0] != second["frame_sha256"][1]
    assert second["weights_sha256"] == "" and second["adapter_sha256"] == first[
        "weights_sha256"] != ""
    assert second["boxes"] == [{"frame_index": 0, "box_px": [1.0, 1.0, 3.0, 3.0],
                                "label": "nodule"}]


def test_weights_hash_is_cached_by_size_and_mtime(tmp_path, weights):
    cache = tmp_path / "cache.json"
    hasher = WeightsHasher(cache)
    digest = hasher.hash(weights)
    assert hasher.hash(weights) == digest and hasher.files_hashed == 1
    again = WeightsHasher(cache)  # a new session reads the cache file
    assert again.hash(weights) == digest and again.files_hashed == 0
    (weights / "model.safetensors").write_bytes(os.urandom(4096))  # new weights, same size
    assert again.hash(weights) != digest and again.files_hashed == 1
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no weight files"):
        hasher.hash(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="no weights at"):
        hasher.hash(tmp_path / "missing")


def test_a_torn_last_line_is_reported_not_hidden(tmp_path):
    log = AuditLog(tmp_path)
    log.record(study_uid="1", model_id="m", prompt="p", output_text="o", frames=[])
    with open(log.path, "ab") as fh:
        fh.write(b'{"time": "2026-')
    records, problems = read_audit(log.path)
    assert len(records) == 1 and len(problems) == 1 and ":2:" in problems[0]


def test_no_patient_identifier_reaches_the_audit_log_or_logging(tmp_path):
    paths = write_ct_series(tmp_path / "ct")
    study = series_from_files(paths)
    series = study.series[0]
    guard = PhiGuard()
    guard.add_patient(study.patient_name, study.patient_id, BIRTH_DATE)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    guard.install([handler])
    try:
        # what the app does for one question: window the frame, ask, record, store, export
        sent = apply_window(series.volume.array[LESION_SLICE], 400, 40)
        frame = FrameLocation(series.uid, LESION_SLICE,
                              series.frames[LESION_SLICE].sop_instance_uid)
        box = Annotation(PixelBox(*LESION_PX), "nodule", frame, "model", "a1", "tiny")
        log = AuditLog(tmp_path / "audit", guard=guard)
        log.record(study_uid=study.uid, model_id="tiny", frames=[sent], boxes=[box],
                   prompt="Localise abnormalities for Hannelore Quixotewell, "
                          f"ID {PATIENT_ID}",
                   output_text=f"Patient {PATIENT_NAME} born {BIRTH_DATE}: nodule <box>",
                   answer_id="a1")
        logging.getLogger("app.controller").info("opened study of %s (%s)",
                                                 study.patient_name, study.patient_id)
        with Workspace(tmp_path / "ws") as ws:
            boxes = AnnotationSet(study.uid)
            ws.autosave(boxes)
            boxes.add_predictions([box])
            ws.add_message(ChatMessage(study.uid, "assistant", "nodule", (frame,), id="a1"))
            export_markdown(gather(study, ws), tmp_path / "out" / "r.md")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    audit_text = log.path.read_text()
    logged = stream.getvalue()
    assert "opened study of [REDACTED]^[REDACTED] ([REDACTED])" in logged
    for identifier in ("Quixotewell", "Hannelore", PATIENT_ID, BIRTH_DATE, study.uid,
                       series.uid, frame.sop_instance_uid):
        assert identifier.lower() not in audit_text.lower(), identifier
        assert identifier.lower() not in logged.lower(), identifier
    (record,) = [json.loads(line) for line in audit_text.splitlines()]
    assert record["frame_sha256"] == [frame_sha256(sent)]
    assert record["prompt"] == "Localise abnormalities for [REDACTED] [REDACTED], ID [REDACTED]"
