"""time_renders drives the real SliceView: every timed step shows a new, windowed slice."""

import numpy as np
import pytest

from tests.viewer.qt.synthetic import ct_series
from viewer.qt.bench import time_renders
from viewer.reformat import plane_geometry, render_plane


def test_time_renders_returns_one_positive_timing_per_render(qapp):
    timings = time_renders(ct_series(frames=5, rows=64, cols=64), 12, size=200)
    assert len(timings) == 12 and all(t > 0 for t in timings)
    with pytest.raises(ValueError):
        time_renders(ct_series(), 0)


def test_scratch_buffer_changes_nothing_but_speed():
    series = ct_series()
    volume = series.volume
    for plane in ("axial", "coronal", "sagittal"):
        g = plane_geometry(volume, plane)
        scratch = np.empty((g.n_rows, g.n_cols), np.float32)
        for k in (0, g.n_slices - 1):
            assert np.array_equal(render_plane(volume, g, k, 350, -500, scratch=scratch),
                                  render_plane(volume, g, k, 350, -500))


def test_time_workspace_times_each_kind_and_counts_dropped_frames(qapp):
    from dataclasses import replace

    from tests.viewer.qt.synthetic import ct_affine
    from viewer.qt.bench_workspace import time_workspace

    current = replace(ct_series(frames=10, rows=64, cols=64), frame_of_reference_uid="f")
    prior = replace(ct_series(frames=8, rows=64, cols=64,
                              affine=ct_affine((0.7, 0.9, 3.0), (-100.0, 50.0, 31.0))),
                    uid="prior", frame_of_reference_uid="f")
    result = time_workspace(current, prior, 6, slab_mm=10.0, size=160, paced_frames=5)
    assert [len(result[k]) for k in ("plain", "mip", "linked")] == [6, 6, 6]
    assert all(t > 0 for k in ("plain", "mip", "linked") for t in result[k])
    assert result["paced"] == 5 and 0 <= result["dropped"] <= 5
