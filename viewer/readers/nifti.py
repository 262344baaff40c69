"""NIfTI (.nii, .nii.gz): RAS+ voxels reoriented to the viewer's LPS, radiological layout.

The array is reoriented (axis permutations and flips only, no resampling) so that columns run
toward the patient's left, rows toward posterior and frames toward superior: an axial frame then
displays in radiological convention (image left = patient right, top = anterior). The affine
keeps any obliquity. A 4-D file shows its FIRST volume; the description and ``meta`` say so.
A volume over the memory limit, or whose affine is non-finite or singular, is refused with the
reason before its voxels are read; NaN/inf voxels are replaced and flagged.
"""

from __future__ import annotations

import os

import numpy as np

from viewer.limits import LoadLimits
from viewer.readers import UnreadableFile
from viewer.readers.checks import replace_non_finite
from viewer.readers.stacks import usable_affine
from viewer.study import FrameRef, Series
from viewer.volume import Volume

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def lps_oriented(data: np.ndarray, affine_ras: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reorient ``data`` (i, j, k) so its axes point L, P, S; return (array, affine_lps).

    The returned array is ``(frames, rows, columns)`` = (S, P, L axes) and the affine maps
    ``(column, row, frame, 1)`` to LPS mm.

    >>> arr, aff = lps_oriented(np.zeros((4, 5, 6)), np.diag([2.0, 3.0, 4.0, 1.0]))
    >>> arr.shape, np.diag(aff).tolist()  # x flipped (R->L), y flipped (A->P)
    ((6, 5, 4), [2.0, 3.0, 4.0, 1.0])
    """
    import nibabel.orientations as nio

    current = nio.io_orientation(affine_ras)
    target = nio.axcodes2ornt(("L", "P", "S"))
    transform = nio.ornt_transform(current, target)
    oriented = nio.apply_orientation(data, transform)
    affine = affine_ras @ nio.inv_ornt_aff(transform, data.shape[:3])
    return np.ascontiguousarray(oriented.transpose(2, 1, 0)), RAS_TO_LPS @ affine


def read_nifti(path: str, *, limits: LoadLimits | None = None) -> Series:
    """Read a NIfTI file into a filled Series (float32, scaled by scl_slope/scl_inter)."""
    import nibabel as nib

    limits = limits or LoadLimits()
    try:
        image = nib.load(path)
        if not isinstance(image, nib.spatialimages.SpatialImage):
            raise UnreadableFile(f"not a NIfTI image ({type(image).__name__})")
        shape = tuple(int(n) for n in image.shape)
        if not shape or min(shape) <= 0:
            raise UnreadableFile(f"NIfTI has an empty shape {shape}")
        size = (*shape[:3], 1, 1)[:3]
        limits.check(frames=size[2], rows=size[1], columns=size[0], colour=False, what="volume")
        affine_ras = image.affine
        if affine_ras is None:
            raise UnreadableFile("NIfTI has no affine (no usable orientation)")
        if not usable_affine(np.asarray(affine_ras, dtype=np.float64)):
            raise UnreadableFile("NIfTI affine is not finite or singular (no usable orientation)")
        meta = {"file": os.path.basename(path)}
        description = os.path.basename(path)
        proxy = image.dataobj
        if len(shape) > 3:  # 4-D (time) or more: the first volume
            extra = int(np.prod(shape[3:]))
            proxy = proxy[(slice(None),) * 3 + (0,) * (len(shape) - 3)]
            if extra > 1:
                meta["volumes"] = f"showing volume 1 of {extra} (4-D file)"
                description += f" (volume 1 of {extra})"
        data = np.asarray(proxy, dtype=np.float32)  # scl_slope / scl_inter applied
        while data.ndim < 3:
            data = data[..., np.newaxis]
        array, affine = lps_oriented(data, affine_ras)
    except UnreadableFile:
        raise
    except Exception as exc:  # noqa: BLE001 - nibabel raises many types for bad files
        raise UnreadableFile(f"unreadable NIfTI ({type(exc).__name__}: {exc})") from exc
    replaced = replace_non_finite(array)
    if replaced == array.size:
        raise UnreadableFile("no voxel value is a finite number (NaN/inf)")
    if replaced:
        meta["pixel_warnings"] = (f"{replaced} voxel value(s) were NaN/inf: shown as the "
                                  "volume's lowest value")
    volume = Volume(array, affine, spacing_known=True)
    frames = tuple(FrameRef(path, "", k) for k in range(volume.n_frames))
    from viewer.readers.raster import uid_for_path

    return Series(
        uid=uid_for_path(path, "series"),
        modality="OT",
        description=description,
        volume=volume,
        frames=frames,
        photometric="MONOCHROME2",
        source="nifti",
        meta=meta,
    )
