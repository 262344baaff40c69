"""DICOM Basic Text SR with the report text, built with pydicom (highdicom has no builder for
free text). PRELIMINARY, PARTIAL, UNVERIFIED; the model is the device observer; the first
content item repeats the AI DRAFT / AI-assisted marking."""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import BasicTextSRStorage, ExplicitVRLittleEndian, generate_uid

from app.export.content import ExportContent, ExportError, write_atomic
from app.export.sr import MANUFACTURER, SERIES_NUMBER

_PATIENT_STUDY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                  "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName",
                  "StudyID", "AccessionNumber", "StudyDescription")


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _item(relationship: str, value_type: str, concept: Dataset, **values) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType = relationship, value_type
    item.ConceptNameCodeSequence = Sequence([concept])
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _first_source(content: ExportContent) -> Dataset:
    for series in content.study.series:
        if series.source == "dicom" and series.frames:
            try:
                return pydicom.dcmread(series.frames[0].path, stop_before_pixels=True)
            except (OSError, pydicom.errors.InvalidDicomError) as exc:
                raise ExportError(f"cannot re-read {series.frames[0].path}: {exc}") from exc
    raise ExportError("the study has no DICOM series: a DICOM SR needs the patient and study "
                      "from a DICOM file (export PDF or Markdown instead)")


def build_text_sr(content: ExportContent) -> Dataset:
    """The report as a Basic Text SR in the study of the source images."""
    if content.report is None or not content.report.text.strip():
        raise ExportError("the workspace holds no report text for this study")
    source = _first_source(content)
    when = content.created
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = BasicTextSRStorage, generate_uid()
    for keyword in _PATIENT_STUDY:
        setattr(ds, keyword, source.get(keyword, ""))
    ds.Modality, ds.SeriesInstanceUID = "SR", generate_uid()
    ds.SeriesNumber, ds.InstanceNumber = SERIES_NUMBER + 1, 1
    ds.SeriesDescription = f"AI DRAFT report ({content.model_names})"[:64]
    ds.Manufacturer = MANUFACTURER
    ds.ContentDate = ds.InstanceCreationDate = ds.SeriesDate = when.strftime("%Y%m%d")
    ds.ContentTime = ds.InstanceCreationTime = ds.SeriesTime = when.strftime("%H%M%S")
    ds.CompletionFlag, ds.VerificationFlag, ds.PreliminaryFlag = \
        "PARTIAL", "UNVERIFIED", "PRELIMINARY"
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.PerformedProcedureCodeSequence = Sequence()
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic Imaging Report")])
    names = content.model_names
    context = [
        _item("HAS OBS CONTEXT", "CODE", _code("121005", "DCM", "Observer Type"),
              ConceptCodeSequence=Sequence([_code("121007", "DCM", "Device")])),
        _item("HAS OBS CONTEXT", "UIDREF", _code("121012", "DCM", "Device Observer UID"),
              UID=generate_uid(entropy_srcs=["medmo-model", names])),
        _item("HAS OBS CONTEXT", "TEXT", _code("121013", "DCM", "Device Observer Name"),
              TextValue=names),
        _item("HAS OBS CONTEXT", "TEXT",
              _code("121014", "DCM", "Device Observer Manufacturer"), TextValue=MANUFACTURER),
        _item("HAS OBS CONTEXT", "TEXT", _code("121015", "DCM", "Device Observer Model Name"),
              TextValue=names),
    ]
    marking = _item("CONTAINS", "TEXT", _code("121106", "DCM", "Comment"),
                    TextValue=content.marking())
    lines = [line.strip() for line in content.report.text.splitlines() if line.strip()]
    findings = _item("CONTAINS", "CONTAINER", _code("121070", "DCM", "Findings"),
                     ContinuityOfContent="SEPARATE", ContentSequence=Sequence([
                         _item("CONTAINS", "TEXT", _code("121071", "DCM", "Finding"),
                               TextValue=line) for line in lines]))
    ds.ContentSequence = Sequence([*context, marking, findings])
    if not all(str(v).isascii() for v in (*lines, names, *(source.get(k, "") for k in
                                                          _PATIENT_STUDY))):
        ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8, only when needed (tools know ASCII)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def export_text_sr(content: ExportContent, out: str | Path) -> Path:
    ds = build_text_sr(content)
    return write_atomic(out, lambda p: ds.save_as(p, enforce_file_format=True))
