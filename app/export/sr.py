"""DICOM SR export: a TID 1500 Comprehensive 3D SR (highdicom), one measurement group per
finding. A box alone on its slice is a planar ROI group (TID 1410): its image region (closed
5-point SCOORD POLYLINE in the source image's pixel space) references the source SOP instance
read from the original file, with width/height in mm. A 3D finding (boxes on adjacent slices,
:mod:`viewer.findings3d`) is ONE volumetric ROI group (TID 1411) holding its box on each slice
it spans, each referencing that slice's instance, with its long axis and volume estimate.
The reader's measurements follow, one planar ROI group each (:mod:`app.export.sr_measurements`).
PRELIMINARY (CompletionFlag PARTIAL, VerificationFlag UNVERIFIED), the model named as the
device observer and, for its boxes, as the algorithm."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from app.export.content import ExportContent, ExportError, standing_box, write_atomic
from app.export.sr_measurements import measurement_groups
from viewer.annotations import Finding, measure_box
from viewer.volume_findings import FindingGroup

MANUFACTURER = "MedMO Viewer"
SERIES_NUMBER = 990


def source_header(content: ExportContent, finding: Finding) -> tuple[Dataset, int]:
    """The original file's header for the frame a box is on, and the 0-based frame inside it.

    Raises ExportError when the frame is not from a DICOM file or the file is not the instance
    the box was drawn on (the study on disk changed since).
    """
    ann = standing_box(finding)
    series = content.series(ann.frame.series_uid)
    ref = series.frames[ann.frame.frame_index]
    if series.source != "dicom" or not ref.sop_instance_uid:
        raise ExportError(f"series {series.description!r} is not DICOM: a DICOM SR can only "
                          "reference DICOM images (export PDF or Markdown instead)")
    try:
        header = pydicom.dcmread(ref.path, stop_before_pixels=True)
    except (OSError, pydicom.errors.InvalidDicomError) as exc:
        raise ExportError(f"cannot re-read the source image {ref.path}: {exc}") from exc
    expected = ann.frame.sop_instance_uid or ref.sop_instance_uid
    if header.get("SOPInstanceUID") != expected or ref.sop_instance_uid != expected:
        raise ExportError(f"{ref.path} is not the image the box was drawn on (SOP Instance "
                          "UID differs); reload the study")
    return header, ref.frame


def _model_context(content: ExportContent) -> hd.sr.ObservationContext:
    names = content.model_names
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=generate_uid(entropy_srcs=["medmo-model", names]), name=names[:64],
        manufacturer_name=MANUFACTURER, model_name=names[:64])
    return hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
        observer_type=codes.DCM.Device, observer_identifying_attributes=device))


def _region(content: ExportContent, finding: Finding,
            headers: dict[str, Dataset]) -> hd.sr.ImageRegion:
    """The box as a closed polyline on its source instance (whose header joins ``headers``)."""
    header, frame = source_header(content, finding)
    headers.setdefault(header.SOPInstanceUID, header)
    multi = int(header.get("NumberOfFrames", 1) or 1) > 1
    source = hd.sr.SourceImageForRegion(header.SOPClassUID, header.SOPInstanceUID,
                                        [frame + 1] if multi else None)
    box = standing_box(finding).box
    return hd.sr.ImageRegion(hd.sr.GraphicTypeValues.POLYLINE,
                             np.array(box.closed_polyline_px(), dtype=np.float64), source)


def _algorithm(findings: list[Finding]) -> hd.sr.AlgorithmIdentification | None:
    model = next((f.prediction.model_id for f in findings
                  if f.prediction is not None and f.prediction.model_id), "")
    return hd.sr.AlgorithmIdentification(model[:64], "1") if model else None


def _volume_group(content: ExportContent, group: FindingGroup, members: list[Finding],
                  number: int, headers: dict[str, Dataset]
                  ) -> hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations:
    """A 3D finding: its box on every slice it spans, one measurement group."""
    members = sorted(members, key=lambda f: standing_box(f).frame.frame_index)
    finding = group.finding
    tracking = hd.sr.TrackingIdentifier(
        uid=generate_uid(entropy_srcs=[content.study.uid, *sorted(group.ids)]),
        identifier=(f"Finding {number}: {finding.label}, slices {finding.first_frame + 1}-"
                    f"{finding.last_frame + 1} ({content.group_review(group)})")[:64])
    measurements = []
    if finding.unit == "mm" and finding.volume_mm3 is not None:
        measurements = [
            hd.sr.Measurement(codes.SCT.LongAxis, round(finding.long_axis, 2),
                              codes.UCUM.Millimeter),
            hd.sr.Measurement(codes.SCT.Volume, round(finding.volume_mm3, 1),
                              codes.UCUM.CubicMillimeter)]
    return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking,
        referenced_regions=[_region(content, f, headers) for f in members],
        finding_type=codes.DCM.AbnormalRegion, algorithm_id=_algorithm(members),
        measurements=measurements or None)


def _group(content: ExportContent, finding: Finding, number: int,
           headers: dict[str, Dataset]) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations:
    ann = standing_box(finding)
    region = _region(content, finding, headers)
    review = "radiologist" if finding.prediction is None else f"model, {finding.kind}"
    tracking = hd.sr.TrackingIdentifier(
        uid=generate_uid(entropy_srcs=[content.study.uid, finding.id]),
        identifier=f"Finding {number}: {ann.label} ({review})"[:64])
    measurements = []
    size = measure_box(ann.box, content.series(ann.frame.series_uid).volume,
                       ann.frame.frame_index)
    if size.unit == "mm":
        measurements = [
            hd.sr.Measurement(codes.SCT.Width, round(size.width, 2), codes.UCUM.Millimeter),
            hd.sr.Measurement(codes.DCM.Height, round(size.height, 2), codes.UCUM.Millimeter)]
    return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking, referenced_region=region,
        finding_type=codes.DCM.AbnormalRegion, algorithm_id=_algorithm([finding]),
        measurements=measurements or None)


def build_measurement_sr(content: ExportContent) -> Dataset:
    """The TID 1500 measurement report for the boxes and the measurements of ``content``
    (ExportError if it has neither)."""
    if not content.findings and not content.measurements:
        raise ExportError("the workspace holds no boxes or measurements for this study: "
                          "nothing to put in a measurement SR")
    headers: dict[str, Dataset] = {}
    by_id = {f.id: f for f in content.findings}
    groups: list = []
    for k, group in enumerate(content.groups, 1):
        members = [by_id[fid] for fid in group.live_ids]
        groups.append(_group(content, members[0], k, headers) if len(members) == 1
                      else _volume_group(content, group, members, k, headers))
    groups += measurement_groups(content, headers)
    modality = content.study.series[0].modality if content.study.series else ""
    procedure = codes.LN.CTUnspecifiedBodyRegion if modality == "CT" else \
        codes.SCT.ImagingProcedure
    report = hd.sr.MeasurementReport(observation_context=_model_context(content),
                                     procedure_reported=procedure, imaging_measurements=groups)
    sr = hd.sr.Comprehensive3DSR(
        evidence=list(headers.values()), content=report,
        series_instance_uid=generate_uid(), series_number=SERIES_NUMBER,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer=MANUFACTURER,
        is_complete=False, is_final=False, is_verified=False,
        series_description=(f"AI DRAFT boxes ({content.model_names})" if content.findings
                            else "Measurements")[:64])
    return sr


def export_measurement_sr(content: ExportContent, out: str | Path) -> Path:
    sr = build_measurement_sr(content)
    return write_atomic(out, lambda p: sr.save_as(p, enforce_file_format=True))
