"""Task prompt templates: every bundled task renders, sites override by file name."""

from __future__ import annotations

import pytest

from inference.engine import TASK_FIELD
from inference.prompts import TASKS, load_template, render_prompt


@pytest.mark.parametrize("task", TASKS)
def test_every_bundled_template_renders(task):
    text = render_prompt(task, **{TASK_FIELD[task]: "VALUE-123"})
    assert text and "$" not in text
    if task != "report":  # the report instruction stands alone when the question is empty
        assert "VALUE-123" in text


def test_localisation_prompts_ask_for_medmo_box_format():
    assert "<box>[[x1, y1, x2, y2]]</box>" in render_prompt("localize", question="")
    assert "pleural effusion <box>" in render_prompt("ground", finding="pleural effusion")


def test_site_folder_overrides_bundled(tmp_path, monkeypatch):
    (tmp_path / "vqa.txt").write_text("SITE RULES. $question", encoding="utf-8")
    assert render_prompt("vqa", search=[tmp_path], question="Q") == "SITE RULES. Q"
    monkeypatch.setenv("MEDMO_PROMPTS_DIR", str(tmp_path))
    assert render_prompt("vqa", question="Q") == "SITE RULES. Q"
    assert "Classify" in render_prompt("classify", labels="a, b")  # not overridden: bundled


def test_unknown_task_and_missing_value_are_clear(tmp_path):
    with pytest.raises(ValueError, match="unknown task"):
        load_template("poetry")
    with pytest.raises(ValueError, match="finding"):
        render_prompt("ground")
