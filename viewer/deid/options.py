"""What a de-identification run does: the PS3.15 profile, its options and a pixel mask.

The option columns of PS3.15 Table E.1-1 that MedMO supports, as the standard names them, and
the codes of PS3.16 CID 7050 (De-identification Method) that record them in the output's
DeidentificationMethodCodeSequence. The Basic profile's own column (which attribute is removed,
emptied, replaced or remapped) comes from the ``dicom-anonymizer`` package's copy of Table
E.1-1 (:mod:`viewer.deid.profile`); only the option columns, which no maintained package that
runs here carries, are listed in this file.
"""

from __future__ import annotations

from dataclasses import dataclass

# PS3.16 CID 7050, checked against pydicom's copy (pydicom.sr.codedict codes.DCM.*).
BASIC_PROFILE = ("113100", "Basic Application Confidentiality Profile")
CLEAN_PIXEL_DATA = ("113101", "Clean Pixel Data Option")
CLEAN_DESCRIPTORS = ("113105", "Clean Descriptors Option")
RETAIN_MODIFIED_DATES = ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")
RETAIN_PATIENT_CHARACTERISTICS = ("113108", "Retain Patient Characteristics Option")

# Table E.1-1, column "Rtn. Pat. Chars. Opt.": K (kept as is) and C (kept, cleaned).
PATIENT_CHARACTERISTICS_KEEP = (
    "PatientAge", "PatientSex", "PatientSize", "PatientWeight", "EthnicGroup",
    "PatientSexNeutered", "PregnancyStatus", "SmokingStatus",
)
PATIENT_CHARACTERISTICS_CLEAN = ("Allergies", "PatientState", "PreMedication", "SpecialNeeds")

# Table E.1-1, column "Clean Desc. Opt." (C: kept, with identifying text cleaned out): the
# attributes of that column that occur in imaging studies (RT plan, hanging protocol and
# specimen descriptors are left to the Basic profile, which removes them).
DESCRIPTORS = (
    "AcquisitionComments", "AcquisitionDeviceProcessingDescription",
    "AcquisitionProtocolDescription", "AdditionalPatientHistory",
    "AdmittingDiagnosesDescription", "Allergies", "CommentsOnRadiationDose",
    "CommentsOnThePerformedProcedureStep", "ContrastBolusAgent", "DerivationDescription",
    "DischargeDiagnosisDescription", "FrameComments", "IdentifyingComments", "ImageComments",
    "ImagingServiceRequestComments", "Impressions", "InterpretationDiagnosisDescription",
    "InterpretationText", "MedicalAlerts", "Occupation", "PatientComments", "PatientState",
    "PerformedProcedureStepDescription", "ProtocolName", "ReasonForStudy",
    "ReasonForTheImagingServiceRequest", "ReasonForTheRequestedProcedure", "ReasonForVisit",
    "RequestedContrastAgent", "RequestedProcedureComments", "RequestedProcedureDescription",
    "RequestedSeriesDescription", "ResultsComments", "ScheduledProcedureStepDescription",
    "SeriesDescription", "StudyComments", "StudyDescription", "VisitComments",
)


@dataclass(frozen=True, slots=True)
class PixelRegion:
    """A rectangle of every frame, in pixels (column ``x``, row ``y``, width, height), blanked
    when an instance may carry text burned into its pixels.

    >>> PixelRegion.parse("0,0,640,40")
    PixelRegion(x=0, y=0, width=640, height=40)
    >>> PixelRegion(0, 0, 0, 4)
    Traceback (most recent call last):
    ...
    ValueError: the mask's width and height must be at least 1 pixel (got 0x4)
    """

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.x < 0 or self.y < 0:
            raise ValueError(f"the mask starts inside the image: x and y >= 0 (got {self.x},"
                             f"{self.y})")
        if self.width < 1 or self.height < 1:
            raise ValueError("the mask's width and height must be at least 1 pixel "
                             f"(got {self.width}x{self.height})")

    @classmethod
    def parse(cls, text: str) -> PixelRegion:
        """``"X,Y,W,H"`` (pixels) as a region; ValueError says what is wrong."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4 or not all(p.isdigit() for p in parts):
            raise ValueError(f"a mask is X,Y,W,H in whole pixels (got {text!r})")
        x, y, w, h = (int(p) for p in parts)
        return cls(x, y, w, h)


@dataclass(frozen=True, slots=True)
class DeidOptions:
    """The Basic Application Level Confidentiality Profile plus the options chosen.

    ``mask``: a region to blank on instances that may carry burned-in text (without one they
    are refused). ``seed``: fixes the remapping (UIDs, names, date shifts) for reproducible
    tests; leave it None in use, so that nobody can recompute the mapping without the map file.

    >>> DeidOptions(retain_dates=True).method_codes()[1]
    ('113107', 'Retain Longitudinal Temporal Information Modified Dates Option')
    """

    retain_dates: bool = False
    retain_patient_characteristics: bool = False
    clean_descriptors: bool = False
    mask: PixelRegion | None = None
    seed: str | None = None

    def __post_init__(self) -> None:
        if self.seed is not None and not self.seed:
            raise ValueError("seed must be None (random) or a non-empty string")

    def method_codes(self, *, masked: bool = False) -> list[tuple[str, str]]:
        """The CID 7050 codes (value, meaning) for the profile and the options applied;
        ``masked``: this instance's pixels were cleaned with the mask."""
        codes = [BASIC_PROFILE]
        if self.retain_dates:
            codes.append(RETAIN_MODIFIED_DATES)
        if self.retain_patient_characteristics:
            codes.append(RETAIN_PATIENT_CHARACTERISTICS)
        if self.clean_descriptors:
            codes.append(CLEAN_DESCRIPTORS)
        if masked:
            codes.append(CLEAN_PIXEL_DATA)
        return codes

    def option_names(self) -> list[str]:
        """Short names of the options chosen, for reports and the audit log.

        >>> DeidOptions(clean_descriptors=True, retain_patient_characteristics=True).option_names()
        ['retain-patient-characteristics', 'clean-descriptors']
        """
        names = []
        if self.retain_dates:
            names.append("retain-dates")
        if self.retain_patient_characteristics:
            names.append("retain-patient-characteristics")
        if self.clean_descriptors:
            names.append("clean-descriptors")
        if self.mask is not None:
            names.append("mask")
        return names
