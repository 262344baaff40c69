"""PDF export (reportlab): report text, findings table, key images with boxes.

Every page carries the marking: a red "AI DRAFT" banner and diagonal watermark until a person
signs; once signed, a banner naming the signer that still says "AI-assisted" and the model.
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.export.content import BOX_LEGEND, ExportContent, write_atomic
from app.export.images import key_frames, render_key_image


def _page_marking(content: ExportContent):
    def draw(canvas, doc) -> None:
        width, height = A4
        canvas.saveState()
        if not content.signed:
            canvas.setFillColor(colors.Color(0.85, 0.1, 0.1, alpha=0.12))
            canvas.setFont("Helvetica-Bold", 90)
            canvas.translate(width / 2, height / 2)
            canvas.rotate(45)
            canvas.drawCentredString(0, -30, "AI DRAFT")
            canvas.rotate(-45)
            canvas.translate(-width / 2, -height / 2)
        canvas.setFillColor(colors.HexColor("#b00000") if not content.signed
                            else colors.HexColor("#004080"))
        canvas.rect(0, height - 14 * mm, width, 14 * mm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawCentredString(width / 2, height - 9 * mm, content.marking())
        canvas.setFillColor(colors.black)
        canvas.setFont("Helvetica", 8)
        canvas.drawString(15 * mm, 8 * mm, f"AI-assisted ({content.model_names}); exported "
                          f"{content.created.isoformat(timespec='seconds')}")
        canvas.drawRightString(width - 15 * mm, 8 * mm, f"page {doc.page}")
        canvas.restoreState()
    return draw


def _story(content: ExportContent) -> list:
    styles = getSampleStyleSheet()
    study, report = content.study, content.report
    story = [Paragraph(escape(f"{study.description or 'Imaging'} report"), styles["Title"]),
             Paragraph(escape(f"Patient: {content.patient} - study date {study.date or '-'}"),
                       styles["Normal"]),
             Paragraph(escape(f"Model: {content.model_names}"), styles["Normal"]),
             Spacer(1, 5 * mm), Paragraph("Report", styles["Heading2"])]
    if report is None or not report.text.strip():
        story.append(Paragraph("<i>No report text yet.</i>", styles["Normal"]))
    else:
        for line in content.report_lines():
            story.append(Paragraph(escape(line), styles["Normal"]) if line.strip()
                         else Spacer(1, 3 * mm))
        status = (f"Signed by {report.signer} at {report.signed_at}" if content.signed
                  else "Status: AI DRAFT, not signed")
        story += [Spacer(1, 3 * mm), Paragraph(escape(status), styles["Italic"])]
    story += [Spacer(1, 5 * mm), Paragraph("Findings", styles["Heading2"])]
    if content.findings:
        small = styles["BodyText"].clone("cell", fontSize=8, leading=9.5)
        rows = [["#", "Label", "Slice", "Location", "Size", "Review", "Source"]]
        for k, group in enumerate(content.groups, 1):
            f = group.finding
            rows.append([str(k), Paragraph(escape(f.label), small), content.group_slices(group),
                         Paragraph(escape(f.location_text()), small),
                         Paragraph(escape(content.group_size(group)), small),
                         Paragraph(escape(group.status), small),
                         "model" if group.from_model else "radiologist"])
        table = Table(rows, repeatRows=1, colWidths=[8 * mm, 30 * mm, 20 * mm, 35 * mm,
                                                      38 * mm, 28 * mm, 21 * mm])
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey)]))
        story.append(table)
    else:
        story.append(Paragraph("<i>No boxes.</i>", styles["Normal"]))
    if content.measurements:
        story += [Spacer(1, 5 * mm), Paragraph("Measurements", styles["Heading2"])]
        small = styles["BodyText"].clone("mcell", fontSize=8, leading=9.5)
        rows = [["#", "Label", "Kind", "Slice", "Values", "Finding"]]
        for k, row in enumerate(content.measurement_rows(), 1):
            label, kind, where, values, link = row
            rows.append([str(k), Paragraph(escape(label), small), kind, where,
                         Paragraph(escape(values), small), link])
        table = Table(rows, repeatRows=1, colWidths=[8 * mm, 30 * mm, 24 * mm, 16 * mm,
                                                      86 * mm, 16 * mm])
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey)]))
        story.append(table)
    frames = key_frames(content)
    if frames:
        story += [Spacer(1, 3 * mm), Paragraph(escape(BOX_LEGEND), styles["Italic"])]
    for series_uid, frame in frames:
        png = io.BytesIO()
        render_key_image(content, series_uid, frame).save(png, "PNG")
        png.seek(0)
        series = content.series(series_uid)
        story += [Spacer(1, 5 * mm),
                  Paragraph(escape(f"{series.description}, slice {frame + 1}/"
                                   f"{series.volume.n_frames}"), styles["Heading3"]),
                  Image(png, width=90 * mm, height=90 * mm, kind="proportional")]
    return story


def export_pdf(content: ExportContent, out: str | Path, *, compress: bool = True) -> Path:
    """Write the PDF to ``out`` atomically. ``compress=False`` keeps page streams readable."""
    marking = _page_marking(content)

    def write(path: Path) -> None:
        doc = SimpleDocTemplate(str(path), pagesize=A4, topMargin=22 * mm,
                                bottomMargin=16 * mm, pageCompression=int(compress),
                                title=f"{content.study.description} report",
                                author=f"MedMO Viewer ({content.model_names})")
        doc.build(_story(content), onFirstPage=marking, onLaterPages=marking)

    return write_atomic(out, write)
