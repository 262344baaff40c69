"""Real DICOM files with identifiers, for the de-identification tests: pydicom's test files and
deid-data's (``pip install deid-data``), copied to a folder; plus what a byte search of an
output must not find, and dciodvfy's errors."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import deid_data
import highdicom as hd
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

DEID_DATA = Path(deid_data.__file__).parent / "data"
DUMMIES = {"19000101", "19000101000000", "000000"}


def pydicom_file(name: str) -> Path:
    return Path(get_testdata_file(name))


def copy_study(directory: Path) -> list[Path]:
    """CT_small.dcm three times as one series (new SOPInstanceUIDs from the original's), MR_small
    and rtdose (other patients), the cat from deid-data (private tags, an animal), and a Key
    Object Selection that points at the three CT instances."""
    directory.mkdir(parents=True, exist_ok=True)
    ct = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    paths, headers = [], []
    for k in range(3):
        ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"{ct.SOPInstanceUID}.{k}"
        ds.InstanceNumber = k + 1
        paths.append(directory / f"CompressedSamples_CT1_{k}.dcm")  # a name in a file name
        ds.save_as(paths[-1], enforce_file_format=True)
        headers.append(ds)
    for source in (pydicom_file("MR_small.dcm"), pydicom_file("rtdose.dcm"),
                   DEID_DATA / "animals" / "cat.dcm"):
        paths.append(directory / source.name)
        shutil.copy(source, paths[-1])
    paths.append(directory / "key-images.dcm")
    key_objects(headers).save_as(paths[-1], enforce_file_format=True)
    return paths


def key_objects(headers: list[Dataset]) -> Dataset:
    selection = hd.ko.KeyObjectSelection(document_title=codes.DCM.OfInterest,
                                         referenced_objects=headers,
                                         description="Key images")
    return hd.ko.KeyObjectSelectionDocument(
        evidence=headers, content=selection, series_instance_uid=pydicom.uid.generate_uid(),
        series_number=99, sop_instance_uid=pydicom.uid.generate_uid(), instance_number=1,
        manufacturer="MedMO tests")


def identifying_values(path: Path, *, dates: bool = True) -> dict[str, str]:
    """value -> where, for every identifying value of the input ``path``: person names and
    their parts, IDs, dates (``dates``), instance UIDs, and private values not also held by a
    public attribute. Short values (< 4 characters) match by chance and are left out."""
    ds = pydicom.dcmread(path)
    public: set[str] = set()
    found: dict[str, str] = {}

    def add(value: str, where: str) -> None:
        if len(value) >= 4 and value not in DUMMIES:
            found.setdefault(value, where)

    def visit(_ds: Dataset, el) -> None:
        if el.VR == "SQ" or isinstance(el.value, bytes) or el.value in (None, ""):
            return
        values = [str(v).strip() for v in (el.value if el.VM > 1 else [el.value])]
        if el.tag.is_private:
            return
        public.update(values)
        for v in values:
            if el.VR == "PN":
                add(v, el.keyword)
                for part in re.split(r"[\^=\s]+", v):
                    add(part, el.keyword)
            elif el.keyword in ("PatientID", "OtherPatientIDs", "AccessionNumber",
                                "InstitutionName", "ReferringPhysicianName", "StationName"):
                add(v, el.keyword)
            elif el.VR in ("DA", "DT") and dates or el.keyword == "PatientBirthDate":
                add(v[:8], el.keyword)
            elif el.VR == "UI" and not el.keyword.endswith("ClassUID") \
                    and el.keyword != "TransferSyntaxUID" and not v.startswith("1.2.840.10008."):
                add(v, el.keyword)

    ds.walk(visit)
    ds.file_meta.walk(visit)
    # the profile keeps the device's maker (MR_small's institution is "TOSHIBA", its maker too)
    makers = " ".join(str(ds.get(k, "")) for k in ("Manufacturer", "ManufacturerModelName"))
    found = {v: where for v, where in found.items() if v not in makers}
    for el in ds.iterall():
        if el.tag.is_private and not el.tag.is_private_creator and el.VR in (
                "LO", "SH", "LT", "ST", "UT", "PN", "DA", "UI", "CS", "DS", "IS") and el.value:
            for v in (el.value if el.VM > 1 else [el.value]):
                v = str(v).strip()
                if len(v) >= 6 and v not in public and not re.fullmatch(r"[\d.\-+ ]+", v):
                    add(v, f"private {el.tag}")
    return found


def left_in_bytes(output: Path, values: dict[str, str]) -> dict[str, str]:
    """The values found in the raw bytes of ``output`` as whole words (the name part MARY in
    the image type PRIMARY is not a leak; MARY^ or MARY followed by a space is)."""
    raw = output.read_bytes()
    return {v: where for v, where in values.items()
            if re.search(rb"(?<![A-Za-z0-9])" + re.escape(v.encode()) + rb"(?![A-Za-z0-9])",
                         raw)}


def dciodvfy_errors(path: Path) -> set[str]:
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True,
                         errors="replace", check=False)
    return {line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")}
