"""What an export holds, gathered from a loaded study and the workspace, and atomic writing."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from inference.boxes import without_box_tags
from viewer.annotations import Annotation, Finding, measure_box
from viewer.measurements import Measurement, measure
from viewer.measurements.shapes import frames_by_sop
from viewer.report import ReportDraft
from viewer.study import Series, Study
from viewer.volume_findings import FindingGroup, group_findings

if TYPE_CHECKING:
    from app.store.workspace import ChatMessage, Workspace

AI_DRAFT = "AI DRAFT - not verified by a physician"
BOX_LEGEND = "Orange: model prediction as given. Green: drawn or changed by the radiologist."


class ExportError(RuntimeError):
    """Nothing to export, or the study and the workspace do not fit together (says why)."""


def standing_box(finding: Finding) -> Annotation:
    """The current box of an exported finding (an export leaves deleted findings out)."""
    if finding.current is None:
        raise ExportError(f"finding {finding.id} was deleted: it has no box to export")
    return finding.current


@dataclass(frozen=True)
class ExportContent:
    """One study's export: findings that stand (deleted ones left out), report, chats.

    The findings are reported as 3D findings (:attr:`groups`: the boxes of adjacent slices
    joined, :mod:`viewer.findings3d`), numbered in that order; a box alone on its slice is a
    finding of its own.
    """

    study: Study
    findings: tuple[Finding, ...]
    report: ReportDraft | None
    messages: tuple[ChatMessage, ...] = ()
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    measurements: tuple[Measurement, ...] = ()  # on their frames of the loaded study

    @property
    def model_ids(self) -> list[str]:
        """Every model that contributed (report, answers, predicted boxes), first seen first."""
        seen: list[str] = []
        candidates = [self.report.model_id if self.report else ""]
        candidates += [m.model_id for m in self.messages if m.role == "assistant"]
        candidates += [f.prediction.model_id for f in self.findings if f.prediction]
        for model in candidates:
            if model and model not in seen:
                seen.append(model)
        return seen

    @property
    def model_names(self) -> str:
        return ", ".join(self.model_ids) or "no model recorded"

    @property
    def signed(self) -> bool:
        return self.report is not None and self.report.status == "signed"

    def marking(self) -> str:
        """The line every page/document carries: AI DRAFT, or who signed an AI-assisted report."""
        if self.signed:
            r = self.report
            assert r is not None  # signed: there is a report
            return f"AI-assisted report ({self.model_names}); signed by {r.signer} {r.signed_at}"
        return f"{AI_DRAFT}. AI-assisted ({self.model_names})"

    @property
    def patient(self) -> str:
        """``Family, Given Middle (ID)`` from the DICOM person name, for the report header.

        Exports are clinical documents and name the patient; logs never do.
        """
        parts = [p.strip() for p in self.study.patient_name.split("^")]
        name = ", ".join(x for x in (parts[0], " ".join(p for p in parts[1:3] if p)) if x)
        return f"{name or '-'} ({self.study.patient_id or '-'})"

    def series(self, series_uid: str) -> Series:
        for s in self.study.series:
            if s.uid == series_uid:
                return s
        raise ExportError(f"finding on series {series_uid} which is not in the loaded study")

    def size_text(self, finding: Finding) -> str:
        ann = finding.shown
        volume = self.series(ann.frame.series_uid).volume
        return str(measure_box(ann.box, volume, ann.frame.frame_index))

    @cached_property
    def groups(self) -> list[FindingGroup]:
        """The standing boxes joined into 3D findings, in report order."""
        return group_findings(self.findings, lambda uid: self.series(uid).volume)

    def group_size(self, group: FindingGroup) -> str:
        """In-plane size of the largest slice; for several slices also the craniocaudal
        extent and the volume estimate."""
        f = group.finding
        return str(f.in_plane) if f.single else f.size_text()

    def group_slices(self, group: FindingGroup) -> str:
        """``"4/6"`` for one slice, ``"43-50/100"`` for several (1-based, of the series)."""
        f = group.finding
        n = self.series(f.series_uid).volume.n_frames
        return f"{f.first_frame + 1}/{n}" if f.single else \
            f"{f.first_frame + 1}-{f.last_frame + 1}/{n}"

    @staticmethod
    def group_review(group: FindingGroup) -> str:
        """``"radiologist"``, or ``"model, <status of its boxes>"``."""
        return f"model, {group.status}" if group.from_model else "radiologist"

    def report_lines(self) -> list[str]:
        """The report text line by line, each linked sentence followed by ``[#n]``, the
        numbers of its boxes in the findings table (links to deleted boxes are left out).
        Box markup a draft may still hold (one drafted before drafts dropped it, or pasted)
        is never printed: the ``[#n]`` references stand for the boxes."""
        if self.report is None:
            return []
        text = self.report.text
        standing = {f.id for f in self.findings}
        for sentence in reversed(self.report.sentences()):
            refs = list(dict.fromkeys(f"#{self.number_of(fid)}" for fid in
                                      self.report.findings_for(sentence.id) if fid in standing))
            if refs:
                text = f"{text[:sentence.end]} [{', '.join(refs)}]{text[sentence.end:]}"
        return without_box_tags(text)[0].splitlines()

    def measurement_rows(self) -> list[tuple[str, str, str, str, str]]:
        """One row per measurement: label, kind, slice, values (as shown beside it in the
        viewer) and the finding it measures (``#n``), for the Markdown and PDF tables."""
        rows = []
        for m in self.measurements:
            series = self.series(m.frame.series_uid)
            values = measure(m, series.volume, modality=series.modality)
            link = ""
            if m.finding_id:
                try:
                    link = f"#{self.number_of(m.finding_id)}"
                except KeyError:
                    link = "(box deleted)"
            rows.append((m.label or "-", m.kind,
                         f"{m.frame.frame_index + 1}/{series.volume.n_frames}",
                         "; ".join(values.lines()), link))
        return rows

    def number_of(self, finding_id: str) -> int:
        """1-based number of the 3D finding holding a box, as printed in the exports."""
        for k, group in enumerate(self.groups, 1):
            if finding_id in group.ids:
                return k
        raise KeyError(finding_id)


def gather(study: Study, workspace: Workspace, *, created: datetime | None = None
           ) -> ExportContent:
    """Collect what ``workspace`` holds for ``study``; ExportError if it holds nothing."""
    if not workspace.has_data(study.uid):
        raise ExportError(
            f"the workspace {workspace.directory} holds nothing for this study "
            "(no boxes, measurements, chats or report); open it in the viewer or run `medmo ask ... "
            "--workspace` first")
    findings = [f for f in workspace.load_annotations(study.uid) if f.current is not None]
    findings.sort(key=_reading_order)
    stored = workspace.load_measurements(study.uid)
    stored.relocate(frames_by_sop(study.series))
    by_series = {s.uid: s.volume.n_frames for s in study.series}
    measurements = tuple(m for m in stored  # only those whose image is loaded
                         if m.frame.frame_index < by_series.get(m.frame.series_uid, 0))
    content = ExportContent(study, tuple(findings), workspace.latest_report(study.uid),
                            tuple(workspace.messages(study.uid)),
                            created or datetime.now(UTC), measurements)
    for f in findings:
        frame = standing_box(f).frame
        series = content.series(frame.series_uid)
        if frame.frame_index >= series.volume.n_frames:
            raise ExportError(f"a box is on frame {frame.frame_index + 1} but the "
                              f"loaded series has {series.volume.n_frames} frames")
    return content


def _reading_order(finding: Finding) -> tuple[str, int, float, float]:
    ann = standing_box(finding)
    return ann.frame.series_uid, ann.frame.frame_index, ann.box.y0, ann.box.x0


def write_atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(temp_path)``, fsync, then rename over ``path``: readers never see half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
