"""Workspace corrections -> training examples; the phantom benchmark dataset."""

from __future__ import annotations

import numpy as np
import pytest

from app.store.workspace import ChatMessage, Workspace
from app.training.data import (
    build_phantom_benchmark,
    phantom_example,
    run_adapt_benchmark,
    workspace_examples,
)
from inference.training.dataset import read_rows, read_split_ids, write_dataset
from inference.training.rewards import box_reward
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox
from viewer.report import ReportDraft

STUDY, SERIES = "1.2.3.4", "1.2.3.4.5"


def _workspace(tmp_path):
    ws = Workspace(tmp_path / "ws")
    rng = np.random.default_rng(0)
    sent = [rng.integers(0, 256, (100, 200), dtype=np.uint8) for _ in range(3)]
    frames = [FrameLocation(SERIES, k, f"1.2.3.4.5.{k}") for k in range(3)]
    hashes = [ws.put_image(image) for image in sent[:2]]  # frame 2's image was never stored
    user = ChatMessage(STUDY, "user", "look at the lungs", frames[:2], task="localize",
                       sent_images=hashes)
    reply = ChatMessage(STUDY, "assistant", "nodule <box>...", frames[:2], model_id="m",
                        task="localize", sent_images=hashes)
    ws.add_message(user)
    ws.add_message(reply)
    ann = AnnotationSet(STUDY)
    moved, deleted, untouched, pending = ann.add_predictions([
        Annotation(PixelBox(10, 10, 30, 20), "nodule", frames[0], "model", reply.id, "m"),
        Annotation(PixelBox(100, 50, 120, 70), "nodule", frames[0], "model", reply.id, "m"),
        Annotation(PixelBox(150, 80, 170, 90), "mass", frames[0], "model", reply.id, "m"),
        Annotation(PixelBox(1, 1, 5, 5), "nodule", frames[1], "model", reply.id, "m"),
    ])
    ann.move(moved, 20, 10)
    ann.delete(deleted)
    ann.add(Annotation(PixelBox(0, 0, 200, 100), "effusion", frames[0]))  # whole frame
    ann.add(Annotation(PixelBox(5, 5, 9, 9), "nodule", frames[2]))
    ws.save_annotations(ann)
    report = ReportDraft(STUDY, "AI text.", model_id="m")
    report.set_text("Radiologist's text.")
    ws.save_report(report)
    return ws, sent


def test_corrected_frames_become_examples(tmp_path):
    ws, sent = _workspace(tmp_path)
    built = workspace_examples(ws)
    assert len(built.examples) == 1  # frame 1: nothing reviewed; frame 2: no stored image
    reasons = sorted(reason for _, reason in built.skipped)
    assert len(reasons) == 2 and "no stored image" in reasons[0]
    assert "names no model answer" in reasons[1]  # the edited draft has no answer behind it
    ex = built.examples[0]
    assert np.array_equal(ex.image, sent[0])  # exactly the image sent
    assert ex.prompt == "look at the lungs"  # the user's text replaced the default instruction
    # moved box at its corrected place, deleted one gone, untouched one kept, added one in
    assert sorted(zip(ex.labels, ex.boxes_norm, strict=True)) == sorted([
        ("nodule", (150.0, 200.0, 250.0, 300.0)),
        ("mass", (750.0, 800.0, 850.0, 900.0)),
        ("effusion", (0.0, 0.0, 1000.0, 1000.0)),
    ])
    assert ex.report == "Radiologist's text."
    assert set(ex.source["corrections"]) == {"added", "deleted", "moved"}
    # the target text is what a perfect model says: it scores the maximum reward
    assert box_reward([ex.answer], boxes=[ex.boxes_norm]) == [1.0]
    # stable ids: rebuilding from the same workspace gives the same ids
    assert workspace_examples(ws).examples[0].id == ex.id
    ws.close()


def test_rebuild_sends_new_cases_to_training_only(tmp_path):
    first = [phantom_example(k, size=64) for k in range(8)]
    write_dataset(tmp_path / "ds", first, validation_fraction=0.25)
    frozen = read_split_ids(tmp_path / "ds")
    report = write_dataset(tmp_path / "ds", first + [phantom_example(k, size=64)
                                                     for k in range(8, 12)])
    assert report.train == 10 and report.validation == 2 and read_split_ids(tmp_path / "ds") == frozen


def test_phantom_benchmark_has_a_frozen_heldout_of_200(tmp_path):
    report = build_phantom_benchmark(tmp_path / "bench", train=20, heldout=200, size=64)
    assert (report.train, report.validation) == (20, 200)
    held = read_rows(tmp_path / "bench", "validation", limit=5)
    train = read_rows(tmp_path / "bench", "train")
    assert not {r["id"] for r in train} & set(read_split_ids(tmp_path / "bench"))
    for row in held:
        assert row["image"].size == (64, 64) and row["labels"] == ["lesion"]
        assert row["answer"].startswith("lesion <box>[[") and row["answer"].endswith("]]</box>")
        x0, y0, x1, y1 = row["boxes"][0]
        assert 0 <= x0 < x1 <= 1000 and 0 <= y0 < y1 <= 1000
    with pytest.raises(ValueError, match="heldout"):
        build_phantom_benchmark(tmp_path / "x", train=1, heldout=0)


def test_bench_adapt_never_reuses_another_benchmarks_data(tmp_path):
    """A work folder holding lung phantoms must not silently serve a body-lesion run."""
    build_phantom_benchmark(tmp_path / "out" / "data", train=4, heldout=2, size=64)
    with pytest.raises(ValueError, match="another benchmark"):
        run_adapt_benchmark(tmp_path / "out", train=4, heldout=2, size=64, where="body")
    with pytest.raises(ValueError, match="another benchmark"):
        run_adapt_benchmark(tmp_path / "out", train=8, heldout=2, size=64)
    with pytest.raises(ValueError, match="another benchmark"):
        run_adapt_benchmark(tmp_path / "out", train=4, heldout=2, size=64, seed=1)


