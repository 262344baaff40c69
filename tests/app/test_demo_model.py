"""The bundled demo model (resources/demo-model, trained on the demo world's phantoms by
`medmo train-demo-model`) is what `medmo ask` uses with no --model, and on the demo study it
answers every task in its format, its boxes on the findings of ground_truth.json: what a new
user sees after `make demo`."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from inference import answer_formats as af
from inference.boxes import parse_boxes
from inference.models import DEMO_MODEL_DIR, default_model
from inference.training.rewards import iou, match
from tests.app.helpers import written_demo_study


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The study `make demo` opens (written by the same command), and its truth by slice."""
    return written_demo_study(tmp_path_factory.mktemp("demo"))


def _ask(capsys, study, slices, task, prompt):
    args = ["ask", str(study), "--task", task, "--prompt", prompt, "--json"]
    for k in slices:
        args += ["--slice", str(k)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "bundled demo model" in err and "NOT for clinical use" in err
    return json.loads(out)


def test_demo_model_is_bundled_and_labelled_not_for_clinical_use():
    assert default_model() == str(DEMO_MODEL_DIR)
    card = (DEMO_MODEL_DIR / "MODEL_CARD.md").read_text()
    assert "NOT FOR CLINICAL USE" in card and "synthetic" in card
    recipe = json.loads((DEMO_MODEL_DIR / "DEMO_MODEL.json").read_text())
    assert recipe["not_for_clinical_use"] is True
    assert set(recipe["heldout"]["tasks"]) >= {"localize", "ground", "report", "vqa", "classify"}
    assert recipe["timing"]["total_minutes"] > 0


def test_ask_without_model_localises_findings_of_the_demo_slices(demo, capsys):
    """MedMO's README prompt on busy demo slices gives boxes of the known kinds that hit real
    findings. The issue's floor (F1@0.5 >= 0.8 on the held-out set) is NOT met by the shipped
    model (0.176 held-out, about 0.33 on these slices; the previous model and a random one:
    0.0): this guards the whole path (prompt, model, parse, pixels), not the floor."""
    study, by_slice = demo
    # slices with two to four findings, spread over the study (every zone)
    busy = sorted(k for k, found in by_slice.items() if len(found) >= 2)
    chosen = [busy[i * (len(busy) - 1) // 5] for i in range(6)]
    answer = _ask(capsys, study, chosen, "localize",
                  "Detect and localize all abnormalities in this image.")  # MedMO's README
    hits = n_pred = n_true = 0
    for k in chosen:
        pred = [b for b in answer["boxes"] if b["slice"] == k]
        true = by_slice[k]
        n_pred, n_true = n_pred + len(pred), n_true + len(true)
        scores = [[iou((p["x0"], p["y0"], p["x1"], p["y1"]),
                       (t["x0"], t["y0"], t["x1"], t["y1"])) for t in true] for p in pred]
        hits += sum(scores[r][c] >= 0.5 for r, c in match(scores)) if pred else 0
        assert {p["label"] for p in pred} <= set(af.KINDS)
    f1 = 2 * hits / (n_pred + n_true)
    assert f1 >= 0.25, f"F1@0.5 {f1:.2f} over slices {chosen}: {answer['text']}"


def test_every_task_answers_in_its_format_on_the_demo_study(demo, capsys):
    study, by_slice = demo
    k = max(by_slice, key=lambda s: (len(by_slice[s]), -s))  # a slice with the most findings
    report = _ask(capsys, study, [k], "report", "")["text"]
    parsed = af.parse_report(report)
    assert parsed.well_formed and parsed.findings, report
    assert parse_boxes(report).boxes  # its finding sentences carry their boxes
    describe = _ask(capsys, study, [k], "vqa",
                    "Describe this image: modality, anatomy and any abnormal findings.")["text"]
    assert describe.startswith("Axial chest CT, ") and " zone, " in describe, describe
    count = _ask(capsys, study, [k], "vqa", "How many lesions are there?")["text"]
    assert af.normalise_answer(count).endswith("findings"), count
    grounded = _ask(capsys, study, [k], "ground", by_slice[k][0]["kind"])
    assert grounded["boxes"] and grounded["boxes"][0]["label"] == by_slice[k][0]["kind"]
    label = _ask(capsys, study, [k], "classify", ", ".join(af.CLASS_LABELS))["text"]
    assert af.normalise_answer(label) in af.CLASS_LABELS, label
    # Not asserted: that normal slices get no box. The shipped model boxes something on 18 of
    # the demo study's 29 normal slices (its held-out scores are on the model card).
