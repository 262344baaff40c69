"""The bundled demo model's card states what `medmo eval` measures: re-scoring it on the frozen
held-out split (built by `medmo dataset demo`, the same 150 slices and held-out phrasings) with
the card's settings gives the card's figures. Greedy decoding is deterministic, so the
tolerance (0.01 absolute) only absorbs float differences between machines."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from inference.models import DEMO_MODEL_DIR

TOLERANCE = 0.01
PINNED = (("localize", "f1_at_0_5"), ("localize", "recall"), ("localize", "normal_correct"),
          ("ground", "mean_iou"), ("vqa", "accuracy"), ("report", "f1"),
          ("report", "normal_correct"), ("classify", "accuracy"))


@pytest.fixture(scope="module")
def heldout(tmp_path_factory):
    """The card's held-out split, drawn at the slice size the card was scored at."""
    size = json.loads((DEMO_MODEL_DIR / "DEMO_MODEL.json").read_text())["image_size"]
    out = tmp_path_factory.mktemp("demo-heldout") / "data"
    assert main(["dataset", "demo", str(out), "--train", "1", "--heldout", "150",
                 "--size", str(size)]) == 0
    return out


def test_the_card_figures_are_what_medmo_eval_measures(heldout, tmp_path, capsys):
    card = json.loads((DEMO_MODEL_DIR / "DEMO_MODEL.json").read_text())["heldout"]
    capsys.readouterr()
    assert main(["eval", "--model", str(DEMO_MODEL_DIR), "--dataset", str(heldout),
                 "--batch-size", "16", "--max-new-tokens", "256", "--threads", "1", "--json",
                 "--answers", str(tmp_path / "answers.json")]) == 0
    measured = json.loads(capsys.readouterr().out)["tasks"]
    for task, key in PINNED:
        want, got = card["tasks"][task][key], measured[task][key]
        assert got == pytest.approx(want, abs=TOLERANCE), f"{task}.{key}: card {want}, eval {got}"
    kinds = card["tasks"]["localize"]["recall_by_kind"]
    assert measured["localize"]["recall_by_kind"] == kinds
