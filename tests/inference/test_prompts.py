"""Task prompt templates: every bundled task renders, sites override by file name, and text the
user types replaces a default instruction instead of being appended to it (issue 15: MedMO's
own README prompt reached the demo model twice and it answered debris)."""

from __future__ import annotations

import pytest

from inference.engine import TASK_FIELD
from inference.paraphrases import GROUND_QUERIES, HELDOUT, LABEL_LISTS, TRAIN, check_disjoint
from inference.prompts import TASKS, load_template, render_prompt, task_instruction

DEFAULTS = {task: task_instruction(task, "") for task in ("localize", "report")}
README_PROMPTS = ("Detect and localize all abnormalities in this image.",
                  "Generate a detailed radiology report for this CT scan.",
                  "What abnormalities are present in this chest X-ray?")


@pytest.mark.parametrize("task", TASKS)
def test_every_bundled_template_renders_with_and_without_text(task):
    with_text = task_instruction(task, "VALUE-123")
    assert "$" not in with_text and with_text.count("VALUE-123") == 1
    if task in ("vqa", "summarize", "ground", "classify"):
        assert render_prompt(task, **{TASK_FIELD[task]: "VALUE-123"}).count("VALUE-123") == 1


def test_localisation_prompts_ask_for_medmo_box_format():
    assert "<box>[[x1, y1, x2, y2]]</box>" in task_instruction("localize", "")
    ground = task_instruction("ground", "pleural effusion")
    assert ground.startswith("Locate the pleural effusion") and "<box>[[x1, y1, x2, y2]]" in ground


@pytest.mark.parametrize("prompt", README_PROMPTS)
def test_medmo_readme_prompts_reach_the_model_once_and_alone(prompt):
    task = "report" if "report" in prompt else "vqa" if prompt.startswith("What") else "localize"
    assert task_instruction(task, prompt) == prompt


def _user_texts():
    for table in (TRAIN, HELDOUT):
        for kind, items in table.items():
            task = kind if kind in TASKS else "vqa"
            for item in items:
                if task == "ground":
                    for query in GROUND_QUERIES:
                        q = query.format(side="left", kind="mass")
                        yield task, item.format(query=q) if item else q
                elif task == "classify":
                    yield from ((task, item or labels) for labels in LABEL_LISTS)
                else:
                    yield task, item.format(side="right", zone="upper", kind="cyst")


def test_no_phrasing_is_ever_doubled_or_appended_to_a_default():
    checked = 0
    for task, text in _user_texts():
        prompt = task_instruction(task, text)
        if not text:
            assert prompt == task_instruction(task, "")
            continue
        assert prompt.count(text) == 1, (task, text, prompt)
        for default in DEFAULTS.values():
            assert default not in prompt or text == default, (task, text, prompt)
        if task == "ground" and text.endswith(("?", ".")):
            assert prompt == text  # a whole request is not put inside "Locate the ..."
        checked += 1
    assert checked > 150


def test_held_out_phrasings_are_never_trained_on():
    assert check_disjoint() == []
    assert set(HELDOUT) == set(TRAIN)


def test_site_folder_overrides_bundled(tmp_path, monkeypatch):
    (tmp_path / "vqa.txt").write_text("SITE RULES. $question", encoding="utf-8")
    assert task_instruction("vqa", "Q", search=[tmp_path]) == "SITE RULES. Q"
    monkeypatch.setenv("MEDMO_PROMPTS_DIR", str(tmp_path))
    assert render_prompt("vqa", question="Q") == "SITE RULES. Q"
    assert "Classify" in render_prompt("classify", labels="a, b")  # not overridden: bundled
    # a site localize template without a placeholder is a default the user's text replaces
    (tmp_path / "localize.txt").write_text("Find lesions, site style.", encoding="utf-8")
    assert task_instruction("localize", "", search=[tmp_path]) == "Find lesions, site style."
    assert task_instruction("localize", "Box the mass.", search=[tmp_path]) == "Box the mass."


def test_unknown_task_and_missing_value_are_clear(tmp_path):
    with pytest.raises(ValueError, match="unknown task"):
        load_template("poetry")
    with pytest.raises(ValueError, match="unknown task"):
        task_instruction("poetry", "x")
    with pytest.raises(ValueError, match="finding"):
        render_prompt("ground")
