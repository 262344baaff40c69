"""Evaluation: metric definitions on known answers, and a real batched run on the tiny model."""

from __future__ import annotations

import json

import pytest

from inference.evaluate import evaluate, score_answers
from inference.training.dataset import read_rows
from inference.training.rewards import box_reward, format_reward, label_reward


def test_the_reference_answers_score_perfectly(phantom_dataset):
    rows = read_rows(phantom_dataset, "validation")
    texts = [row["answer"] for row in rows]
    metrics = score_answers(texts, rows)
    assert metrics["n"] == len(rows) == 8
    for key in ("mean_iou", "f1_at_0_5", "precision", "recall", "label_accuracy",
                "format_valid_rate", "size_ratio_median"):
        assert metrics[key] == pytest.approx(1.0), key
    # and through the GRPO rewards, the same reference scores the maximum
    boxes, labels = [r["boxes"] for r in rows], [r["labels"] for r in rows]
    assert box_reward(texts, boxes=boxes) == [1.0] * 8
    assert label_reward(texts, labels=labels) == [1.0] * 8
    assert format_reward(texts) == [1.0] * 8


def test_metrics_on_known_mistakes():
    rows = [{"boxes": [[0, 0, 100, 100]], "labels": ["a"]},
            {"boxes": [[0, 0, 100, 100], [500, 500, 600, 600]], "labels": ["a", "b"]}]
    texts = ["a <box>[[0, 0, 100, 200]]</box>",            # IoU 0.5, hit
             "c <box>[[500, 500, 600, 600]]</box> junk <box>[[1, 2"]  # 1 of 2, wrong label
    m = score_answers(texts, rows)
    assert m["mean_iou"] == pytest.approx((0.5 + 0.5) / 2)
    assert (m["precision"], m["recall"]) == (1.0, pytest.approx(2 / 3))
    assert m["label_accuracy"] == 0.5 and m["format_valid_rate"] == 0.5
    grown = score_answers(["a <box>[[0, 0, 200, 200]]</box>"], rows[:1])
    assert grown["size_ratio_median"] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="2 answers for 1 rows"):
        score_answers(texts, rows[:1])


def test_eval_runs_batched_through_the_engine(format_model, phantom_dataset, capsys):
    from app.cli import main

    assert main(["eval", "--model", str(format_model), "--dataset", str(phantom_dataset),
                 "--batch-size", "4", "--max-new-tokens", "32", "--threads", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 8 and result["split"] == "validation" and result["prompt_mismatch"] == 0
    for key in ("mean_iou", "f1_at_0_5", "format_valid_rate"):
        assert 0.0 <= result[key] <= 1.0
    # the format-trained model writes parsable boxes on most images
    assert result["format_valid_rate"] >= 0.5 and result["predicted_boxes"] >= 4
    # batching does not change greedy answers: batch 1 gives the same metrics
    one = evaluate(str(format_model), str(phantom_dataset), batch_size=1, max_new_tokens=32)
    assert one["mean_iou"] == pytest.approx(result["mean_iou"], abs=1e-9)


def test_eval_refuses_what_it_cannot_use(phantom_dataset, tmp_path, capsys):
    from app.cli import main

    assert main(["eval", "--model", str(tmp_path / "none"), "--dataset",
                 str(phantom_dataset), "--json"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["eval", "--model", "x", "--dataset", str(tmp_path), "--json"]) == 2
    assert "not a MedMO dataset" in capsys.readouterr().err


def test_eval_with_an_adapter_uses_it(tiny_model, lora_adapter_dirs, phantom_dataset):
    base = evaluate(str(tiny_model), str(phantom_dataset), limit=2, max_new_tokens=8,
                    device="cpu")
    adapted = evaluate(str(tiny_model), str(phantom_dataset), adapter=str(lora_adapter_dirs[0]),
                       limit=2, max_new_tokens=8, device="cpu")
    assert base["adapter"] is None and adapted["adapter"] == str(lora_adapter_dirs[0])
    assert adapted["n"] == base["n"] == 2
