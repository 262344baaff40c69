"""DICOM Key Object Selection (highdicom): the frames that carry a box, as key images the
PACS and other viewers show ("Of Interest"), with the AI DRAFT marking as its description and
the model as the device observer."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from app.export.content import ExportContent, ExportError, write_atomic
from app.export.sr import MANUFACTURER, SERIES_NUMBER, source_header

KEY_IMAGES_SERIES = SERIES_NUMBER + 2


def _device_observer(content: ExportContent) -> hd.sr.ObserverContext:
    names = content.model_names
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=generate_uid(entropy_srcs=["medmo-model", names]), name=names[:64],
        manufacturer_name=MANUFACTURER, model_name=names[:64])
    return hd.sr.ObserverContext(observer_type=codes.DCM.Device,
                                 observer_identifying_attributes=device)


def build_key_objects(content: ExportContent) -> Dataset:
    """The Key Object Selection of every frame with a standing box (ExportError if none)."""
    if not content.findings:
        raise ExportError("the workspace holds no boxes for this study: no key images")
    headers: dict[str, Dataset] = {}
    for finding in content.findings:
        header, _frame = source_header(content, finding)
        headers.setdefault(str(header.SOPInstanceUID), header)
    selection = hd.ko.KeyObjectSelection(
        document_title=codes.DCM.OfInterest, referenced_objects=list(headers.values()),
        observer_device_context=_device_observer(content),
        description=f"Key images: {content.marking()}"[:1024])
    return hd.ko.KeyObjectSelectionDocument(
        evidence=list(headers.values()), content=selection,
        series_instance_uid=generate_uid(), series_number=KEY_IMAGES_SERIES,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer=MANUFACTURER,
        series_description=f"AI DRAFT key images ({content.model_names})"[:64])


def export_key_objects(content: ExportContent, out: str | Path) -> Path:
    ds = build_key_objects(content)
    return write_atomic(out, lambda p: ds.save_as(p, enforce_file_format=True))
