"""A 3D finding in the exports: one line (kind, location, size, slice range) in Markdown and
PDF, one key image, and in the TID 1500 SR one measurement group holding its box on every slice
it spans, each pointing at that slice's instance; dciodvfy and dsrdump still report 0 errors."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from app.export import gather
from app.export.markdown import export_markdown
from app.export.pdf import export_pdf
from app.export.sr import export_measurement_sr
from app.store.workspace import Workspace
from tests.app.export_fixtures import FIXED_TIME, written_ct_study
from tests.app.test_export import _pdf_pages, content_items, validate
from viewer.annotations import Annotation, AnnotationSet, PixelBox

MODEL = "MBZUAI/MedMO-4B"
STACK = {1: PixelBox(20, 24, 32, 34), 2: PixelBox(19, 23, 34, 36), 3: PixelBox(20, 24, 33, 35),
         4: PixelBox(22, 26, 31, 33)}  # one nodule boxed on slices 2-5 (1-based)


@pytest.fixture(scope="module")
def content(tmp_path_factory):
    """The model's boxes of one nodule on four adjacent slices (one of them moved by the
    radiologist, the rest accepted as one finding) and the radiologist's own box elsewhere."""
    root = tmp_path_factory.mktemp("export3d")
    study, series, at = written_ct_study(root)

    with Workspace(root / "ws") as ws:
        boxes = AnnotationSet(study.uid)
        ws.autosave(boxes)
        ids = boxes.add_predictions([Annotation(box, "nodule", at(k), "model", "a1", MODEL)
                                     for k, box in STACK.items()])
        boxes.accept_all(ids)
        boxes.move(ids[2], 1, 0)
        boxes.add(Annotation(PixelBox(4, 4, 10, 12), "cyst", at(5)))
        return gather(study, ws, created=FIXED_TIME), series, ids


def test_markdown_has_one_line_per_3d_finding_and_one_key_image_each(content, tmp_path):
    content, series, _ids = content
    md, *images = export_markdown(content, tmp_path / "report.md")
    table = [line for line in md.read_text().splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 2  # header + two findings (four nodule boxes are ONE finding)
    nodule = table[1]
    assert nodule.startswith("| 1 | nodule | Synthetic axial | 2-5/6 | ")
    assert "| 3 accepted, 1 moved | model |" in nodule
    size = content.groups[0].finding
    assert f"| {size.in_plane}, CC 10.0 mm, " in nodule  # 4 slices x 2.5 mm
    assert size.location_text() in nodule
    assert table[2].startswith("| 2 | cyst | Synthetic axial | 6/6 | ")
    # the key image of the nodule is its largest slice (slice 3), not one image per box
    assert [p.name for p in images] == ["series1-slice3.png", "series1-slice6.png"]


def test_pdf_lists_the_3d_finding_once(content, tmp_path):
    content, _series, _ids = content
    pages = _pdf_pages(export_pdf(content, tmp_path / "r.pdf", compress=False))
    text = "".join(pages)
    assert text.count("(2-5/6) Tj") == 1 and "(6/6) Tj" in text


def test_sr_groups_the_boxes_of_a_3d_finding_and_validates(content, tmp_path):
    content, series, ids = content
    path = export_measurement_sr(content, tmp_path / "boxes.dcm")
    errors, warnings, dump = validate(path)
    assert errors == [], errors
    assert warnings == [], warnings
    sr = pydicom.dcmread(path)
    groups = [i for i in content_items(sr) if i.ValueType == "CONTAINER" and
              i.ConceptNameCodeSequence[0].CodeMeaning == "Measurement Group"]
    assert len(groups) == 2
    volume_group = groups[0]
    regions = [i for i in content_items(volume_group) if i.ValueType == "SCOORD"]
    expected = {}
    for k, box in STACK.items():
        original = pydicom.dcmread(series.frames[k].path, stop_before_pixels=True)
        moved = box.moved(1, 0) if k == 3 else box
        expected[original.SOPInstanceUID] = np.array(moved.closed_polyline_px()).ravel()
    found = {r.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID:
             np.array(r.GraphicData, float) for r in regions}
    assert found.keys() == expected.keys()  # the box on each slice the finding spans
    for uid, points in expected.items():
        np.testing.assert_allclose(found[uid], points)
    template = volume_group.ContentTemplateSequence[0].TemplateIdentifier
    assert template == "1411"
    assert ('Tracking Identifier")="Finding 1: nodule, slices 2-5 (model, 3 accepted, 1 moved)"'
            in dump)
    assert '"Long axis")=' in dump and '"Volume")=' in dump and "(mm3," in dump
    assert 'Tracking Identifier")="Finding 2: cyst (radiologist)"' in dump
    evidence = {r.ReferencedSOPInstanceUID for s in sr.CurrentRequestedProcedureEvidenceSequence
                for se in s.ReferencedSeriesSequence for r in se.ReferencedSOPSequence}
    assert evidence == set(expected) | {series.frames[5].sop_instance_uid}
