"""Fixtures for the reading tests (chat, model, report, controller, ask --workspace): a demo
study written as real DICOM, a tiny random Qwen3-VL checkpoint built in the test session and
loaded through the same from_pretrained path as real weights, and a main-window factory with
its own workspace. Import the fixtures you use into the test module."""

from __future__ import annotations

import json

import pytest

from inference.boxes import format_medmo_boxes, pixel_to_norm
from inference.types import PixelBox as EnginePixelBox


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from inference.tiny import make_tiny

    return make_tiny(tmp_path_factory.mktemp("tiny-medmo"))


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory):
    from viewer.demo import write_demo_study

    return write_demo_study(tmp_path_factory.mktemp("demo"), slices=10, size=256)


@pytest.fixture
def demo_result(demo_folder):
    from viewer.loading import load

    return load(sorted(demo_folder.glob("*.dcm")))


def ground_truth(demo_folder) -> list[dict]:
    return json.loads((demo_folder / "ground_truth.json").read_text())


def medmo_answer_text(truth: list[dict], slice_index: int, *, width: int, height: int) -> str:
    """A MedMO-format answer (``lesion <box>[[x0, y0, x1, y1]]</box>``, 0..1000) for the
    lesions ground_truth.json puts on one slice. A FIXTURE, not model output: the tiny test
    model is random and almost never writes a box."""
    boxes = [pixel_to_norm(EnginePixelBox(t["label"], 0, t["x0"], t["y0"], t["x1"], t["y1"]),
                           width=width, height=height)
             for t in truth if t["slice"] == slice_index]
    return format_medmo_boxes("lesion", boxes)


@pytest.fixture
def reading_window(qtbot, tmp_path):
    """``make(workspace_dir=...)``: a shown MainWindow with its own workspace, closed after."""
    from app.main_window import MainWindow

    made = []

    def make(workspace_dir=None):
        win = MainWindow(workspace_dir=workspace_dir or tmp_path / "workspace")
        qtbot.addWidget(win)
        win.show()
        made.append(win)
        return win

    yield make
    for win in made:
        win.close()


def open_demo(win, demo_folder, qtbot) -> None:
    """Open the demo series and wait until every slice is in."""
    win.open_paths(sorted(demo_folder.glob("*.dcm")))
    qtbot.waitUntil(lambda: win.job is not None and not win.job.running
                    and win.state.series is not None, timeout=20_000)


def load_model(win, model_dir, qtbot, *, max_tokens: int = 24) -> None:
    """Load a checkpoint through the Model panel, as a user does."""
    panel = win.reading.model
    panel.set_model(str(model_dir))
    panel.max_tokens.setValue(max_tokens)
    panel.load_button.click()
    qtbot.waitUntil(lambda: win.reading.engine.is_loaded, timeout=60_000)
