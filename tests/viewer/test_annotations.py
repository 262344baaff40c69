"""Predictions, corrections and undo/redo as the radiologist would meet them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viewer.annotations import (
    Annotation,
    AnnotationSet,
    FrameLocation,
    PixelBox,
    measure_box,
)
from viewer.volume import Volume

FRAME = FrameLocation("1.2.3.4", 5, "1.2.3.4.5", 0)


def model_box(x0=10, y0=10, x1=30, y1=20, label="nodule") -> Annotation:
    return Annotation(PixelBox(x0, y0, x1, y1), label, FRAME, "model", "ans1", "MedMO-4B")


@pytest.fixture
def one_prediction():
    s = AnnotationSet("1.2.3")
    (fid,) = s.add_predictions([model_box()])
    return s, fid


def snapshot(s: AnnotationSet) -> str:
    data = s.to_dict()
    data["findings"].sort(key=lambda f: f["id"])
    return json.dumps(data, sort_keys=True)


def test_prediction_is_pending_until_reviewed(one_prediction):
    s, fid = one_prediction
    assert s[fid].kind == "pending"
    s.accept(fid)
    assert s[fid].kind == "accepted"
    assert s[fid].prediction == s[fid].current


def test_move_then_resize_records_both_and_keeps_prediction(one_prediction):
    s, fid = one_prediction
    s.move(fid, 5, 0)
    assert s[fid].corrections == ("moved",)
    s.resize(fid, PixelBox(15, 10, 45, 20))  # wider, centre moves too
    assert s[fid].corrections == ("moved", "resized")
    assert s[fid].prediction.box == PixelBox(10, 10, 30, 20)
    assert s[fid].current.origin == "user"


def test_pure_resize_about_the_centre_is_only_resized(one_prediction):
    s, fid = one_prediction
    s.resize(fid, PixelBox(5, 5, 35, 25))
    assert s[fid].kind == "resized"


def test_moving_back_counts_as_accepted(one_prediction):
    s, fid = one_prediction
    s.move(fid, 3, 4)
    s.move(fid, -3, -4)
    assert s[fid].kind == "accepted"


def test_relabel_and_move(one_prediction):
    s, fid = one_prediction
    s.relabel(fid, "mass")
    s.move(fid, 1, 1)
    assert s[fid].kind == "moved+relabelled"


def test_delete_keeps_prediction_and_undo_restores(one_prediction):
    s, fid = one_prediction
    s.delete(fid)
    assert s[fid].kind == "deleted" and s.final() == []
    with pytest.raises(ValueError, match="deleted box"):
        s.move(fid, 1, 1)
    s.undo()
    assert s[fid].kind == "pending" and len(s.final()) == 1
    s.redo()
    assert s[fid].kind == "deleted"


def test_added_box_then_deleted_is_gone_and_undo_brings_it_back():
    s = AnnotationSet("1.2.3")
    fid = s.add(Annotation(PixelBox(1, 1, 9, 9), "cyst", FRAME))
    assert s[fid].kind == "added" and s[fid].prediction is None
    s.move(fid, 2, 2)
    assert s[fid].kind == "added"
    s.delete(fid)
    assert s.get(fid) is None
    s.undo()
    assert s[fid].current.box == PixelBox(3, 3, 11, 11)


def test_new_edit_clears_redo(one_prediction):
    s, fid = one_prediction
    s.move(fid, 1, 0)
    s.undo()
    assert s.can_redo
    s.relabel(fid, "mass")
    assert not s.can_redo
    with pytest.raises(IndexError):
        s.redo()


def test_events_tell_the_view_what_changed(one_prediction):
    s, fid = one_prediction
    seen, history = [], []
    s.finding_changed.connect(seen.append)
    s.history_changed.connect(lambda u, r: history.append((u, r)))
    s.move(fid, 1, 1)
    s.undo()
    assert seen == [fid, fid]
    assert history == [(True, False), (False, True)]


def test_round_trip_through_json(one_prediction):
    s, fid = one_prediction
    s.move(fid, 2, 0)
    s.add(Annotation(PixelBox(40, 40, 50, 52), "cyst", FrameLocation("1.2.3.4", 6, "9.9", 0)))
    again = AnnotationSet.from_dict(json.loads(json.dumps(s.to_dict())))
    assert snapshot(again) == snapshot(s)
    assert {f.kind for f in again} == {"moved", "added"}
    assert again.on_frame("1.2.3.4", 6)[0].current.label == "cyst"


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="x0 < x1"):
        PixelBox(10, 0, 5, 5)
    with pytest.raises(ValueError, match="label"):
        Annotation(PixelBox(0, 0, 1, 1), "  ", FRAME)
    with pytest.raises(ValueError, match="schema"):
        AnnotationSet.from_dict({"schema": 99, "study_uid": "1"})
    with pytest.raises(KeyError, match="no finding"):
        AnnotationSet("1").accept("nope")


def test_size_in_mm_follows_anisotropic_and_oblique_geometry():
    # columns 0.7 mm, rows 0.5 mm, rotated 30 degrees in-plane
    c, s_ = np.cos(np.pi / 6), np.sin(np.pi / 6)
    affine = np.eye(4)
    affine[:3, 0] = [0.7 * c, 0.7 * s_, 0]
    affine[:3, 1] = [-0.5 * s_, 0.5 * c, 0]
    affine[:3, 2] = [0, 0, 2.5]
    vol = Volume(np.zeros((3, 64, 64), np.float32), affine)
    size = measure_box(PixelBox(10, 10, 30, 50), vol, 1)
    assert size.unit == "mm"
    assert size.width == pytest.approx(14.0) and size.height == pytest.approx(20.0)
    photo = Volume(np.zeros((1, 64, 64), np.float32), spacing_known=False)
    assert str(measure_box(PixelBox(10, 10, 30, 50), photo)) == "20.0 x 40.0 px"


ops = st.lists(st.tuples(st.sampled_from(["accept", "move", "resize", "relabel", "delete",
                                          "add"]), st.integers(0, 3),
                         st.integers(-5, 5)), max_size=25)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_undo_all_then_redo_all_restores_each_state(sequence):
    s = AnnotationSet("1.2.3")
    s.add_predictions([model_box(), model_box(50, 50, 60, 70, "mass")])
    start = snapshot(s)
    states = []
    for op, which, d in sequence:
        ids = sorted(f.id for f in s if f.current is not None)
        if op == "add" or not ids:
            s.add(Annotation(PixelBox(0, 0, 5 + abs(d), 5), "user", FRAME))
        else:
            fid = ids[which % len(ids)]
            if op == "accept":
                s.accept(fid)
            elif op == "move":
                s.move(fid, d, -d)
            elif op == "resize":
                b = s[fid].current.box
                s.resize(fid, PixelBox(b.x0, b.y0, b.x1 + abs(d) + 1, b.y1))
            elif op == "relabel":
                s.relabel(fid, f"label{d}")
            else:
                s.delete(fid)
        states.append(snapshot(s))
    for expected in reversed([start, *states][:-1]):
        s.undo()
        assert snapshot(s) == expected
    assert not s.can_undo
    for expected in states:
        s.redo()
        assert snapshot(s) == expected
