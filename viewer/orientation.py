"""Image tools as plane geometry: rotate 90 degrees and flip, without resampling (no Qt).

A rotated or flipped view is just another :class:`~viewer.reformat.PlaneGeometry`: other array
axes become the screen's rows and columns, running one way or the other. Everything that maps
screen pixels to volume indices (rulers, boxes, the cursor readout, crosshair, reference lines)
then follows without knowing about the tools, and the edge letters move with the picture.
"""

from __future__ import annotations

from dataclasses import replace

from viewer.reformat import PlaneGeometry


def rotate_clockwise(geometry: PlaneGeometry) -> PlaneGeometry:
    """The plane turned 90 degrees clockwise: what was on the left is now at the top.

    >>> import numpy as np
    >>> from viewer.reformat import plane_geometry, plane_image
    >>> from viewer.volume import Volume
    >>> v = Volume(np.arange(6, dtype=np.float32).reshape(1, 2, 3))
    >>> axial = plane_geometry(v, "axial")
    >>> turned = rotate_clockwise(axial)
    >>> plane_image(v, turned, 0).tolist() == np.rot90(plane_image(v, axial, 0), -1).tolist()
    True
    >>> turned.labels["top"], turned.labels["right"]
    ('R', 'A')
    """
    labels = geometry.labels
    return replace(
        geometry,
        row_axis=geometry.col_axis, row_flip=geometry.col_flip,
        col_axis=geometry.row_axis, col_flip=not geometry.row_flip,
        n_rows=geometry.n_cols, n_cols=geometry.n_rows,
        pixel_spacing_mm=(geometry.pixel_spacing_mm[1], geometry.pixel_spacing_mm[0]),
        labels={"top": labels.get("left", ""), "right": labels.get("top", ""),
                "bottom": labels.get("right", ""), "left": labels.get("bottom", "")},
    )


def flip_horizontal(geometry: PlaneGeometry) -> PlaneGeometry:
    """Left and right swapped.

    >>> import numpy as np
    >>> from viewer.reformat import plane_geometry
    >>> from viewer.volume import Volume
    >>> g = flip_horizontal(plane_geometry(Volume(np.zeros((2, 3, 4))), "axial"))
    >>> g.col_flip, g.labels["left"], g.labels["right"]
    (True, 'L', 'R')
    """
    labels = dict(geometry.labels)
    labels["left"], labels["right"] = labels.get("right", ""), labels.get("left", "")
    return replace(geometry, col_flip=not geometry.col_flip, labels=labels)


def flip_vertical(geometry: PlaneGeometry) -> PlaneGeometry:
    """Top and bottom swapped.

    >>> import numpy as np
    >>> from viewer.reformat import plane_geometry
    >>> from viewer.volume import Volume
    >>> g = flip_vertical(plane_geometry(Volume(np.zeros((2, 3, 4))), "axial"))
    >>> g.row_flip, g.labels["top"]
    (True, 'P')
    """
    labels = dict(geometry.labels)
    labels["top"], labels["bottom"] = labels.get("bottom", ""), labels.get("top", "")
    return replace(geometry, row_flip=not geometry.row_flip, labels=labels)


IMAGE_TOOLS = {"rotate": rotate_clockwise, "flip_h": flip_horizontal, "flip_v": flip_vertical}
