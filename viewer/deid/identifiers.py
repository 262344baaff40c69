"""The identifying values of an instance, read before de-identification, and the check that
none of them is left afterwards (a last line of defence: an instance that still holds one is
refused, not written)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

# IDs whose values identify the patient or the visit (dicognito's list, plus the patient's own).
ID_KEYWORDS = (
    "PatientID", "OtherPatientIDs", "AccessionNumber", "IssuerOfPatientID",
    "FillerOrderNumberImagingServiceRequest", "PlacerOrderNumberImagingServiceRequest",
    "PerformedProcedureStepID", "RequestedProcedureID", "ScheduledProcedureStepID",
    "MedicalRecordLocator", "AdmissionID", "StudyID",
)
UID_KEEP_SUFFIXES = ("ClassUID",)
WELL_KNOWN_UID_ROOT = "1.2.840.10008."
# The dummies MedMO writes: an input holding one (a birth date of 19000101) holds nothing
# identifying there.
DUMMY_VALUES = frozenset({"19000101", "19000101000000", "000000", "REMOVED"})
SHORTEST_CHECKED = 4  # shorter values (an ID "1", a name part "Li") match by chance


@dataclass(frozen=True, slots=True)
class Identifiers:
    """What identifies one instance's patient and study: names (and their parts), IDs, the
    birth date, other dates, and instance UIDs."""

    names: frozenset[str]
    ids: frozenset[str]
    birth_date: str
    dates: frozenset[str]
    uids: frozenset[str]

    def words(self) -> list[str]:
        """Name parts, IDs and the birth date: what cleaning removes from kept free text."""
        return sorted(self.names | self.ids | ({self.birth_date} - {""}))

    def checked(self, *, dates: bool) -> dict[str, str]:
        """value -> kind, for every value long enough to be searched for."""
        found: dict[str, str] = {}
        for kind, values in (("name", self.names), ("id", self.ids), ("uid", self.uids),
                             ("date", self.dates if dates else frozenset()),
                             ("birth date", frozenset({self.birth_date}))):
            for value in values:
                if len(value) >= SHORTEST_CHECKED and value not in DUMMY_VALUES:
                    found.setdefault(value, kind)
        return found


def _strings(element: DataElement) -> list[str]:
    value = element.value
    if value is None or element.VR == "SQ" or isinstance(value, bytes):
        return []
    values = value if element.VM > 1 else [value]
    return [str(v).strip() for v in values if str(v).strip()]


def patient_key(dataset: Dataset) -> str:
    """Which patient an instance belongs to (its original ID and name), for one date shift and
    one pseudonym per patient."""
    return f"{dataset.get('PatientID', '')}\x00{dataset.get('PatientName', '')}"


def collect(dataset: Dataset) -> Identifiers:
    """The identifying values of ``dataset`` (nested sequences included)."""
    names: set[str] = set()
    ids: set[str] = set()
    dates: set[str] = set()
    uids: set[str] = set()

    def visit(ds: Dataset, element: DataElement) -> None:
        if element.tag.is_private:
            return
        strings = _strings(element)
        if element.VR == "PN":
            for name in strings:
                names.add(name)
                names.update(p for p in re.split(r"[\^=\s,]+", name) if len(p) >= 3)
        elif element.keyword in ID_KEYWORDS:
            ids.update(strings)
        elif element.VR in ("DA", "DT"):
            dates.update(s[:8] for s in strings if len(s) >= 8)
        elif element.VR == "UI" and not element.keyword.endswith(UID_KEEP_SUFFIXES) \
                and element.keyword != "TransferSyntaxUID":
            uids.update(u for u in strings if not u.startswith(WELL_KNOWN_UID_ROOT))

    dataset.walk(visit)
    if hasattr(dataset, "file_meta"):
        dataset.file_meta.walk(visit)
    birth = str(dataset.get("PatientBirthDate", "") or "")
    return Identifiers(frozenset(names), frozenset(ids), birth, frozenset(dates),
                       frozenset(uids))


def leftovers(dataset: Dataset, identifiers: Identifiers, *, dates: bool) -> list[str]:
    """Keywords of the elements of ``dataset`` that still hold an identifying value (as a whole
    value or inside a longer text); ``dates``: original dates count as identifying."""
    wanted = identifiers.checked(dates=dates)
    # whole values or words: the name part MARY is not in PRIMARY
    patterns = [re.compile(rf"(?<![A-Za-z0-9]){re.escape(v)}(?![A-Za-z0-9])", re.IGNORECASE)
                for v in wanted]
    found: list[str] = []

    def visit(ds: Dataset, element: DataElement) -> None:
        for text in _strings(element):
            if any(p.search(text) for p in patterns):
                found.append(element.keyword or str(element.tag))
                return

    dataset.walk(visit)
    if hasattr(dataset, "file_meta"):
        dataset.file_meta.walk(visit)
    return sorted(set(found))
