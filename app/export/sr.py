"""DICOM SR export: a TID 1500 Comprehensive 3D SR (highdicom) holding each box as an image
region (closed 5-point SCOORD POLYLINE in the source image's pixel space) that references the
source SOP instance read from the original file, with width/height in mm; PRELIMINARY
(CompletionFlag PARTIAL, VerificationFlag UNVERIFIED), the model named as the device observer
and, for its boxes, as the algorithm."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from app.export.content import ExportContent, ExportError, write_atomic
from viewer.annotations import Finding, measure_box

MANUFACTURER = "MedMO Viewer"
SERIES_NUMBER = 990


def source_header(content: ExportContent, finding: Finding) -> tuple[Dataset, int]:
    """The original file's header for the frame a box is on, and the 0-based frame inside it.

    Raises ExportError when the frame is not from a DICOM file or the file is not the instance
    the box was drawn on (the study on disk changed since).
    """
    ann = finding.current
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


def _group(content: ExportContent, finding: Finding, number: int,
           headers: dict[str, Dataset]) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations:
    ann = finding.current
    header, frame = source_header(content, finding)
    headers.setdefault(header.SOPInstanceUID, header)
    multi = int(header.get("NumberOfFrames", 1) or 1) > 1
    source = hd.sr.SourceImageForRegion(header.SOPClassUID, header.SOPInstanceUID,
                                        [frame + 1] if multi else None)
    region = hd.sr.ImageRegion(hd.sr.GraphicTypeValues.POLYLINE,
                               np.array(ann.box.closed_polyline_px(), dtype=np.float64), source)
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
    algorithm = None
    if finding.prediction is not None and finding.prediction.model_id:
        algorithm = hd.sr.AlgorithmIdentification(finding.prediction.model_id[:64], "1")
    return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking, referenced_region=region,
        finding_type=codes.DCM.AbnormalRegion, algorithm_id=algorithm,
        measurements=measurements or None)


def build_measurement_sr(content: ExportContent) -> Dataset:
    """The TID 1500 measurement report for the boxes of ``content`` (ExportError if none)."""
    if not content.findings:
        raise ExportError("the workspace holds no boxes for this study: nothing to put in a "
                          "measurement SR")
    headers: dict[str, Dataset] = {}
    groups = [_group(content, f, k, headers) for k, f in enumerate(content.findings, 1)]
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
        series_description=f"AI DRAFT boxes ({content.model_names})"[:64])
    return sr


def export_measurement_sr(content: ExportContent, out: str | Path) -> Path:
    sr = build_measurement_sr(content)
    return write_atomic(out, lambda p: sr.save_as(p, enforce_file_format=True))