def test_dataset_command(tmp_path, capsys):
    import json

    from app.cli import main

    ws, _ = _workspace(tmp_path)
    # one corrected frame cannot be split into training and validation: said, nothing written
    assert main(["dataset", "build", str(tmp_path / "ws"), str(tmp_path / "out")]) == 2
    assert "validation split would be empty" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    ann = ws.load_annotations(STUDY)
    ann.accept(next(f.id for f in ann if f.shown.frame.frame_index == 1))
    ws.save_annotations(ann)
    ws.close()
    assert main(["dataset", "build", str(tmp_path / "ws"), str(tmp_path / "out")]) == 0
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert (summary["train"], summary["validation"], summary["skipped"]) == (1, 1, 2)
    assert summary["tasks"] == {"localize": 1}
    assert "no stored image" in out.err and "names no model answer" in out.err
    assert main(["dataset", "build", str(tmp_path / "nothing"), str(tmp_path / "o2")]) == 2
    assert "holds no workspace" in capsys.readouterr().err
    assert main(["dataset", "phantom", str(tmp_path / "ph"), "--train", "3", "--heldout", "2",
                 "--size", "64"]) == 0
    assert json.loads(capsys.readouterr().out)["validation"] == 2


def test_a_workspace_dataset_trains(tmp_path, tiny_model):
    """End to end: corrections -> dataset -> one real LoRA SFT step on a tiny model."""
    import io

    from app.cli import main
    from inference.training.config import TrainConfig
    from inference.training.run import run_training

    ws, _ = _workspace(tmp_path)
    ann = ws.load_annotations(STUDY)
    ann.accept(next(f.id for f in ann if f.shown.frame.frame_index == 1))
    ws.save_annotations(ann)
    ws.close()
    assert main(["dataset", "build", str(tmp_path / "ws"), str(tmp_path / "ds")]) == 0
    config = TrainConfig(model=str(tiny_model), dataset=str(tmp_path / "ds"),
                         output_dir=str(tmp_path / "run"), steps=1, batch_size=1, lora_rank=4,
                         lora_alpha=8, device="cpu")
    stream = io.StringIO()
    assert run_training(config, stream=stream) == 0, stream.getvalue()[-1500:]
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").exists()


def test_report_edits_and_answered_questions_become_rows_of_their_tasks(tmp_path):
    """Issue 15, deliverable 6: an edited AI draft is a report row (target: the edited text),
    an answer the radiologist corrected or confirmed a row of its question's task; both go
    through `medmo dataset build` beside box corrections, and what cannot be used says why."""
    from app.cli import main
    from inference.training.dataset import read_rows

    ws = Workspace(tmp_path / "ws")
    image = np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8)
    digest = ws.put_image(image)
    frame = FrameLocation(SERIES, 7, "1.2.3.4.5.7")

    def exchange(text, task, answer):
        ws.add_message(ChatMessage(STUDY, "user", text, (frame,), task=task,
                                   sent_images=(digest,)))
        reply = ChatMessage(STUDY, "assistant", answer, (frame,), model_id="m", task=task,
                            sent_images=(digest,))
        ws.add_message(reply)
        return reply

    drafted = exchange("", "report", "Findings: Cyst, 20 mm, right upper zone.")
    report = ReportDraft(STUDY, drafted.text, model_id="m", answer_id=drafted.id)
    report.set_text("Findings: Cyst, 24 mm, right upper zone, anterior.\nImpression: Cyst.")
    ws.save_report(report)
    untouched = exchange("", "report", "Findings: No focal abnormality.")
    ws.save_report(ReportDraft(STUDY, untouched.text, model_id="m", answer_id=untouched.id))
    asked = exchange("How many lesions are there?", "vqa", "2 findings.")
    ws.review_answer(STUDY, asked.id, "1 finding.")  # corrected
    boxed = exchange("", "localize", "cyst <box>[[1, 2, 3, 4]]</box>")
    ws.review_answer(STUDY, boxed.id, "cyst <box>[[1, 2, 3, 4]]</box>")

    built = workspace_examples(ws)
    by_task = {ex.task: ex for ex in built.examples}
    assert set(by_task) == {"report", "vqa"}  # the untouched draft teaches nothing
    rep = by_task["report"]
    assert rep.answer == report.text and np.array_equal(rep.image, image)
    assert rep.prompt.startswith("Generate a detailed radiology report")  # quick action text
    assert rep.source["kind"] == "report_edit" and rep.boxes_norm == ()
    vqa = by_task["vqa"]
    assert (vqa.prompt, vqa.answer) == ("How many lesions are there?", "1 finding.")
    assert [reason for _, reason in built.skipped] == [
        "a box answer: its box corrections are its training rows"]

    out = tmp_path / "ds"
    ws.close()
    assert main(["dataset", "build", str(tmp_path / "ws"), str(out)]) == 0
    rows = read_rows(out, "train") + read_rows(out, "validation")
    assert sorted(r["task"] for r in rows) == ["report", "vqa"]
    assert {r["answer"] for r in rows} == {report.text, "1 finding."}
    # the Fine-tuning tab says what the dataset teaches
    from app.qt.panels.training_state import dataset_summary

    (train_row,) = read_rows(out, "train")
    text, _ = dataset_summary(out)
    assert f"training rows by task: 1 {train_row['task']}" in text
