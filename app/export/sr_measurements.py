"""The reader's measurements in the TID 1500 SR (highdicom), one measurement group each.

* An ROI (ellipse, rectangle, freehand) is a planar ROI group (TID 1410): its image region is
  an SCOORD on the source instance (ELLIPSE: the two axes' ends; rectangle and freehand: a
  closed POLYLINE), with the mean, SD, minimum and maximum as Attenuation Coefficient
  (DCM 112031) in Hounsfield units (UCUM ``[hnsf'U]``) derived by Mean / Standard Deviation /
  Minimum / Maximum (SCT) for CT, and its Area (SCT 42798000) in ``mm2``.
* A bidirectional measurement is a measurement group (TID 1501) holding Long axis
  (SCT 103339001) and Short axis (SCT 103340004) in ``mm``, each with its own SCOORD
  POLYLINE on the source instance; an angle holds Angle (SCT 1483009) in ``deg`` with its
  three points.

SCOORD coordinates are DICOM image coordinates: the first pixel's top-left corner is (0, 0),
so a measurement's pixel-centre point ``(c, r)`` is written as ``(c + 0.5, r + 0.5)``.
The tracking identifier carries the label (and the number of the finding it measures).
"""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from app.export.content import ExportContent, ExportError
from viewer.measurements import Measurement, measure

_STATS = (("mean", codes.SCT.Mean), ("sd", codes.SCT.StandardDeviation),
          ("min", codes.SCT.Minimum), ("max", codes.SCT.Maximum))


def _source(content: ExportContent, m: Measurement,
            headers: dict[str, Dataset]) -> hd.sr.SourceImageForRegion:
    series = content.series(m.frame.series_uid)
    ref = series.frames[m.frame.frame_index]
    if series.source != "dicom" or not ref.sop_instance_uid:
        raise ExportError(f"series {series.description!r} is not DICOM: a DICOM SR can only "
                          "reference DICOM images (export PDF or Markdown instead)")
    header = headers.get(ref.sop_instance_uid)
    if header is None:
        try:
            header = pydicom.dcmread(ref.path, stop_before_pixels=True)
        except (OSError, pydicom.errors.InvalidDicomError) as exc:
            raise ExportError(f"cannot re-read the source image {ref.path}: {exc}") from exc
        if header.get("SOPInstanceUID") != ref.sop_instance_uid:
            raise ExportError(f"{ref.path} is not the image measured (SOP Instance UID "
                              "differs); reload the study")
        headers[ref.sop_instance_uid] = header
    multi = int(header.get("NumberOfFrames", 1) or 1) > 1
    return hd.sr.SourceImageForRegion(header.SOPClassUID, header.SOPInstanceUID,
                                      [ref.frame + 1] if multi else None)


def _scoord(points: list[tuple[float, float]]) -> np.ndarray:
    return np.array([(c + 0.5, r + 0.5) for c, r in points], dtype=np.float64)


def _region(m: Measurement, source: hd.sr.SourceImageForRegion) -> hd.sr.ImageRegion:
    if m.kind == "ellipse":
        (c0, r0), (c1, r1) = m.points_px
        cx, cy = (c0 + c1) / 2, (r0 + r1) / 2
        horizontal = [(c0, cy), (c1, cy)]
        vertical = [(cx, r0), (cx, r1)]
        major, minor = (horizontal, vertical) if abs(c1 - c0) >= abs(r1 - r0) \
            else (vertical, horizontal)
        return hd.sr.ImageRegion(hd.sr.GraphicTypeValues.ELLIPSE, _scoord(major + minor), source)
    if m.kind == "rectangle":
        (c0, r0), (c1, r1) = m.points_px
        outline = [(c0, r0), (c1, r0), (c1, r1), (c0, r1), (c0, r0)]
    else:
        outline = [*m.points_px, m.points_px[0]]
    return hd.sr.ImageRegion(hd.sr.GraphicTypeValues.POLYLINE, _scoord(outline), source)


def _tracking(content: ExportContent, m: Measurement, number: int) -> hd.sr.TrackingIdentifier:
    link = ""
    if m.finding_id:
        try:
            link = f", finding #{content.number_of(m.finding_id)}"
        except KeyError:
            link = ""
    name = m.label or m.kind
    return hd.sr.TrackingIdentifier(
        uid=generate_uid(entropy_srcs=[content.study.uid, "measurement", m.id]),
        identifier=f"Measurement {number}: {name} ({m.kind}{link})"[:64])


def _line(points: list[tuple[float, float]], source: hd.sr.SourceImageForRegion
          ) -> list[hd.sr.CoordinatesForMeasurement]:
    region_source = hd.sr.SourceImageForRegion(
        source.ReferencedSOPSequence[0].ReferencedSOPClassUID,
        source.ReferencedSOPSequence[0].ReferencedSOPInstanceUID,
        getattr(source.ReferencedSOPSequence[0], "ReferencedFrameNumber", None))
    return [hd.sr.CoordinatesForMeasurement(hd.sr.GraphicTypeValues.POLYLINE, _scoord(points),
                                            region_source)]


def measurement_group(content: ExportContent, m: Measurement, number: int,
                      headers: dict[str, Dataset]):
    """One measurement as a TID 1410 (ROI) or TID 1501 (lines, angle) group."""
    series = content.series(m.frame.series_uid)
    values = measure(m, series.volume, modality=series.modality)
    source = _source(content, m, headers)
    tracking = _tracking(content, m, number)
    if values.stats is not None:
        s = values.stats
        measurements = []
        if s.unit == "HU" and s.pixels:
            measurements += [hd.sr.Measurement(codes.DCM.AttenuationCoefficient,
                                               round(getattr(s, key), 3),
                                               codes.UCUM.HounsfieldUnit, derivation=derivation)
                             for key, derivation in _STATS]
        if s.area_unit == "mm2":
            measurements.append(hd.sr.Measurement(codes.SCT.Area, round(s.area, 3),
                                                  codes.UCUM.SquareMillimeter))
        return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking, referenced_region=_region(m, source),
            measurements=measurements or None)
    p = list(m.points_px)
    if values.angle_deg is not None:
        measurements = [hd.sr.Measurement(codes.SCT.Angle, round(values.angle_deg, 2),
                                          codes.UCUM.Degree,
                                          referenced_coordinates=_line(p, source))]
    elif values.length_unit == "mm":
        measurements = [
            hd.sr.Measurement(codes.SCT.LongAxis, round(values.long_axis or 0.0, 2),
                              codes.UCUM.Millimeter, referenced_coordinates=_line(p[:2], source)),
            hd.sr.Measurement(codes.SCT.ShortAxis, round(values.short_axis or 0.0, 2),
                              codes.UCUM.Millimeter, referenced_coordinates=_line(p[2:], source))]
    else:
        raise ExportError("a bidirectional measurement without calibrated spacing has no mm "
                          "to export")
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking, measurements=measurements)


def measurement_groups(content: ExportContent, headers: dict[str, Dataset]) -> list:
    """Every measurement of ``content``, numbered from 1 in drawing order."""
    return [measurement_group(content, m, k, headers)
            for k, m in enumerate(content.measurements, 1)]
