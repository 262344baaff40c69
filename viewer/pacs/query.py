"""What a radiologist searches for, turned into DICOM matching keys, and what comes back.

Typed the way radiologists type: a name ``smith``, ``SMITH*``, ``smi*``, ``smith john`` or
``Smith, John`` (prefix match, case as the PACS matches names; Orthanc ignores case), IDs and
accession numbers exactly unless they hold ``*``/``?``, a word of the description anywhere in
it (ignoring case, matched here: DICOM would match it with case), one modality, and a date preset (today, last 7 days, ...) or a custom range. Results are
also filtered here with the same rules (:func:`matches`), so every server answers alike even
where it matched loosely or a key could not be sent to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

DATE_PRESETS = ("any date", "today", "yesterday", "last 7 days", "last 30 days",
                "last 365 days", "custom")
_DATE_RE = re.compile(r"^(\d{8})?(-)?(\d{8})?$")
_MODALITY_RE = re.compile(r"^[A-Z0-9]{1,16}$")


def name_pattern(typed: str) -> str:
    """A PN matching value from a typed name.

    >>> [name_pattern(t) for t in ("smith", "SMITH*", "smi*", "smith john", "Smith, John", "")]
    ['smith*', 'SMITH*', 'smi*', 'smith^john*', 'Smith^John*', '']
    >>> name_pattern("*ith")
    '*ith'
    """
    text = typed.strip()
    if not text:
        return ""
    text = re.sub(r"\s*,\s*|\s+", "^", text)
    if "*" in text or "?" in text:
        return text
    return text + "*"


def exact_pattern(typed: str) -> str:
    """IDs and accession numbers: as typed (wildcards kept), whitespace trimmed.

    >>> exact_pattern(" 12345 "), exact_pattern("PHANTOM-*")
    ('12345', 'PHANTOM-*')
    """
    return typed.strip()


def text_pattern(typed: str) -> str:
    """A word of a description, matched anywhere in it.

    >>> text_pattern("chest"), text_pattern("CT*"), text_pattern("")
    ('*chest*', 'CT*', '')
    """
    text = typed.strip()
    if not text or "*" in text or "?" in text:
        return text
    return f"*{text}*"


def date_range(preset: str, *, today: date, first: date | None = None,
               last: date | None = None) -> str:
    """A DICOM date range for a preset ("" = any date); ``custom`` uses ``first``/``last``.

    >>> d = date(2026, 11, 30)
    >>> date_range("today", today=d), date_range("last 7 days", today=d)
    ('20261130', '20261124-20261130')
    >>> date_range("custom", today=d, first=date(2026, 1, 1))
    '20260101-'
    """
    days = {"today": 0, "last 7 days": 6, "last 30 days": 29, "last 365 days": 364}
    if preset == "any date":
        return ""
    if preset == "yesterday":
        return (today - timedelta(days=1)).strftime("%Y%m%d")
    if preset in days:
        start = today - timedelta(days=days[preset])
        return today.strftime("%Y%m%d") if start == today else \
            f"{start:%Y%m%d}-{today:%Y%m%d}"
    if preset == "custom":
        a = first.strftime("%Y%m%d") if first else ""
        b = last.strftime("%Y%m%d") if last else ""
        return a if a and a == b else (f"{a}-{b}" if a or b else "")
    raise ValueError(f"unknown date preset {preset!r}; one of {DATE_PRESETS}")


@dataclass(frozen=True, slots=True)
class StudyQuery:
    """A study search as typed; :meth:`keys` gives the DICOM matching keys to send."""

    patient_name: str = ""
    patient_id: str = ""
    accession: str = ""
    date: str = ""  # DICOM date or range: 20260101, 20260101-20260131, 20260101-, -20260131
    modality: str = ""
    description: str = ""
    study_uid: str = ""

    def __post_init__(self) -> None:
        for name in ("patient_name", "patient_id", "accession", "description", "study_uid"):
            if "\\" in getattr(self, name):
                raise ValueError(f"{name} must not contain a backslash (it would send several "
                                 "values)")
        match = _DATE_RE.match(self.date.strip())
        if self.date.strip() and (not match or (match.group(2) is None and match.group(3))):
            raise ValueError(f"date {self.date!r} is not YYYYMMDD or a range YYYYMMDD-YYYYMMDD")
        if self.modality and not _MODALITY_RE.match(self.modality.strip().upper()):
            raise ValueError(f"modality {self.modality!r} is not a DICOM modality code (CT, MR, "
                             "...)")

    def keys(self) -> dict[str, str]:
        """DICOM keyword -> matching value for every field that was filled in."""
        keys = {
            "PatientName": name_pattern(self.patient_name),
            "PatientID": exact_pattern(self.patient_id),
            "AccessionNumber": exact_pattern(self.accession),
            "StudyDate": self.date.strip(),
            "ModalitiesInStudy": self.modality.strip().upper(),
            "StudyDescription": text_pattern(self.description),
            "StudyInstanceUID": self.study_uid.strip(),
        }
        return {k: v for k, v in keys.items() if v}

    def server_keys(self) -> dict[str, str]:
        """The keys sent to the PACS: all but the description, which DICOM matches with case
        (descriptions are mixed case, radiologists type lower case) and is matched here."""
        return {k: v for k, v in self.keys().items() if k != "StudyDescription"}


# What a study search asks back (beside the matching keys).
RETURN_KEYS = ("StudyInstanceUID", "PatientName", "PatientID", "StudyDate", "StudyTime",
               "AccessionNumber", "StudyDescription", "ModalitiesInStudy",
               "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances")


@dataclass(frozen=True, slots=True)
class StudyRecord:
    """One study as the PACS describes it (``series``/``instances`` None when not said)."""

    study_uid: str
    patient_id: str = ""
    patient_name: str = ""
    date: str = ""
    time: str = ""
    accession: str = ""
    description: str = ""
    modalities: tuple[str, ...] = ()
    series: int | None = None
    instances: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The record as ``medmo pacs find --json`` prints it."""
        return {"study_uid": self.study_uid, "patient_id": self.patient_id,
                "patient_name": self.patient_name, "date": self.date,
                "modalities": list(self.modalities), "series": self.series,
                "instances": self.instances, "accession": self.accession,
                "description": self.description}


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def record_from_values(values: dict[str, Any]) -> StudyRecord:
    """A record from keyword -> value (a C-FIND identifier or a QIDO result as a dict)."""
    def text(keyword: str) -> str:
        value = values.get(keyword)
        return "" if value is None else str(value).strip()

    raw = values.get("ModalitiesInStudy") or ()
    modalities = (raw,) if isinstance(raw, str) else tuple(str(m) for m in raw)
    return StudyRecord(
        study_uid=text("StudyInstanceUID"), patient_id=text("PatientID"),
        patient_name=text("PatientName"), date=text("StudyDate"), time=text("StudyTime"),
        accession=text("AccessionNumber"), description=text("StudyDescription"),
        modalities=tuple(m.strip() for m in modalities if str(m).strip()),
        series=_int(values.get("NumberOfStudyRelatedSeries")),
        instances=_int(values.get("NumberOfStudyRelatedInstances")))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """DICOM wildcard matching: ``*`` any run, ``?`` one character, else exact.

    >>> wildcard_match("smi*", "SMITH^JOHN", ignore_case=True)
    True
    >>> wildcard_match("12?4", "1234"), wildcard_match("123", "1234")
    (True, False)
    """
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    return re.fullmatch(regex, value, flags) is not None


