"""Measuring in the real window: tools from the Measure menu, drawn with the mouse; the numbers
come back when the study is reopened from another folder (keyed by UIDs, not paths); the
follow-up table compares a prior; the tag browser dock shows the instance on screen."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pydicom
from pydicom.uid import generate_uid
from PySide6 import QtCore

from tests.app.export_fixtures import (
    CASE_ATTRIBUTES,
    LESION_SLICE,
    PIXEL_SPACING_MM,
    SIZE,
    SLICE_GAP_MM,
    SLICES,
    case_hu,
    write_ct_series,
)
from tests.viewer.qt.input import mouse
from tests.viewer.series_factory import write_series

Qt = QtCore.Qt
LEFT = Qt.MouseButton.LeftButton


def open_folder(win, folder, qtbot) -> None:
    win.open_paths(sorted(str(p) for p in folder.glob("*.dcm")))
    qtbot.waitUntil(lambda: win.job is not None and not win.job.running
                    and win.state.series is not None, timeout=30_000)


def tool(win, kind: str) -> None:
    next(a for a in win.measuring.overlay.tool_actions if a.data() == kind).setChecked(True)
    assert win.state.mode == kind


def draw(win, points) -> None:
    view = win.view
    at = [view.viewport_pos_of_pixel(row_px=r, col_px=c) for c, r in points]
    mouse(view, "press", at[0], LEFT)
    for p in at[1:]:
        mouse(view, "move", p, Qt.MouseButton.NoButton, LEFT)
    mouse(view, "release", at[-1], LEFT, Qt.MouseButton.NoButton)


def hu_of(folder, k: int) -> np.ndarray:
    datasets = sorted((pydicom.dcmread(p) for p in folder.glob("*.dcm")),
                      key=lambda d: float(d.ImagePositionPatient[2]))
    d = datasets[k]
    return (d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)).astype(float)


def test_measure_in_the_window_then_reopen_from_another_folder(make_window, qtbot, tmp_path):
    folder = tmp_path / "ct"
    write_ct_series(folder)
    win = make_window(tmp_path / "ws")
    open_folder(win, folder, qtbot)
    win.state.slice_index = LESION_SLICE
    tool(win, "ellipse")
    draw(win, [(18, 22), (26, 30), (36, 38)])
    tool(win, "bidirectional")
    draw(win, [(20, 44), (40, 44)])
    overlay = win.measuring.overlay
    ellipse, bidi = list(win.session.measurements.measurements)
    (c0, r0), (c1, r1) = ellipse.points_px
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    inside = (((cols - (c0 + c1) / 2) / ((c1 - c0) / 2)) ** 2
              + ((rows - (r0 + r1) / 2) / ((r1 - r0) / 2)) ** 2) <= 1
    hu = hu_of(folder, LESION_SLICE)[inside]
    row_mm, col_mm = PIXEL_SPACING_MM
    shown = overlay.shown_texts()
    assert shown[ellipse.id].splitlines() == [
        f"mean {hu.mean():.1f} HU  SD {hu.std():.1f}", f"min {hu.min():.0f}  max {hu.max():.0f}",
        f"{hu.size * row_mm * col_mm:.1f} mm\u00b2  ({hu.size} px)"]
    long_mm = math.dist(*(np.multiply(p, (col_mm, row_mm)) for p in bidi.points_px[:2]))
    assert shown[bidi.id].startswith(f"L {long_mm:.1f} mm")
    overlay.ask_label = lambda default, choices: "nodule"
    qtbot.keyClick(win.view.canvas, Qt.Key.Key_F2)  # the bidirectional is selected: name it
    assert overlay.shown_texts()[bidi.id].splitlines()[0] == "nodule"
    texts = overlay.shown_texts()
    win.close()

    moved = tmp_path / "elsewhere"  # the same instances under other file names and a new path
    moved.mkdir()
    for k, path in enumerate(sorted(folder.glob("*.dcm"))):
        shutil.copy(path, moved / f"img{k:03d}.dcm")
    again = make_window(tmp_path / "ws")
    open_folder(again, moved, qtbot)
    again.state.slice_index = LESION_SLICE
    assert again.measuring.overlay.shown_texts() == texts
    again.state.slice_index = 0
    assert again.measuring.overlay.shown_texts() == {}


def test_follow_up_compares_the_prior_and_tags_show_the_instance(make_window, qtbot, tmp_path):
    attributes = {**CASE_ATTRIBUTES, "StudyDate": "20250105"}
    prior_folder = tmp_path / "prior"
    write_series(prior_folder, slices=SLICES, rows=SIZE, columns=SIZE, hu=case_hu(1),
                 origin=(-25.0, -30.0, 100.0), step_mm=SLICE_GAP_MM,
                 pixel_spacing=PIXEL_SPACING_MM, seed=1, study_uid=generate_uid(),
                 attributes=attributes)
    current_folder = tmp_path / "current"
    write_ct_series(current_folder)
    win = make_window(tmp_path / "ws")
    win.open_paths([*sorted(str(p) for p in prior_folder.glob("*.dcm")),
                    *sorted(str(p) for p in current_folder.glob("*.dcm"))])
    qtbot.waitUntil(lambda: win.job is not None and not win.job.running
                    and win.result is not None and len(win.result.studies) == 2, timeout=30_000)
    overlay = win.measuring.overlay
    overlay.ask_label = lambda default, choices: "Nodule 1"
    lengths = {}
    for date, span in (("20250105", 20), ("20260105", 15)):
        position = next(i for i, s in enumerate(win.result.all_series)
                        if win._study_of(s).date == date)
        win.show_series(position)
        tool(win, "bidirectional")
        draw(win, [(10, 30), (10 + span, 30)])
        qtbot.keyClick(win.view.canvas, Qt.Key.Key_F2)
        (m,) = list(win.session.measurements.measurements)
        a, b = m.points_px[:2]
        lengths[date] = math.hypot((b[0] - a[0]) * PIXEL_SPACING_MM[1],
                                   (b[1] - a[1]) * PIXEL_SPACING_MM[0])
        assert abs(lengths[date] - span * PIXEL_SPACING_MM[1]) < 0.5
    menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Measure")
    next(a for a in menu.actions() if a.text() == "Compare with prior study").trigger()
    cells = win.measuring.follow_up.texts()
    prior, now = lengths["20250105"], lengths["20260105"]
    assert len(cells) == 1 and cells[0][0] == "Nodule 1"
    assert cells[0][1:5] == [f"{prior:.1f}", f"{now:.1f}", f"{now - prior:+.1f}",
                             f"{100 * (now - prior) / prior:+.1f}"]
    # the tag browser dock shows the instance of the slice on screen
    win.measuring.tags_dock.show()
    win.measuring.tags_dock.raise_()
    qtbot.waitUntil(lambda: win.measuring.tags.rows() != [], timeout=5_000)
    sop = win.state.series.frames[win.state.slice_index].sop_instance_uid
    assert ("(0008,0018)", "SOP Instance UID", "UI", sop, "") in win.measuring.tags.rows()
