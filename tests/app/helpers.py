"""Helpers of the app tests (plain functions; the fixtures are in the conftest files): open the
demo study in a window, load a model as a user does, fixture answers built from the demo's
ground truth, and a wait that fails at once when the training tab's child process dies."""

from __future__ import annotations

import json

import pytest

from inference.boxes import answer_boxes, format_medmo_boxes, pixel_to_norm
from inference.types import Answer, FrameBox


def ground_truth(demo_folder) -> list[dict]:
    return json.loads((demo_folder / "ground_truth.json").read_text())


def written_demo_study(out) -> tuple:
    """The study `make demo` opens, written into ``out`` by the same command, and its
    ground-truth findings by slice: ``(out, {slice: [finding, ...]})``."""
    from app.cli import main

    assert main(["demo-study", str(out)]) == 0
    by_slice: dict[int, list[dict]] = {}
    for finding in json.loads((out / "ground_truth.json").read_text()):
        by_slice.setdefault(finding["slice"], []).append(finding)
    return out, by_slice


def fixture_answer(texts: tuple[str, ...], sizes_px, *, model: str) -> Answer:
    """An Answer made from FIXTURE texts exactly as the engine makes its own: each text parsed
    once and its boxes mapped to the pixels of its frame (:func:`inference.boxes.answer_boxes`).
    Not model output: the tiny test model is random and almost never writes a box."""
    boxes, dropped = answer_boxes(texts, sizes_px)
    return Answer(text="\n".join(texts), texts=texts, boxes=boxes, dropped_boxes=dropped,
                  model=model)


def medmo_answer_text(truth: list[dict], slice_index: int, *, width: int, height: int) -> str:
    """A MedMO-format answer (``lesion <box>[[x0, y0, x1, y1]]</box>``, 0..1000) for the
    lesions ground_truth.json puts on one slice. A FIXTURE, not model output: the tiny test
    model is random and almost never writes a box."""
    boxes = [pixel_to_norm(FrameBox(t["label"], 0, t["x0"], t["y0"], t["x1"], t["y1"]),
                           width=width, height=height)
             for t in truth if t["slice"] == slice_index]
    return format_medmo_boxes("lesion", boxes)


def open_demo(win, demo_folder, qtbot) -> None:
    """Open the demo series and wait until every slice is in."""
    win.open_paths(sorted(demo_folder.glob("*.dcm")))
    qtbot.waitUntil(lambda: win.job is not None and not win.job.running
                    and win.state.series is not None, timeout=20_000)


def load_model(win, model_dir, qtbot, *, max_tokens: int = 24) -> None:
    """Load a checkpoint through the Model panel, as a user does."""
    panel = win.panels.model
    panel.set_model(str(model_dir))
    panel.max_tokens.setValue(max_tokens)
    panel.load_button.click()
    qtbot.waitUntil(lambda: win.session.engine.is_loaded, timeout=60_000)


def wait_or_fail(qtbot, tab, condition, *, timeout: int) -> None:
    """Wait until ``condition()`` holds, watching the training tab's child processes (training
    and evaluation) meanwhile: when one ends badly, fail at once with its exit code, message and
    stderr, instead of waiting out ``timeout`` ms for something that can no longer come. For a
    child the test makes fail or kills on purpose, wait for ``run_finished`` instead.
    """
    failures: list[str] = []
    children = {"medmo train": tab.process, "medmo eval": tab.evaluation.evaluator.child}
    hooks = []
    for name, child in children.items():
        def ended(code: int, message: str, name=name, child=child) -> None:
            if code != 0 or message:
                failures.append(f"{name} ended (exit code {code}): {message}\n"
                                f"--- its stderr ---\n{child.stderr_tail()}")

        child.finished.connect(ended)
        hooks.append((child, ended))
    try:
        qtbot.waitUntil(lambda: bool(condition()) or bool(failures), timeout=timeout)
    finally:
        for child, ended in hooks:
            child.finished.disconnect(ended)
    if failures:
        pytest.fail(failures[0], pytrace=False)


def kill_9_after(argv: list[str], reports: int, **popen) -> int:
    """Run a child that prints one count per committed edit, SIGKILL it once it has reported
    ``reports`` edits (it is then mid-edit), and return the last count it printed."""
    import os
    import signal
    import subprocess

    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             **popen)
    assert child.stdout is not None and child.stderr is not None
    try:
        reported = -1
        while reported < reports:
            line = child.stdout.readline()
            assert line, f"child died early: {child.stderr.read()}"
            reported = int(line)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        for line in child.stdout.read().splitlines():  # what it printed before dying
            reported = int(line)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return reported
