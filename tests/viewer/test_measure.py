"""Ruler lengths in mm from voxel indices, with anisotropic and rotated geometry."""

import numpy as np
import pytest

from tests.viewer.qt.synthetic import ct_affine
from viewer.measure import Ruler, format_length, ruler_length
from viewer.volume import Volume


def test_anisotropic_in_plane_and_through_plane():
    volume = Volume(np.zeros((10, 40, 30)), ct_affine((0.7, 0.9, 2.5), degrees=30.0))
    assert ruler_length(volume, (0, 0, 0), (10, 0, 0)) == pytest.approx((7.0, "mm"))
    assert ruler_length(volume, (0, 0, 0), (0, 10, 0)) == pytest.approx((9.0, "mm"))
    # diagonal on a coronal cut: 4 columns (2.8 mm) by 3 frames (7.5 mm)
    value, unit = ruler_length(volume, (2, 5, 1), (6, 5, 4))
    assert unit == "mm" and value == pytest.approx(np.hypot(2.8, 7.5))


def test_uncalibrated_images_measure_pixels():
    volume = Volume(np.zeros((1, 50, 50)), np.diag([3.0, 3.0, 1.0, 1.0]), spacing_known=False)
    assert ruler_length(volume, (0, 0, 0), (6, 8, 0)) == (10.0, "px")
    assert format_length(10.0, "px") == "10.0 px"


def test_ruler_validates_its_ends():
    with pytest.raises(ValueError):
        Ruler("axial", 0, (1.0, 2.0), (3.0, 4.0, 0.0))