def _in_range(value: str, rng: str) -> bool:
    if not value:
        return False  # a study without a date does not match a date search
    if "-" not in rng:
        return value == rng
    first, last = rng.split("-", 1)
    return (not first or value >= first) and (not last or value <= last)


def matches(record: StudyRecord, query: StudyQuery) -> bool:
    """Whether ``record`` answers ``query`` by DICOM's matching rules (names ignoring case).

    >>> r = StudyRecord("1.2", patient_name="SMITH^JOHN", date="20260105", modalities=("CT",))
    >>> matches(r, StudyQuery(patient_name="smith")), matches(r, StudyQuery(modality="MR"))
    (True, False)
    >>> matches(r, StudyQuery(date="20260101-20260131"))
    True
    """
    keys = query.keys()
    checks = (("PatientName", record.patient_name, True),
              ("PatientID", record.patient_id, False),
              ("AccessionNumber", record.accession, False),
              ("StudyDescription", record.description, True),
              ("StudyInstanceUID", record.study_uid, False))
    for keyword, value, ignore_case in checks:
        if keyword in keys and not wildcard_match(keys[keyword], value, ignore_case=ignore_case):
            return False
    if "StudyDate" in keys and not _in_range(record.date, keys["StudyDate"]):
        return False
    return not ("ModalitiesInStudy" in keys and record.modalities
                and keys["ModalitiesInStudy"] not in record.modalities)
