"""De-identify files, folders and DICOMDIRs into a folder: one file out per instance in.

:func:`deidentify_files` reads each input, refuses what may carry burned-in text (unless a mask
is given), applies the profile (:mod:`viewer.deid.profile`) with one pseudonym and one date
shift per patient, checks that no identifying value of the input is left, and writes the
instance as ``<new SOPInstanceUID>.dcm`` (input file names can hold names too). The report
lists what was written, refused and skipped, with reasons; the old -> new map stays in memory
until :func:`write_map` puts it in a file the user chose.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from viewer.deid.burned_in import blank_region, burned_in_reason
from viewer.deid.identifiers import collect, leftovers, patient_key
from viewer.deid.options import DeidOptions
from viewer.deid.profile import (
    apply_table,
    cleaner,
    dummy_content_text,
    dummy_dates,
    set_markers,
)

DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
REQUIRED = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One input file: ``path`` out (written) or ``reason`` (refused or skipped)."""

    source: str
    path: str = ""
    reason: str = ""
    masked: bool = False


@dataclass
class DeidReport:
    """What a run did. ``mapping`` (old -> new identifiers) is for :func:`write_map` only."""

    options: DeidOptions
    written: list[Outcome] = field(default_factory=list)
    refused: list[Outcome] = field(default_factory=list)
    skipped: list[Outcome] = field(default_factory=list)
    mapping: dict[str, Any] = field(default_factory=lambda: {"patients": {}, "instances": []})

    def to_dict(self) -> dict[str, Any]:
        """The summary printed by ``medmo deidentify --json`` (no old identifiers in it)."""
        return {
            "profile": "PS3.15 Basic Application Level Confidentiality Profile",
            "options": self.options.option_names(),
            "method_codes": [code for code, _ in self.options.method_codes()],
            "written": len(self.written), "refused": len(self.refused),
            "skipped": len(self.skipped),
            "files": [{"in": o.source, "out": o.path, "masked": o.masked} for o in self.written],
            "refused_files": [{"in": o.source, "reason": o.reason} for o in self.refused],
            "skipped_files": [{"in": o.source, "reason": o.reason} for o in self.skipped],
        }


def collect_inputs(paths: list[str | Path]) -> tuple[list[Path], list[Outcome]]:
    """The files to process, from files, folders (recursively) and DICOMDIRs (their
    instances), each once; plus the inputs that could not be listed, with reasons."""
    files: list[Path] = []
    skipped: list[Outcome] = []
    for given in map(Path, paths):
        if given.is_dir():
            files.extend(p for p in sorted(given.rglob("*")) if p.is_file())
        elif given.is_file():
            expanded = _dicomdir_files(given, skipped)
            files.extend(expanded if expanded is not None else [given])
        else:
            skipped.append(Outcome(str(given), reason="no such file or folder"))
    seen: set[Path] = set()
    unique = []
    for file in files:
        if file.resolve() not in seen:
            seen.add(file.resolve())
            unique.append(file)
    return unique, skipped


def _dicomdir_files(path: Path, skipped: list[Outcome]) -> list[Path] | None:
    """The instances a DICOMDIR lists, or None when ``path`` is not a DICOMDIR."""
    try:
        meta = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
    except (InvalidDicomError, OSError, ValueError):
        return None
    if str(getattr(meta, "file_meta", Dataset()).get("MediaStorageSOPClassUID", "")) \
            != DICOMDIR_CLASS:
        return None
    from pydicom.fileset import FileSet

    found = []
    for instance in FileSet(pydicom.dcmread(path)):
        if Path(instance.path).is_file():
            found.append(Path(instance.path))
        else:
            skipped.append(Outcome(str(instance.path), reason=f"listed in {path} but missing"))
    return found


class _Patients:
    """One dicognito Anonymizer per patient: its keyed hash gives the pseudonyms and UIDs, and
    its date offset is that patient's one shift."""

    def __init__(self, seed: str | None) -> None:
        self.salt = seed if seed is not None else secrets.token_hex(16)
        self._anonymizers: dict[str, Any] = {}

    def anonymizer(self, key: str) -> Any:
        from dicognito.anonymizer import Anonymizer

        if key not in self._anonymizers:
            self._anonymizers[key] = Anonymizer(seed=f"{self.salt}\x00{key}")
        return self._anonymizers[key]

    def shift_days(self, key: str) -> int:
        """The patient's date shift, measured on a probe date."""
        from datetime import date

        from pydicom.dataset import FileMetaDataset

        probe = Dataset()
        probe.file_meta = FileMetaDataset()
        probe.StudyDate = "20000101"
        self.anonymizer(key).anonymize(probe)
        shifted = probe.StudyDate
        return (date(int(shifted[:4]), int(shifted[4:6]), int(shifted[6:8]))
                - date(2000, 1, 1)).days


