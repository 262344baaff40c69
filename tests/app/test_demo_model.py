"""The bundled demo model (resources/demo-model, trained on synthetic phantoms by
`medmo train-demo-model`) is what `medmo ask` uses with no --model, and on the demo study its
boxes land on the lesions of ground_truth.json: what a new user sees after `make demo`."""

from __future__ import annotations

import json

from app.cli import main
from inference.models import DEMO_MODEL_DIR, default_model
from viewer.demo import write_demo_study


def _iou(a: tuple, b: tuple) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_demo_model_is_bundled_and_labelled_not_for_clinical_use():
    assert default_model() == str(DEMO_MODEL_DIR)
    card = (DEMO_MODEL_DIR / "MODEL_CARD.md").read_text()
    assert "NOT FOR CLINICAL USE" in card and "synthetic" in card
    recipe = json.loads((DEMO_MODEL_DIR / "DEMO_MODEL.json").read_text())
    assert recipe["not_for_clinical_use"] is True


def test_ask_without_model_localises_the_demo_lesions(tmp_path, capsys):
    study = write_demo_study(tmp_path / "demo")  # the same study `make demo` opens
    truth = json.loads((study / "ground_truth.json").read_text())
    by_slice: dict[int, list[tuple]] = {}
    for t in truth:
        by_slice.setdefault(t["slice"], []).append((t["x0"], t["y0"], t["x1"], t["y1"]))
    # slices whose largest lesion is at least 40 px across, four of them spread over the range
    big = sorted(k for k, boxes in by_slice.items()
                 if max(b[2] - b[0] for b in boxes) >= 40)
    chosen = [big[i * (len(big) - 1) // 3] for i in range(4)]
    args = ["ask", str(study), "--task", "localize", "--prompt", "", "--json"]
    for k in chosen:
        args += ["--slice", str(k)]

    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "bundled demo model" in err and "NOT for clinical use" in err
    answer = json.loads(out)
    assert answer["model"] and answer["boxes"]
    best = {k: max((_iou((b["x0"], b["y0"], b["x1"], b["y1"]), t) for b in answer["boxes"]
                    if b["slice"] == k for t in by_slice[k]), default=0.0) for k in chosen}
    hits = [k for k, value in best.items() if value >= 0.5]
    assert len(hits) >= 3, f"best IoU per lesion slice: {best}"
