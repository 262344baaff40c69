"""Fixtures of the app tests: the window factory (napari's ``make_napari_viewer`` is the
model: every window a test opens is closed after it) and the loaded demo study. The tiny model,
the phantom dataset and the demo folder come from tests/conftest.py; plain helpers are in
tests/app/helpers.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_window(qtbot, tmp_path):
    """``make_window(workspace_dir=None, **options)``: a shown MainWindow with its own
    workspace (``options`` go to MainWindow, e.g. ``loader_scan``), closed after the test."""
    from app.qt.main_window import MainWindow

    made = []

    def make(workspace_dir=None, **options):
        win = MainWindow(workspace_dir=workspace_dir or tmp_path / "workspace", **options)
        qtbot.addWidget(win)
        win.show()
        made.append(win)
        return win

    yield make
    for win in made:
        win.stop_loading()
        win.close()


@pytest.fixture
def demo_result(demo_folder):
    from viewer.loading import load

    return load(sorted(demo_folder.glob("*.dcm")))
