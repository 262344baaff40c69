"""The PDF report as a DICOM Encapsulated PDF in the study, so a PACS without an SR viewer
shows it. The PDF itself carries the AI DRAFT marking on every page; the DICOM title repeats
it until a person signs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import EncapsulatedPDFStorage, ExplicitVRLittleEndian, generate_uid

from app.export.content import ExportContent, write_atomic
from app.export.pdf import export_pdf
from app.export.sr import MANUFACTURER, SERIES_NUMBER
from app.export.text_sr import _PATIENT_STUDY, _code, _first_source

PDF_SERIES = SERIES_NUMBER + 3


def build_encapsulated_pdf(content: ExportContent) -> Dataset:
    """The study's PDF export wrapped as Encapsulated PDF Storage."""
    with tempfile.TemporaryDirectory(prefix="medmo-pdf-") as scratch:
        pdf = export_pdf(content, Path(scratch) / "report.pdf").read_bytes()
    source = _first_source(content)
    when = content.created
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = EncapsulatedPDFStorage, generate_uid()
    for keyword in _PATIENT_STUDY:
        setattr(ds, keyword, source.get(keyword, ""))
    ds.Modality, ds.SeriesInstanceUID = "DOC", generate_uid()
    ds.SeriesNumber, ds.InstanceNumber = PDF_SERIES, 1
    ds.SeriesDescription = f"AI DRAFT report PDF ({content.model_names})"[:64] \
        if not content.signed else f"Report PDF ({content.model_names})"[:64]
    ds.Manufacturer = MANUFACTURER
    ds.ConversionType = "WSD"
    ds.ContentDate = ds.InstanceCreationDate = ds.SeriesDate = when.strftime("%Y%m%d")
    ds.ContentTime = ds.InstanceCreationTime = ds.SeriesTime = when.strftime("%H%M%S")
    ds.AcquisitionDateTime = when.strftime("%Y%m%d%H%M%S")
    ds.BurnedInAnnotation = "YES"  # the PDF names the patient
    ds.DocumentTitle = ("AI DRAFT report" if not content.signed else "AI-assisted report")
    ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN",
                                                 "Diagnostic Imaging Report")])
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(pdf)
    ds.EncapsulatedDocument = pdf + (b"\0" if len(pdf) % 2 else b"")
    if not all(str(source.get(k, "")).isascii() for k in _PATIENT_STUDY):
        ds.SpecificCharacterSet = "ISO_IR 192"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def export_encapsulated_pdf(content: ExportContent, out: str | Path) -> Path:
    ds = build_encapsulated_pdf(content)
    return write_atomic(out, lambda p: pydicom.dcmwrite(p, ds, enforce_file_format=True))
