"""A report fit to share: the export content with the patient, dates and people taken out.

The PDF of :mod:`app.export.pdf` is a clinical document and names the patient. Its
de-identified twin (``write_export("pdf-deid", ...)``) is drawn from this content instead: no
patient name, ID or study date, no study UID, no signer's name, no chat; the study description,
the report and the findings' labels are kept with the patient's names and IDs cleaned out, as
the Clean Descriptors option does for DICOM. The key images are pixels only, with no header
text (text burned into pixels is not looked for).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace

from app.export.content import ExportContent
from viewer.deid.profile import cleaner
from viewer.report import ReportDraft, split_sentences

DEIDENTIFIED = "DE-IDENTIFIED"


def deidentified_content(content: ExportContent) -> ExportContent:
    """``content`` with identifying values removed or cleaned (the original is not changed)."""
    study = content.study
    words = [w for w in study.patient_name.replace("^", " ").split() if len(w) >= 3]
    clean = cleaner([*words, study.patient_id, study.patient_name.replace("^", " ")])
    shared_study = replace(study, uid=DEIDENTIFIED, patient_id="", patient_name=DEIDENTIFIED,
                           date="", description=clean(study.description))
    return replace(content, study=shared_study, report=_clean_report(content.report, clean),
                   messages=())


def _clean_report(report: ReportDraft | None, clean: Callable[[str], str]
                  ) -> ReportDraft | None:
    """A copy with the texts cleaned and the signer's name removed; the sentence links stay
    when cleaning kept the sentences (it removes words, not sentence ends)."""
    if report is None:
        return None
    shared = copy.deepcopy(report)
    text = clean(report.text)
    if len(split_sentences(text)) != len(report.sentences()):
        shared = ReportDraft(report.study_uid, "", model_id=report.model_id)
        shared.signed_at = report.signed_at
    shared.text, shared.ai_text = text, clean(report.ai_text)
    shared.signer = "(name removed)" if report.signer else ""
    return shared
