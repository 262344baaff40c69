"""Frame selection: current slice, range, key images (K), refusal of reformat planes."""

from __future__ import annotations

import pytest

from viewer.frame_selection import MAX_FRAMES, FrameSelection, SelectionError, frames_to_send


def test_current_slice_follows_the_view():
    s = FrameSelection()
    assert s.frames("1.2", 0, n_frames=5) == [0]
    assert s.frames("1.2", 4, n_frames=5) == [4]
    assert s.describe("1.2", 4) == "slice 5"


def test_range_is_inclusive_in_either_order_and_bounded():
    s = FrameSelection()
    events = []
    s.changed.connect(lambda: events.append(s.mode))
    s.set_range(6, 3)
    assert (s.mode, s.range, events) == ("range", (3, 6), ["range"])
    assert s.frames("1.2", 0, n_frames=10) == [3, 4, 5, 6]
    with pytest.raises(SelectionError, match="runs past"):
        s.frames("1.2", 0, n_frames=5)
    s.set_range(0, MAX_FRAMES)
    with pytest.raises(SelectionError, match=f"at most {MAX_FRAMES}"):
        s.frames("1.2", 0, n_frames=100)
    with pytest.raises(ValueError):
        s.set_range(-1, 2)


def test_key_images_are_kept_per_series():
    s = FrameSelection()
    s.mode = "keys"
    with pytest.raises(SelectionError, match="press K"):
        s.frames("a", 0, n_frames=9)
    assert s.toggle_key("a", 7) and s.toggle_key("a", 2) and s.toggle_key("b", 1)
    assert s.frames("a", 0, n_frames=9) == [2, 7]
    assert s.frames("b", 0, n_frames=9) == [1]
    assert not s.toggle_key("a", 7)
    assert s.keys("a") == (2,) and s.is_key("a", 2) and not s.is_key("a", 7)
    assert s.describe("a", 0) == "slice 3"
    s.toggle_key("a", 5)
    assert s.describe("a", 0) == "key images 3, 6"
    s.clear_keys("a")
    assert s.keys("a") == () and s.keys("b") == (1,)
    with pytest.raises(ValueError):
        s.mode = "all"


def test_only_native_plane_frames_can_be_sent():
    s = FrameSelection()
    with pytest.raises(SelectionError, match="reformat"):
        frames_to_send(s, series_uid="1.2", plane="sagittal", native="axial", current=1,
                       n_frames=4)
    assert frames_to_send(s, series_uid="1.2", plane="axial", native="axial", current=1,
                          n_frames=4) == [1]
