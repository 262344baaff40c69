"""Exports as a reader or a PACS sees them: Markdown, PDF, and DICOM SR checked by validators."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pydicom
import pytest
from PIL import Image

from app.export import ExportError, gather
from app.export.images import MIN_SIDE_PX, USER_COLOUR, render_key_image
from app.export.markdown import export_markdown
from app.export.pdf import export_pdf
from app.export.sr import build_measurement_sr, export_measurement_sr
from app.export.text_sr import export_text_sr
from app.store.workspace import ChatMessage, Workspace
from tests.app.export_fixtures import (
    FIXED_TIME,
    LESION_PX,
    LESION_SLICE,
    PATIENT_ID,
    written_ct_study,
)
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox
from viewer.report import ReportDraft

MODEL = "MBZUAI/MedMO-4B"
# a draft made before drafts dropped box markup still holds it: exports never print it
LONG_TEXT = ("Findings:\nA 8.4 mm nodule <box>[[40, 60, 180, 220]]</box> in the right lower "
             "lobe. ") + " ".join(
    f"Normal structure number {k} is unremarkable." for k in range(60))


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """A CT series on disk and a workspace holding a corrected prediction, a user box, a
    deleted prediction, a chat and a draft report linked to the nodule."""
    root = tmp_path_factory.mktemp("export")
    study, series, at = written_ct_study(root)

    with Workspace(root / "ws") as ws:
        boxes = AnnotationSet(study.uid)
        ws.autosave(boxes)
        nodule, wrong = boxes.add_predictions([
            Annotation(PixelBox(*LESION_PX).moved(-1, 0), "nodule", at(LESION_SLICE), "model",
                       "a1", MODEL),
            Annotation(PixelBox(2, 2, 8, 8), "artefact", at(0), "model", "a1", MODEL)])
        boxes.move(nodule, 1, 0)  # the radiologist puts it on the lesion
        boxes.delete(wrong)
        cyst = boxes.add(Annotation(PixelBox(5, 5, 12, 14), "cyst", at(1)))
        ws.add_message(ChatMessage(study.uid, "assistant", "nodule <box>...</box>",
                                   (at(LESION_SLICE),), model_id=MODEL, id="a1"))
        report = ReportDraft(study.uid, LONG_TEXT, model_id=MODEL, answer_id="a2")
        report.link(report.sentences()[1].id, nodule)
        ws.save_report(report)
    return {"root": root, "study": study, "nodule": nodule, "cyst": cyst, "wrong": wrong}


@pytest.fixture
def content(case):
    with Workspace(case["root"] / "ws") as ws:
        return gather(case["study"], ws, created=FIXED_TIME)


def validate(path) -> tuple[list[str], list[str]]:
    """Run dciodvfy and dsrdump; returns (error lines, warning lines)."""
    for tool in ("dciodvfy", "dsrdump"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} missing: run installer/system-deps.sh (dicom3tools, dcmtk)")
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    lines = (out.stdout + out.stderr).splitlines()
    dump = subprocess.run(["dsrdump", "+Pl", str(path)], capture_output=True, text=True)
    lines += (dump.stderr).splitlines()
    assert dump.returncode == 0, dump.stderr
    errors = [x for x in lines if x.startswith(("Error", "E:"))]
    warnings = [x for x in lines if x.startswith(("Warning", "W:"))]
    return errors, warnings, dump.stdout


def content_items(ds):
    for item in ds.get("ContentSequence", []):
        yield item
        yield from content_items(item)


def test_markdown_marks_draft_and_lists_the_standing_boxes(content, case, tmp_path):
    md, *images = export_markdown(content, tmp_path / "report.md")
    text = md.read_text()
    assert text.startswith("> **AI DRAFT - not verified by a physician. AI-assisted "
                           f"({MODEL})**")
    assert "artefact" not in text  # the deleted prediction is not reported
    assert f"- Patient: Quixotewell, Hannelore ({PATIENT_ID})" in text
    assert "_Orange: model prediction as given. Green: drawn or changed" in text
    assert ("| 1 | cyst | Synthetic axial | 2/6 | right (x -20, y -23, z 102 mm) | "
            "4.2 x 7.2 mm | added | radiologist |") in text
    assert ("| 2 | nodule | Synthetic axial | 4/6 | midline (x -9, y -6, z 108 mm) | "
            "8.4 x 9.6 mm | moved | model |") in text
    assert "A 8.4 mm nodule in the right lower lobe. [#2]" in text
    assert "<box>" not in text and "[[40, 60" not in text
    assert [p.name for p in images] == ["series1-slice2.png", "series1-slice4.png"]
    assert "](report-images/series1-slice4.png)" in text


def test_key_image_shows_the_box_where_it_is(content, case):
    image = np.asarray(render_key_image(content, content.study.series[0].uid, LESION_SLICE))
    scale = MIN_SIDE_PX // 64
    assert image.shape == (64 * scale, 64 * scale, 3)
    x0, y0, x1, y1 = (v * scale for v in LESION_PX)
    # a radiologist-corrected box is drawn in the user colour along its top edge
    assert tuple(image[y0, (x0 + x1) // 2]) == USER_COLOUR
    assert tuple(image[y0 - 4, (x0 + x1) // 2]) != USER_COLOUR


def _pdf_pages(path) -> list[str]:
    """The content stream of each page (the PDF must be written uncompressed)."""
    raw = path.read_bytes().decode("latin-1")
    objects = dict(re.findall(r"(?m)^(\d+) 0 obj\n(.*?)endobj", raw, re.S))
    pages = [body for body in objects.values() if re.search(r"/Type /Page\b(?!s)", body)]
    contents = [re.search(r"/Contents (\d+) 0 R", page).group(1) for page in pages]
    return [objects[n] for n in contents]


def test_pdf_has_ai_draft_on_every_page_and_the_key_images(content, tmp_path):
    path = export_pdf(content, tmp_path / "report.pdf", compress=False)
    raw = path.read_bytes()
    assert raw.startswith(b"%PDF")
    pages = _pdf_pages(path)
    assert len(pages) >= 2  # the long report runs over several pages
    assert all("(AI DRAFT) Tj" in page and MODEL in page for page in pages)
    assert raw.count(b"/Subtype /Image") == 2


def test_signed_pdf_says_ai_assisted_and_who_signed(content, tmp_path):
    signed = ReportDraft.from_dict(content.report.to_dict())
    signed.sign("Dr. Reader")
    content = type(content)(content.study, content.findings, signed, content.messages,
                            content.created)
    pages = _pdf_pages(export_pdf(content, tmp_path / "signed.pdf", compress=False))
    assert all("(AI DRAFT) Tj" not in p and "AI-assisted" in p and "Dr. Reader" in p
               for p in pages)
    md = export_markdown(content, tmp_path / "signed.md")[0].read_text()
    assert "AI DRAFT" not in md and f"AI-assisted report ({MODEL}); signed by Dr. Reader" in md


def test_measurement_sr_validates_and_points_at_the_source_pixels(content, case, tmp_path):
    path = export_measurement_sr(content, tmp_path / "boxes.dcm")
    errors, warnings, dump = validate(path)
    assert errors == [], errors
    assert warnings == [], warnings
    sr = pydicom.dcmread(path)
    assert (sr.CompletionFlag, sr.VerificationFlag, sr.PreliminaryFlag) == (
        "PARTIAL", "UNVERIFIED", "PRELIMINARY")
    assert sr.StudyInstanceUID == case["study"].uid and sr.PatientID == PATIENT_ID
    series = case["study"].series[0]
    expected = {}  # SOP Instance UID read from the original file -> polyline
    for k, box in ((1, PixelBox(5, 5, 12, 14)), (LESION_SLICE, PixelBox(*LESION_PX))):
        original = pydicom.dcmread(series.frames[k].path, stop_before_pixels=True)
        expected[original.SOPInstanceUID] = np.array(box.closed_polyline_px()).ravel()
    regions = [i for i in content_items(sr) if i.ValueType == "SCOORD"]
    assert len(regions) == 2
    found = {}
    for region in regions:
        assert region.GraphicType == "POLYLINE"
        ref = region.ContentSequence[0].ReferencedSOPSequence[0]
        assert ref.ReferencedSOPClassUID == pydicom.uid.CTImageStorage
        found[ref.ReferencedSOPInstanceUID] = np.array(region.GraphicData, float)
    assert found.keys() == expected.keys()
    for uid, points in expected.items():
        np.testing.assert_allclose(found[uid], points)
    evidence = {r.ReferencedSOPInstanceUID for s in sr.CurrentRequestedProcedureEvidenceSequence
                for se in s.ReferencedSeriesSequence for r in se.ReferencedSOPSequence}
    assert evidence == set(expected)
    assert f'"Device Observer Name")="{MODEL}"' in dump
    assert 'Tracking Identifier")="Finding 2: nodule (model, moved)"' in dump
    assert '"Width")="8.4" (mm' in dump and '"Height")="9.6" (mm' in dump


def test_text_sr_validates_and_carries_the_report(content, case, tmp_path):
    path = export_text_sr(content, tmp_path / "text.dcm")
    errors, warnings, dump = validate(path)
    assert errors == [] and warnings == [], errors + warnings
    sr = pydicom.dcmread(path)
    assert sr.SOPClassUID == pydicom.uid.BasicTextSRStorage
    assert (sr.CompletionFlag, sr.VerificationFlag, sr.PreliminaryFlag) == (
        "PARTIAL", "UNVERIFIED", "PRELIMINARY")
    assert sr.StudyInstanceUID == case["study"].uid
    texts = [i.TextValue for i in content_items(sr) if i.ValueType == "TEXT"]
    assert MODEL in texts
    assert any(t.startswith("AI DRAFT") for t in texts)
    assert any(t.startswith("A 8.4 mm nodule") for t in texts)


def test_nothing_in_the_workspace_is_a_clear_error(case, tmp_path):
    with Workspace(tmp_path / "empty") as ws, pytest.raises(ExportError, match="holds nothing"):
        gather(case["study"], ws)


def test_sr_refuses_when_the_source_file_changed(content, case, tmp_path):
    series = case["study"].series[0]
    path = series.frames[LESION_SLICE].path
    backup = tmp_path / "orig.dcm"
    shutil.copy(path, backup)
    try:
        ds = pydicom.dcmread(path)
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.save_as(path)
        with pytest.raises(ExportError, match="not the image the box was drawn on"):
            build_measurement_sr(content)
    finally:
        shutil.copy(backup, path)


def test_written_key_image_is_a_real_png(content, tmp_path):
    _, first, _ = export_markdown(content, tmp_path / "r.md")
    assert Image.open(first).size == (MIN_SIDE_PX, MIN_SIDE_PX)


def test_photo_series_exports_in_pixels_and_sr_says_why_not(tmp_path):
    from viewer.study import FrameRef, Series, Study
    from viewer.volume import Volume

    photo = Series("2.25.1", "XC", "Dermoscopy photo",
                   Volume(np.full((1, 40, 50, 3), 90, np.uint8), spacing_known=False),
                   (FrameRef(str(tmp_path / "lesion.png")),), photometric="RGB",
                   source="image")
    study = Study("2.25.9", description="Skin", series=(photo,))
    with Workspace(tmp_path / "ws") as ws:
        boxes = AnnotationSet(study.uid)
        ws.autosave(boxes)
        boxes.add(Annotation(PixelBox(10, 10, 30, 20), "naevus", FrameLocation("2.25.1", 0)))
        content = gather(study, ws)
    text = export_markdown(content, tmp_path / "r.md")[0].read_text()
    assert ("| 1 | naevus | Dermoscopy photo | 1/1 | image x 20, y 15 px | 20.0 x 10.0 px | "
            "added |") in text
    with pytest.raises(ExportError, match="not DICOM"):
        build_measurement_sr(content)
