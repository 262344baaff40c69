"""Exports of what the workspace holds for a study: Markdown, PDF, DICOM SR (TID 1500 + text).

Each exporter takes an :class:`~app.export.content.ExportContent` (the loaded study plus the
workspace's findings, report and chats) and writes atomically (temp file + fsync + replace).
"""

from collections.abc import Callable
from pathlib import Path

from app.export.content import ExportContent, ExportError, gather

__all__ = ["ExportContent", "ExportError", "gather", "write_export"]


def write_export(fmt: str, content: ExportContent, out: Path, *,
                 note: Callable[[str], None] | None = None) -> list[Path]:
    """Write ``content`` as ``fmt`` ("md", "pdf", "pdf-deid" or "sr") to ``out``; returns the
    files.

    For "sr", ``out`` is a folder (or a ``.dcm`` path for the measurement SR, the text SR
    beside it); a part with nothing to say is not written, and ``note`` hears why.
    """
    if fmt == "md":
        from app.export.markdown import export_markdown

        return export_markdown(content, out)
    if fmt == "pdf":
        from app.export.pdf import export_pdf

        return [export_pdf(content, out)]
    if fmt == "pdf-deid":  # de-identified, to share
        from app.export.deidentified import deidentified_content
        from app.export.pdf import export_pdf

        return [export_pdf(deidentified_content(content), out)]
    from app.export.sr import export_measurement_sr
    from app.export.text_sr import export_text_sr

    if out.suffix.lower() == ".dcm":
        boxes_path, text_path = out, out.with_name(f"{out.stem}-text.dcm")
    else:
        boxes_path, text_path = out / "boxes-sr.dcm", out / "report-text-sr.dcm"
    has_text = content.report is not None and content.report.text.strip()
    if not content.findings and not content.measurements and not has_text:
        raise ExportError("the workspace holds neither boxes, measurements nor report text for "
                          "this study")
    written = []
    if content.findings or content.measurements:
        written.append(export_measurement_sr(content, boxes_path))
    else:
        (note or _quiet)("no boxes or measurements: measurement SR not written")
    if has_text:
        written.append(export_text_sr(content, text_path))
    else:
        (note or _quiet)("no report text: text SR not written")
    return written


def _quiet(_text: str) -> None:
    pass

