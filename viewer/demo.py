"""The demo study: a synthetic chest CT phantom written as a real DICOM series, plus its truth.

``write_demo_study(out_dir)`` writes CT Image Storage files (explicit VR little endian, uint16
stored values with 12 bits stored, RescaleIntercept -1024 -> HU) with real geometry (axial
ImageOrientationPatient, ImagePositionPatient per slice, PixelSpacing, SliceThickness) under
shuffled file names and InstanceNumbers that run head-to-feet, so a reader must sort slices by
position. The chest is the demo world of :mod:`viewer.phantom_world`: zones with their
landmarks, and findings of all five kinds (:data:`LAYOUT`).

``OUT_DIR/ground_truth.json`` lists every finding on every slice it appears on:
``{"series_uid", "sop_instance_uid", "slice", "label", "x0", "y0", "x1", "y1"}`` with ``slice``
the index in the geometrically sorted series (feet -> head) and the box in pixel-edge
coordinates of that slice (x1, y1 exclusive; see :mod:`viewer.phantom`), plus ``kind`` (also the
``label``), ``side``, ``zone``, ``ap`` (anterior/posterior) and ``size_mm``.
``OUT_DIR/ground_truth_slices.json`` has one entry per slice, normal ones included:
``{"slice", "sop_instance_uid", "zone", "findings" (count), "normal"}`` plus, when the writer is
given ``slice_texts``, the reference report, question/answer pairs and class label.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from viewer.phantom_world import (
    FOV_MM,
    KIND_HU,
    SliceFinding,
    WorldLesion,
    fits,
    free_areas,
    lung_geometry,
    render_world_slice,
    section,
    zone_of,
)

SLICE_MM = 2.5
PATIENT_NAME = "PHANTOM^DEMO"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def _uid(seed: int, *parts: object) -> str:
    from pydicom.uid import generate_uid

    return str(generate_uid(entropy_srcs=["medmo-demo", str(seed), *map(str, parts)]))


def _base_dataset(seed: int, size: int, slices: int):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(CT_IMAGE_STORAGE)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    ds.Modality = "CT"
    ds.Manufacturer = "MedMO Viewer synthetic phantom"
    ds.PatientName = PATIENT_NAME
    ds.PatientID = f"PHANTOM-{seed:04d}"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyInstanceUID = _uid(seed, "study")
    ds.SeriesInstanceUID = _uid(seed, "series", size, slices)
    ds.FrameOfReferenceUID = _uid(seed, "frame-of-reference")
    ds.StudyDate = ds.SeriesDate = "20260101"
    ds.StudyTime = ds.SeriesTime = "120000"
    ds.StudyID = "DEMO"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "Synthetic CT phantom (not a patient)"
    ds.SeriesDescription = f"Synthetic chest CT {SLICE_MM} mm"
    ds.SeriesNumber = 1
    ds.BodyPartExamined = "CHEST"
    ds.PatientPosition = "FFS"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [FOV_MM / size, FOV_MM / size]
    ds.SliceThickness = SLICE_MM
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"
    ds.WindowCenter = [40, -600]
    ds.WindowWidth = [400, 1500]
    ds.WindowCenterWidthExplanation = ["MEDIASTINUM", "LUNG"]
    return ds


# The demo world's findings: (kind, side, zone, height in the zone 0..1, position in the lung
# as fractions of its half-widths (-1..1: image left..right, front..back), diameter or, for an
# effusion, depth in mm, half-height in mm). Chosen so that the study shows every kind, slices
# with 0 to 4 findings, and normal slices between them.
LAYOUT: tuple[tuple[str, str, str, float, float, float, float, float], ...] = (
    ("pleural effusion", "left", "lower", 0.50, 0.0, 0.0, 30.0, 32.0),
    ("pleural effusion", "right", "lower", 0.40, 0.0, 0.0, 20.0, 18.0),
    ("mass", "right", "middle", 0.16, -0.10, -0.15, 46.0, 10.0),
    ("solid nodule", "left", "lower", 0.45, 0.0, -0.45, 16.0, 10.0),
    ("mass", "left", "middle", 0.50, 0.0, -0.25, 62.0, 26.0),
    ("solid nodule", "right", "middle", 0.42, 0.15, 0.40, 22.0, 13.0),
    ("calcified nodule", "right", "middle", 0.55, -0.25, -0.45, 14.0, 8.0),
    ("calcified nodule", "left", "middle", 0.45, 0.05, 0.55, 12.0, 8.0),
    ("cyst", "right", "middle", 0.80, 0.10, -0.05, 30.0, 10.0),
    ("solid nodule", "right", "upper", 0.30, 0.05, -0.35, 18.0, 10.0),
    ("cyst", "left", "upper", 0.42, 0.05, 0.25, 26.0, 14.0),
    ("calcified nodule", "right", "upper", 0.62, -0.15, 0.45, 14.0, 7.0),
    ("calcified nodule", "left", "upper", 0.80, 0.0, -0.35, 12.0, 6.0),
)


def demo_lesions(size: int, slices: int, rng: np.random.Generator, *,
                 layout=LAYOUT) -> list[WorldLesion]:
    """The layout's findings placed in a ``slices`` x ``size`` study: each kept only if it fits
    (inside its lung, away from the others) on every slice it spans, so small test studies
    simply show fewer."""
    pixel_mm = FOV_MM / size
    zone_slices: dict[str, list[int]] = {}
    for k in range(slices):
        zone_slices.setdefault(zone_of(k / (slices - 1) if slices > 1 else 0.5), []).append(k)
    placed: list[WorldLesion] = []
    masks: dict[int, np.ndarray] = {}
    order = sorted(layout, key=lambda item: item[0] != "pleural effusion")
    for kind, side, zone, height, dx, dy, mm, half_mm in order:
        ks = zone_slices.get(zone)
        if not ks:
            continue
        lo, hi = ks[0], ks[-1]
        z = lo + height * (hi - lo)
        rz = max(0.6, min(half_mm / SLICE_MM, z - lo + 1, hi + 1 - z))
        z_frac = z / (slices - 1) if slices > 1 else 0.5
        cx, cy, rx, ry = lung_geometry(size, z_frac)[side]
        hu = float(rng.uniform(*KIND_HU[kind]))
        if kind == "pleural effusion":
            lesion = WorldLesion(kind, side, cx, cy + ry, z, rx, rz, hu, depth=mm / pixel_mm)
        else:
            r = mm / 2 / pixel_mm
            lobes = ((0.6, 0.75, 0.62), (2.9, 0.75, 0.55)) if kind == "mass" else ()
            lesion = WorldLesion(kind, side, cx + dx * rx, cy + dy * ry, z,
                                 r * (0.62 if kind == "mass" else 1.0), rz, hu, 1.0, lobes)
        spans = [k for k in range(slices) if section(k - z, rz) > 0.0]
        fitted = {}
        for k in spans:
            z_k = k / (slices - 1) if slices > 1 else 0.5
            taken = masks.get(k, np.zeros((size, size), dtype=bool))
            mask = fits(lesion, free_areas(size, z_k)[side], taken, size=size, k=float(k),
                        z_frac=z_k)
            if mask is None:
                break
            fitted[k] = mask
        else:
            if fitted:
                placed.append(lesion)
                for k, mask in fitted.items():
                    masks[k] = masks.get(k, np.zeros((size, size), dtype=bool)) | mask
    return placed


def write_demo_study(
    out_dir: str | Path, *, slices: int = 100, size: int = 512, seed: int = 0,
    slice_texts: Callable[[list[SliceFinding], str, int], dict] | None = None,
) -> Path:
    """Write the phantom series, ``ground_truth.json`` and ``ground_truth_slices.json`` into
    ``out_dir``; return ``out_dir``.

    Deterministic for ``seed`` (same pixels, UIDs and file names); the findings follow
    :data:`LAYOUT` (``seed`` moves their HU and the noise). ``slice_texts(findings, zone, size)``
    adds texts to each slice's entry (the app passes the reference report, question/answer
    pairs and class label written in the model's answer formats).
    """
    if slices < 1 or size < 32:
        raise ValueError(f"need slices >= 1 and size >= 32, got slices={slices}, size={size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lesions = demo_lesions(size, slices, rng)
    names = rng.permutation(slices)  # file name order unrelated to position
    base = _base_dataset(seed, size, slices)
    pixel_mm = FOV_MM / size
    z0 = -SLICE_MM * (slices - 1) / 2.0
    truth, per_slice = [], []
    for k in range(slices):
        hu, findings = render_world_slice(size, k, slices, lesions, rng, fov_mm=FOV_MM)
        stored = np.clip(np.rint(hu) + 1024.0, 0, 4095).astype(np.uint16)
        ds = base.copy()
        ds.file_meta = base.file_meta.copy()
        sop_uid = _uid(seed, "instance", size, slices, k)
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
        ds.InstanceNumber = slices - k  # head first, as scanners often number
        z = z0 + k * SLICE_MM
        ds.ImagePositionPatient = [-FOV_MM / 2 + pixel_mm / 2, -FOV_MM / 2 + pixel_mm / 2, z]
        ds.SliceLocation = z
        ds.PixelData = stored.tobytes()
        ds.save_as(out / f"IM{int(names[k]):05d}.dcm", enforce_file_format=True)
        for f in findings:
            truth.append({
                "series_uid": str(base.SeriesInstanceUID), "sop_instance_uid": sop_uid,
                "slice": k, "label": f.kind, "x0": f.x0, "y0": f.y0, "x1": f.x1, "y1": f.y1,
                "kind": f.kind, "side": f.side, "zone": f.zone, "ap": f.ap,
                "size_mm": f.size_mm,
            })
        zone = zone_of(k / (slices - 1) if slices > 1 else 0.5)
        entry = {"slice": k, "sop_instance_uid": sop_uid, "zone": zone,
                 "findings": len(findings), "normal": not findings}
        if slice_texts is not None:
            entry.update(slice_texts(findings, zone, size))
        per_slice.append(entry)
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=1))
    (out / "ground_truth_slices.json").write_text(json.dumps(per_slice, indent=1))
    return out
