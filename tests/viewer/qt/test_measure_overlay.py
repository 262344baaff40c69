"""Each measurement tool drawn on the real SliceView with real mouse events; the numbers the
user sees beside the shape are checked against numpy on the same HU slice."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from tests.viewer.qt.input import mouse
from tests.viewer.qt.synthetic import ct_series, study_of
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox
from viewer.findings import StudyFindings
from viewer.measurements import MeasurementSet, StudyMeasurements
from viewer.qt.box_overlay import BoxOverlay
from viewer.qt.measure_overlay import MeasureOverlay

Qt = QtCore.Qt
LEFT = Qt.MouseButton.LeftButton
COL_MM, ROW_MM = 0.7, 0.9  # the synthetic series' in-plane spacing


@pytest.fixture
def measuring(make_view):
    made = []

    def make():
        rng = np.random.default_rng(7)
        series = ct_series(frames=12, rows=40, cols=32)
        series.volume.array[...] += rng.normal(0, 20, series.volume.array.shape)  # not a ramp
        state, view = make_view(series, size=(700, 700))
        ms = MeasurementSet(study_of(series).uid)
        annotations = AnnotationSet(ms.study_uid)
        findings = StudyFindings.showing(annotations)
        part = StudyMeasurements(ms)
        overlay = MeasureOverlay(view, part, state, findings=findings)
        made.append(overlay)
        QtWidgets.QApplication.processEvents()
        return state, view, overlay, ms, annotations

    yield make
    for overlay in made:
        overlay.disconnect_model()


def at(view, c: float, r: float) -> QtCore.QPoint:
    return view.viewport_pos_of_pixel(row_px=r, col_px=c)


def draw(view, points: list[tuple[float, float]]) -> None:
    """Press at the first point, move through the others, release at the last."""
    mouse(view, "press", at(view, *points[0]), LEFT)
    for p in points[1:]:
        mouse(view, "move", at(view, *p), Qt.MouseButton.NoButton, LEFT)
    mouse(view, "release", at(view, *points[-1]), LEFT, Qt.MouseButton.NoButton)


def roi_text(values: np.ndarray, pixel_area: float) -> list[str]:
    return [f"mean {values.mean():.1f} HU  SD {values.std():.1f}",
            f"min {values.min():.0f}  max {values.max():.0f}",
            f"{values.size * pixel_area:.1f} mm\u00b2  ({values.size} px)"]


def only(ms: MeasurementSet):
    (m,) = list(ms)
    return m


def test_ellipse_stats_beside_it_live_while_dragging_then_equal_numpy(measuring):
    state, view, overlay, ms, _ = measuring()
    overlay.set_tool("ellipse")
    assert state.mode == "ellipse"
    mouse(view, "press", at(view, 6, 8), LEFT)
    mouse(view, "move", at(view, 12, 14), Qt.MouseButton.NoButton, LEFT)
    small = overlay.preview_text
    mouse(view, "move", at(view, 20, 26), Qt.MouseButton.NoButton, LEFT)
    assert small and "HU" in small and overlay.preview_text != small  # live while dragging
    assert len(ms) == 0  # nothing committed before the release
    mouse(view, "release", at(view, 20, 26), LEFT, Qt.MouseButton.NoButton)
    m = only(ms)
    (c0, r0), (c1, r1) = m.points_px
    assert (c0, r0, c1, r1) == pytest.approx((6, 8, 20, 26), abs=0.6)
    rows, cols = np.mgrid[0:40, 0:32]
    cx, cy, rx, ry = (c0 + c1) / 2, (r0 + r1) / 2, (c1 - c0) / 2, (r1 - r0) / 2
    inside = ((cols - cx) / rx) ** 2 + ((rows - cy) / ry) ** 2 <= 1
    hu = state.series.volume.array[state.slice_index].astype(np.float64)[inside]
    assert overlay.shown_texts()[m.id].splitlines() == roi_text(hu, COL_MM * ROW_MM)
    assert m.frame.sop_instance_uid == state.series.frames[state.slice_index].sop_instance_uid


def test_rectangle_and_freehand_stats_equal_numpy(measuring):
    state, view, overlay, ms, _ = measuring()
    overlay.set_tool("rectangle")
    draw(view, [(4, 5), (9, 9), (15, 20)])
    rect = only(ms)
    (c0, r0), (c1, r1) = rect.points_px
    image = state.series.volume.array[state.slice_index].astype(np.float64)
    box = image[math.ceil(r0):math.floor(r1) + 1, math.ceil(c0):math.floor(c1) + 1]
    assert overlay.shown_texts()[rect.id].splitlines() == roi_text(box.ravel(), COL_MM * ROW_MM)
    ms.remove(rect.id)
    overlay.set_tool("freehand")  # traced between pixel centres: no centre on the outline
    draw(view, [(19.5, 3.5), (24, 3.5), (28.5, 3.5), (28.5, 10), (28.5, 16.5), (24, 16.5),
                (19.5, 16.5), (19.5, 10)])
    free = only(ms)
    assert free.kind == "freehand" and len(free.points_px) >= 6
    inner = image[4:17, 20:29]  # the pixels whose centres the outline holds
    assert overlay.shown_texts()[free.id].splitlines() == roi_text(inner.ravel(),
                                                                   COL_MM * ROW_MM)


def test_angle_is_two_gestures_and_reads_in_degrees(measuring):
    _, view, overlay, ms, _ = measuring()
    overlay.set_tool("angle")
    draw(view, [(20, 10), (10, 10)])  # first arm, ending at the vertex
    assert len(ms) == 0 and overlay.preview_text
    mouse(view, "move", at(view, 10, 25), Qt.MouseButton.NoButton)  # hover: second arm
    mouse(view, "press", at(view, 10, 25), LEFT)
    mouse(view, "release", at(view, 10, 25), LEFT, Qt.MouseButton.NoButton)
    m = only(ms)
    (ax, ay), (vx, vy), (bx, by) = m.points_px
    u = np.array([(ax - vx) * COL_MM, (ay - vy) * ROW_MM])
    w = np.array([(bx - vx) * COL_MM, (by - vy) * ROW_MM])
    expected = math.degrees(math.acos(u @ w / np.linalg.norm(u) / np.linalg.norm(w)))
    assert overlay.shown_texts()[m.id] == f"{expected:.1f}\u00b0"
    assert abs(expected - 90.0) < 3.0


def test_bidirectional_long_and_short_axis_in_mm_and_short_end_slides(measuring):
    state, view, overlay, ms, _ = measuring()
    overlay.set_tool("bidirectional")
    draw(view, [(6, 20), (16, 20), (26, 20)])
    m = only(ms)
    a, b, c, d = m.points_px
    long_mm = math.hypot((b[0] - a[0]) * COL_MM, (b[1] - a[1]) * ROW_MM)
    assert long_mm == pytest.approx(20 * COL_MM, abs=0.6)
    text = overlay.shown_texts()[m.id]
    assert text == f"L {long_mm:.1f} mm  x  S {long_mm / 2:.1f} mm"
    # drag the short axis' lower end further down: it stays on the perpendicular
    draw(view, [d, (d[0] + 3, d[1] + 4)])
    moved = ms.get(m.id)
    a2, b2, c2, d2 = moved.points_px
    long_vec = np.array([(b2[0] - a2[0]) * COL_MM, (b2[1] - a2[1]) * ROW_MM])
    short_vec = np.array([(d2[0] - c2[0]) * COL_MM, (d2[1] - c2[1]) * ROW_MM])
    assert float(long_vec @ short_vec) == pytest.approx(0.0, abs=1e-6)
    short_mm = float(np.linalg.norm(short_vec))
    assert short_mm > long_mm / 2 + 2
    assert overlay.shown_texts()[m.id] == f"L {long_mm:.1f} mm  x  S {short_mm:.1f} mm"
    assert state.mode == "bidirectional"


def test_handles_move_undo_delete_and_escape(measuring, qtbot):
    state, view, overlay, ms, _ = measuring()
    overlay.set_tool("ellipse")
    draw(view, [(6, 8), (14, 16)])
    m = only(ms)
    before = overlay.shown_texts()[m.id]
    draw(view, [(10, 12), (18, 22)])  # the centre handle moves the whole ellipse
    assert ms.get(m.id).points_px[0] == pytest.approx((14, 18), abs=0.8)
    assert overlay.shown_texts()[m.id] != before
    qtbot.keyClick(view.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ms.get(m.id).points_px == m.points_px and overlay.shown_texts()[m.id] == before
    overlay.part.select(m.id)
    qtbot.keyClick(view.canvas, Qt.Key.Key_Delete)
    assert len(ms) == 0 and overlay.shown_texts() == {}
    qtbot.keyClick(view.canvas, Qt.Key.Key_Escape)
    assert state.mode == "window"
    state.slice_index = 2  # another slice shows none of this slice's measurements
    assert overlay.shown_texts() == {}


def test_ctrl_z_takes_back_the_last_edit_box_or_measurement(measuring, qtbot):
    """A box moved on slice 3, then an ellipse drawn on slice 5 and the tool left: Ctrl+Z takes
    the ellipse back, not the older box correction (training data); the next Ctrl+Z goes to
    slice 3 and takes the move back; Ctrl+Y redoes them in turn; a new edit ends the redo."""
    state, view, overlay, ms, annotations = measuring()
    boxes = BoxOverlay(view, overlay.findings, state)  # after it: the measurements stay first
    series = state.series
    fid = annotations.add_predictions([Annotation(
        PixelBox(5, 5, 15, 15), "nodule", FrameLocation(series.uid, 3), "model",
        answer_id="a1", model_id="tiny")])[0]
    annotations.move(fid, 4, 0)
    state.slice_index = 5
    overlay.set_tool("ellipse")
    draw(view, [(6, 8), (14, 16)])
    m = only(ms)
    qtbot.keyClick(view.canvas, Qt.Key.Key_Escape)  # the new ellipse is no longer selected
    qtbot.keyClick(view.canvas, Qt.Key.Key_Escape)  # and the tool is off
    assert state.mode == "window" and overlay.part.selected is None

    def press(key, mods=Qt.KeyboardModifier.ControlModifier):
        qtbot.keyClick(view.canvas, key, mods)
        return len(ms), annotations[fid].current.box.x0, state.slice_index

    assert press(Qt.Key.Key_Z) == (0, 9, 5)   # the ellipse goes, the moved box stays
    assert press(Qt.Key.Key_Z) == (0, 5, 3)   # then the move, shown on its slice
    assert press(Qt.Key.Key_Y) == (0, 9, 3)   # redo: the move first
    state.slice_index = 8
    assert press(Qt.Key.Key_Y) == (1, 9, 5)   # then the ellipse, on its slice
    assert ms.get(m.id) == m
    assert press(Qt.Key.Key_Z) == (0, 9, 5)
    annotations.relabel(fid, "mass")          # a new edit: the ellipse is not redone any more
    assert press(Qt.Key.Key_Y) == (0, 9, 5) and annotations[fid].current.label == "mass"
    boxes.disconnect_model()


def test_label_links_to_a_predicted_box(measuring):
    state, view, overlay, ms, annotations = measuring()
    series = state.series
    fid = annotations.add_predictions([Annotation(
        PixelBox(5, 5, 15, 15), "nodule", FrameLocation(series.uid, state.slice_index),
        "model", answer_id="a1", model_id="tiny")])[0]
    overlay.set_tool("rectangle")
    draw(view, [(6, 6), (14, 14)])
    m = only(ms)
    offered: list[list[str]] = []

    def pick(default: str, choices: list[str]) -> str:
        offered.append(choices)
        return choices[0]

    overlay.ask_label = pick
    overlay.relabel_selected()
    assert offered == [[f"nodule (AI box, slice {state.slice_index + 1})"]]
    assert (ms.get(m.id).label, ms.get(m.id).finding_id) == ("nodule", fid)
    assert overlay.shown_texts()[m.id].splitlines()[0] == "nodule"


def test_tools_refused_on_a_reformat(measuring):
    state, _, overlay, _, _ = measuring()
    state.set_plane("coronal")
    overlay.set_tool("ellipse")
    assert state.mode == "window"
    assert not any(a.isChecked() for a in overlay.tool_actions)
