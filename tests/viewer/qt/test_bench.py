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
