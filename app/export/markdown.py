"""Markdown export: marking, study, report text with finding numbers, findings table, images."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from app.export.content import BOX_LEGEND, ExportContent, write_atomic
from app.export.images import key_frames, render_key_image


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(content: ExportContent, image_links: dict[tuple[str, int], str] | None = None
                    ) -> str:
    """The document as Markdown text. ``image_links`` maps key frames to image paths."""
    study, report = content.study, content.report
    lines = [f"> **{content.marking()}**", "", f"# {study.description or 'Imaging'} report", "",
             f"- Patient: {content.patient}",
             f"- Study date: {study.date or '-'}; StudyInstanceUID {study.uid}",
             f"- Model: {content.model_names}",
             f"- Exported: {content.created.isoformat(timespec='seconds')}", ""]
    lines += ["## Report", ""]
    if report is None or not report.text.strip():
        lines += ["_No report text yet._", ""]
    else:
        lines += [f"{line}  " if line.strip() else "" for line in content.report_lines()]
        lines += ["", f"Status: {report.status}" + (
            f", signed by {report.signer} at {report.signed_at}" if report.signer else
            " (AI DRAFT)"), ""]
    lines += ["## Findings", ""]
    if not content.findings:
        lines += ["_No boxes._", ""]
    else:
        lines += ["One line per finding; boxes on adjacent slices are one finding (slice "
                  "range, in-plane size of its largest slice, craniocaudal extent, volume "
                  "estimate from the boxes).", "",
                  "| # | Label | Series | Slice | Location | Size | Review | Source |",
                  "|---|---|---|---|---|---|---|---|"]
        for k, group in enumerate(content.groups, 1):
            f = group.finding
            series = content.series(f.series_uid)
            source = "model" if group.from_model else "radiologist"
            lines.append(f"| {k} | {_escape(f.label)} | {_escape(series.description)} | "
                         f"{content.group_slices(group)} | {f.location_text()} | "
                         f"{content.group_size(group)} | {group.status} | {source} |")
        lines.append("")
    if content.measurements:
        lines += ["## Measurements", "",
                  "| # | Label | Kind | Slice | Values | Finding |", "|---|---|---|---|---|---|"]
        for k, (label, kind, where, values, link) in enumerate(content.measurement_rows(), 1):
            lines.append(f"| {k} | {_escape(label)} | {kind} | {where} | {_escape(values)} | "
                         f"{link} |")
        lines.append("")
    if image_links:
        lines += [f"_{BOX_LEGEND}_", ""]
    for key, link in (image_links or {}).items():
        series = content.series(key[0])
        lines += [f"![{series.description}, slice {key[1] + 1}]({link})", ""]
    lines += ["---", f"_{content.marking()}_", ""]
    return "\n".join(lines)


def export_markdown(content: ExportContent, out: str | Path) -> list[Path]:
    """Write ``out`` (.md) and its key images in ``<stem>-images/``; returns the paths."""
    out = Path(out)
    folder = out.with_name(f"{out.stem}-images")
    written, links = [], {}
    for series_uid, frame in key_frames(content):
        name = f"series{content.study.series.index(content.series(series_uid)) + 1}-" \
               f"slice{frame + 1}.png"
        image = render_key_image(content, series_uid, frame)
        written.append(write_atomic(folder / name, partial(image.save, format="PNG")))
        links[(series_uid, frame)] = f"{folder.name}/{name}"
    text = render_markdown(content, links)
    written.insert(0, write_atomic(out, lambda p: p.write_text(text, encoding="utf-8")))
    return written