def deidentify_files(paths: list[str | Path], out_dir: str | Path, options: DeidOptions, *,
                     cancel: threading.Event | None = None) -> DeidReport:
    """De-identify every instance under ``paths`` into ``out_dir`` (created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files, skipped = collect_inputs(paths)
    report = DeidReport(options, skipped=skipped)
    patients = _Patients(options.seed)
    for file in files:
        if cancel is not None and cancel.is_set():
            report.skipped.append(Outcome(str(file), reason="cancelled"))
            continue
        report_one(file, out, options, patients, report)
    return report


def _pixels_short(dataset: Dataset) -> str:
    """Why the (uncompressed) pixel data is shorter than the header says, or ""."""
    if "PixelData" not in dataset or dataset.file_meta.TransferSyntaxUID.is_compressed:
        return ""
    try:
        expected = (int(dataset.Rows) * int(dataset.Columns) * int(dataset.BitsAllocated)
                    * int(dataset.get("SamplesPerPixel", 1))
                    * int(dataset.get("NumberOfFrames", 1) or 1) + 7) // 8
    except (AttributeError, TypeError, ValueError) as exc:
        return f"pixel description incomplete ({exc})"
    got = len(dataset.PixelData)
    return f"pixel data truncated ({got} of {expected} bytes)" if got < expected else ""


def report_one(file: Path, out: Path, options: DeidOptions, patients: _Patients,
               report: DeidReport) -> None:
    """Read, check, de-identify and write one file, adding its outcome to ``report``."""
    try:
        dataset = pydicom.dcmread(file)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        report.skipped.append(Outcome(str(file), reason=f"not a readable DICOM file ({exc})"))
        return
    media_class = str(getattr(dataset, "file_meta", Dataset()).get("MediaStorageSOPClassUID", ""))
    if media_class == DICOMDIR_CLASS:
        report.skipped.append(Outcome(str(file), reason="a DICOMDIR index, not an instance "
                                      "(its instances are processed as files)"))
        return
    missing = [k for k in REQUIRED if not dataset.get(k)]
    if missing:
        report.skipped.append(Outcome(str(file), reason=f"missing {', '.join(missing)} "
                                      "(truncated or not an image instance)"))
        return
    short = _pixels_short(dataset)
    if short:
        report.skipped.append(Outcome(str(file), reason=short))
        return
    suspect = burned_in_reason(dataset)
    if suspect and options.mask is None:
        report.refused.append(Outcome(str(file), reason=f"may carry burned-in text ({suspect}); "
                                      "give a region to mask (--mask X,Y,W,H) to export it"))
        return
    old = {k: str(dataset.get(k, "")) for k in REQUIRED[1:]}
    # Type 2C for animals (PS3.3 C.7.1.1): emptied, not removed, so the object stays valid
    responsible = [k for k in ("ResponsiblePerson", "ResponsibleOrganization") if k in dataset]
    found = collect(dataset)
    key = patient_key(dataset)
    try:
        if suspect and options.mask is not None:
            blank_region(dataset, options.mask)
        apply_table(dataset, options, cleaner(found.words()))
        patients.anonymizer(key).anonymize(dataset)
        if not options.retain_dates:
            dummy_dates(dataset)
        dummy_content_text(dataset)
        set_markers(dataset, options, masked=bool(suspect))
        for keyword in responsible:
            setattr(dataset, keyword, "")
    except (ValueError, TypeError, KeyError, NotImplementedError) as exc:
        report.refused.append(Outcome(str(file), reason=f"could not be de-identified ({exc})"))
        return
    left = leftovers(dataset, found, dates=not options.retain_dates)
    if left:
        report.refused.append(Outcome(str(file), reason="an identifying value was left in "
                                      f"{', '.join(left)}; not written"))
        return
    target = out / f"{dataset.SOPInstanceUID}.dcm"
    copy = 2
    while target.exists():
        target, copy = out / f"{dataset.SOPInstanceUID}-{copy}.dcm", copy + 1
    dataset.save_as(target, enforce_file_format=True)
    report.written.append(Outcome(str(file), path=str(target), masked=bool(suspect)))
    _remember(report, key, patients, old, dataset, file, target)


def _remember(report: DeidReport, key: str, patients: _Patients, old: dict[str, str],
              new: Dataset, file: Path, target: Path) -> None:
    people = report.mapping["patients"]
    if key not in people:
        old_id, old_name = key.split("\x00", 1)
        people[key] = {"old_patient_id": old_id, "old_patient_name": old_name,
                       "new_patient_id": str(new.get("PatientID", "")),
                       "new_patient_name": str(new.get("PatientName", "")),
                       "date_shift_days": (patients.shift_days(key)
                                           if report.options.retain_dates else None)}
    report.mapping["instances"].append({
        "in": str(file), "out": str(target),
        **{f"old_{k}": v for k, v in old.items()},
        **{f"new_{k}": str(new.get(k, "")) for k in old}})


def write_map(report: DeidReport, path: str | Path) -> Path:
    """Write the old -> new identifiers (patients, instances, date shifts) as JSON to ``path``,
    readable by its owner only: the link that allows re-identification at the site."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    body = {"profile": "PS3.15 Basic Application Level Confidentiality Profile",
            "options": report.options.option_names(),
            "patients": list(report.mapping["patients"].values()),
            "instances": report.mapping["instances"]}
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=1)
    return target
