"""`medmo train-demo-model OUT` runs the staged recipe (issue 24): a run cut by its time budget
stops at a checkpoint and says how to continue, `--resume` finishes every stage, and the model
it writes answers through the engine with a card that states the recipe. Tiny steps: this
checks the machinery, not the model's quality (the card holds that)."""

from __future__ import annotations

import json

from app.cli import main

TINY = ["--train-images", "16", "--heldout", "2", "--vision-steps", "4", "--align-steps", "2",
        "--joint-steps", "3", "--batch-size", "8", "--threads", "1", "--eval-limit", "12",
        "--size", "64", "--vision-batch", "4"]


def _events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_budgeted_run_stops_at_a_checkpoint_and_resume_finishes_it(tmp_path, capsys):
    out = tmp_path / "demo-run"
    assert main(["train-demo-model", str(out), *TINY, "--budget-minutes", "0.001"]) == 0
    stopped = _events(capsys.readouterr().out)[-1]
    assert stopped["event"] == "stopped" and stopped["stage"] == "vision"
    assert "--resume" in stopped["resume"]
    assert (out / "vision" / "checkpoint.pt").exists() and not (out / "model").exists()

    # the same OUT without --resume is refused rather than overwritten
    assert main(["train-demo-model", str(out), *TINY]) == 2
    assert "--resume" in capsys.readouterr().err
    # another recipe in the same OUT is refused too
    assert main(["train-demo-model", str(out), *TINY, "--align-steps", "3", "--resume"]) == 2
    assert "another recipe" in capsys.readouterr().err

    assert main(["train-demo-model", str(out), *TINY, "--resume"]) == 0
    events = _events(capsys.readouterr().out)
    assert events[-1]["event"] == "demo_model"
    stages = {e.get("stage") for e in events}
    assert {"vision", "sft"} <= stages
    summary = json.loads((out / "model" / "DEMO_MODEL.json").read_text())
    assert summary["recipe"]["name"] == "staged"
    assert set(summary["vision_detector"]["recall_by_kind"]) == {
        "solid nodule", "mass", "calcified nodule", "cyst", "pleural effusion"}
    card = (out / "model" / "MODEL_CARD.md").read_text()
    assert "Three stages" in card and "NOT FOR CLINICAL USE" in card
    assert "Training minutes by stage" in card and set(summary["timing"]["stage_minutes"]) == {
        "vision", "align", "joint-large", "joint"}
    assert "invented_per_normal" in summary["heldout"]["tasks"]["localize"]
    # what each stage trained: the tower's blocks are frozen while the language side aligns
    config = json.loads((out / "align" / "config.json").read_text())
    assert config["frozen"] == ["model.visual.patch_embed.", "model.visual.pos_embed.",
                                "model.visual.blocks."]


def test_without_a_joint_stage_the_aligned_model_is_shipped_and_the_card_says_how(tmp_path,
                                                                                   capsys):
    out = tmp_path / "no-joint"
    args = [a if a != "3" else "0" for a in TINY]  # --joint-steps 0
    assert main(["train-demo-model", str(out), *args, "--workers", "2"]) == 0
    events = _events(capsys.readouterr().out)
    assert events[-1]["event"] == "demo_model"
    summary = json.loads((out / "model" / "DEMO_MODEL.json").read_text())
    assert set(summary["timing"]["stage_minutes"]) == {"vision", "align"}
    assert summary["timing"]["stage_devices"]["vision"].startswith("CPU")
    assert summary["command"].startswith("medmo train-demo-model OUT ")
    assert "--joint-steps 0" in summary["command"] and str(out) not in summary["command"]
    card = (out / "model" / "MODEL_CARD.md").read_text()
    assert "No joint stage" in card and "## Reproduce" in card and summary["command"] in card
    assert "medmo eval --model resources/demo-model" in card
    assert not (out / "joint").exists()


def test_the_kept_512px_run_resumes_with_the_makefiles_options():
    """`make train-demo-model` continues the run kept in docs/training-runs/staged-512 across
    sessions; a recipe that drifted from the kept one would be refused ("another recipe")
    and the hours already trained lost to a restart."""
    import re
    from dataclasses import asdict
    from pathlib import Path

    from app.cli import build_parser
    from app.commands.demo_staged import staged_recipe

    root = Path(__file__).resolve().parents[2]
    make = (root / "Makefile").read_text().replace("\\\n", " ")
    flags = re.search(r"^DEMO_FLAGS := (.+)$", make, re.M).group(1).split()  # type: ignore[union-attr]
    keep = re.search(r"^DEMO_KEEP := (\S+)$", make, re.M).group(1)  # type: ignore[union-attr]
    args = build_parser("train-demo-model").parse_args(["train-demo-model", "OUT", *flags])
    kept = json.loads((root / keep / "recipe.json").read_text())
    assert kept == json.loads(json.dumps(
        {"recipe": asdict(staged_recipe(args)), "text_from": args.text_from}))
    assert (root / "resources" / "demo-model" / "config.json").exists()  # --text-from's model
