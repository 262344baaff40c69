"""One DICOM instance through the Basic Application Level Confidentiality Profile.

Two maintained libraries do the work, each for what it does well (README "De-identified
export" says why):

1. ``dicom-anonymizer``'s copy of PS3.15 Table E.1-1 (edition 2026c) decides, attribute by
   attribute, what is removed (X), emptied (Z) or replaced by a dummy (D); it also removes every
   private tag. MedMO overrides only where an option says so, and for the values that step 2
   remaps consistently (UIDs, the patient's name and ID, the accession number, dates when they
   are retained): those are kept for step 2 rather than blanked.
2. ``dicognito`` walks the whole instance, nested sequences included, and remaps every UID,
   person name and ID through a keyed hash, so a study stays one study across files and the
   references inside SRs and Key Object Selections follow; it also shifts every date by one
   offset per patient (the Retain Longitudinal Temporal Information with Modified Dates option).

MedMO's own part: dates without that option become a fixed dummy, text values inside an SR's
content tree become a dummy (the profile's D for Content Sequence, whose references are kept),
kept descriptors are cleaned of the patient's identifiers, and the PS3.15 markers are set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from viewer.deid.options import (
    DESCRIPTORS,
    PATIENT_CHARACTERISTICS_CLEAN,
    PATIENT_CHARACTERISTICS_KEEP,
    DeidOptions,
)

TABLE_EDITION = "dicomfields_2026c"
DATE_VRS = ("DA", "DT", "TM")
DUMMY_DATES = {"DA": "19000101", "DT": "19000101000000", "TM": "000000"}
DUMMY_TEXT = "REMOVED"
# Remapped by dicognito (a consistent dummy, which the profile allows for Z): kept for it.
REMAPPED_LATER = ("PatientName", "PatientID", "AccessionNumber", "StudyID")
# Table categories whose action may empty the value (Z) rather than remove it.
_EMPTYING = {"Z_TAGS", "X_Z_TAGS", "Z_D_TAGS", "X_Z_D_TAGS"}
# For dates a dummy is the safe choice wherever the table allows one: some are Type 1 (or 1C,
# where an empty value is an error and removal may be one too).
_DUMMYING = {"D_TAGS", "X_D_TAGS", "Z_D_TAGS", "X_Z_D_TAGS"}
# X/Z sequences that are Type 2 in the modules where they occur: zero items, not removed.
TYPE2_SEQUENCES = ("AcquisitionContextSequence",)
# Type 2 in the SR and Key Object Document Series modules, Type 3 (removed) in image series.
DOCUMENT_TYPE2_SEQUENCES = ("ReferencedPerformedProcedureStepSequence",)
DOCUMENT_MODALITIES = ("SR", "KO")
TagAction = Callable[[Dataset, Any], None]


def _keep(dataset: Dataset, tag: Any) -> None:
    """Leave the attribute for a later step (or as it is)."""


def _date_action(category: str) -> TagAction:
    """What the profile's action means for a date, time or datetime, with valid values (the
    library writes 00010101, which validators reject)."""

    def act(dataset: Dataset, tag: Any) -> None:
        element = dataset.get(tag)
        if element is None:
            return
        if category in _DUMMYING:
            element.value = DUMMY_DATES.get(element.VR, "")
        elif category in ("Z_TAGS", "X_Z_TAGS"):
            element.value = ""
        else:
            del dataset[tag]

    return act


def _delete(dataset: Dataset, tag: Any) -> None:
    if tag in dataset:
        del dataset[tag]


def _empty_sequence(dataset: Dataset, tag: Any) -> None:
    """Z for a sequence: zero items (the library empties each item's values instead, which
    leaves Type 1 attributes inside empty)."""
    element = dataset.get(tag)
    if element is not None:
        element.value = Sequence()


def cleaner(identifiers: Iterable[str]) -> Callable[[str], str]:
    """A function that removes each identifier (whole words, any case) from free text.

    >>> clean = cleaner(["Smith", "123456"])
    >>> clean("CT head for SMITH, MRN 123456; smithson kept")
    'CT head for , MRN ; smithson kept'
    """
    terms = sorted({t.strip() for t in identifiers if t and len(t.strip()) >= 3},
                   key=len, reverse=True)
    patterns = [re.compile(rf"(?<!\w){re.escape(t)}(?!\w)", re.IGNORECASE) for t in terms]

    def clean(text: str) -> str:
        for pattern in patterns:
            text = pattern.sub("", text)
        return text

    return clean


def _clean_action(clean: Callable[[str], str]) -> TagAction:
    def act(dataset: Dataset, tag: Any) -> None:
        element = dataset.get(tag)
        if element is None or element.VR == "SQ" or not element.value:
            return
        if element.VM > 1:
            element.value = [clean(str(v)) for v in element.value]
        else:
            element.value = clean(str(element.value))

    return act


def table_rules(options: DeidOptions, clean: Callable[[str], str]) -> dict[Any, TagAction]:
    """Table E.1-1's Basic profile column as ``dicom-anonymizer`` actions, with the options'
    columns laid over it."""
    from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
    from dicomanonymizer.simpledicomanonymizer import initialize_actions

    rules: dict[Any, TagAction] = initialize_actions(TABLE_EDITION)
    for category, tags in dicom_anonymization_database_selector(TABLE_EDITION).items():
        if category == "ALL_TAGS":
            continue  # the union of the others
        for tag in tags:
            if len(tag) != 2:
                continue  # repeating groups (curves, overlays' comments): the library's action
            try:
                vr = dictionary_VR(tag)
            except KeyError:
                continue
            keyword = keyword_for_tag(tag)
            if vr == "UI" or keyword in REMAPPED_LATER:
                rules[tag] = _keep
            elif vr == "SQ" and category == "X_Z_U_STAR_TAGS":
                rules[tag] = _keep  # U*: the references inside are remapped in step 2
            elif vr == "SQ" and keyword in TYPE2_SEQUENCES:
                rules[tag] = _empty_sequence
            elif vr == "SQ" and category.startswith("X"):
                rules[tag] = _delete  # Type 3 where X is allowed: zero items would be invalid
            elif vr == "SQ" and category in _EMPTYING:
                rules[tag] = _empty_sequence
            elif vr in DATE_VRS:
                retained = options.retain_dates and keyword != "PatientBirthDate"
                rules[tag] = _keep if retained else _date_action(category)
    rules[_tag("ContentSequence")] = _keep  # walked by dummy_content_text: references stay
    if options.retain_patient_characteristics:
        for keyword in PATIENT_CHARACTERISTICS_KEEP:
            rules[_tag(keyword)] = _keep
        for keyword in PATIENT_CHARACTERISTICS_CLEAN:
            rules[_tag(keyword)] = _clean_action(clean)
    if options.clean_descriptors:
        for keyword in DESCRIPTORS:
            rules[_tag(keyword)] = _clean_action(clean)
    return rules


def _tag(keyword: str) -> tuple[int, int]:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(f"{keyword} is not a DICOM keyword pydicom knows")
    return (tag >> 16, tag & 0xFFFF)


def apply_table(dataset: Dataset, options: DeidOptions, clean: Callable[[str], str]) -> None:
    """Step 1: the table's actions (top-level attributes; sequences as wholes) and removal of
    every private tag, nested ones included."""
    from dicomanonymizer.simpledicomanonymizer import anonymize_dataset

    rules = table_rules(options, clean)
    present = [k for k in DOCUMENT_TYPE2_SEQUENCES if k in dataset]
    anonymize_dataset(dataset, delete_private_tags=True, base_rules_gen=lambda: dict(rules))
    if dataset.get("Modality") in DOCUMENT_MODALITIES:
        for keyword in present:
            setattr(dataset, keyword, Sequence())


def dummy_dates(dataset: Dataset) -> None:
    """Without the Retain Longitudinal option: every date, time and datetime left anywhere
    (nested ones too) becomes a fixed dummy."""

    def visit(ds: Dataset, element: DataElement) -> None:
        if element.VR in DATE_VRS and element.value not in (None, ""):
            element.value = DUMMY_DATES[element.VR]

    dataset.walk(visit)


def dummy_content_text(dataset: Dataset) -> None:
    """The profile's D for Content Sequence, keeping the tree: each TEXT item's value becomes a
    dummy, while codes, numbers and references (UIDs remapped) stay, so an SR or a Key Object
    Selection still points at the same (de-identified) images."""

    def visit(items: Sequence) -> None:
        for item in items:
            if "TextValue" in item:
                item.TextValue = DUMMY_TEXT
            if "ContentSequence" in item:
                visit(item.ContentSequence)

    if "ContentSequence" in dataset:
        visit(dataset.ContentSequence)


def set_markers(dataset: Dataset, options: DeidOptions, *, masked: bool) -> None:
    """PatientIdentityRemoved, DeidentificationMethod (text) and its code sequence (CID 7050),
    and whether temporal information was modified or removed."""
    codes = options.method_codes(masked=masked)
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = [meaning for _, meaning in codes]
    items = []
    for value, meaning in codes:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    dataset.DeidentificationMethodCodeSequence = Sequence(items)
    dataset.LongitudinalTemporalInformationModified = (
        "MODIFIED" if options.retain_dates else "REMOVED")
