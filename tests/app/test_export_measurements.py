"""Measurements travel: the TID 1500 SR (validated by dciodvfy, read back by dsrdump), the
Markdown and the PDF hold every measurement with the values the viewer shows."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from app.export import gather, write_export
from app.export.markdown import render_markdown
from app.export.pdf import export_pdf
from app.store.workspace import Workspace
from tests.app.export_fixtures import FIXED_TIME, LESION_PX, LESION_SLICE, written_ct_study
from tests.app.test_export import content_items, validate
from viewer.annotations import Annotation, AnnotationSet, PixelBox
from viewer.measurements import Measurement, MeasurementSet, measure

MODEL = "MBZUAI/MedMO-4B"


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    root = tmp_path_factory.mktemp("export-measure")
    study, series, at = written_ct_study(root)
    x0, y0, x1, y1 = LESION_PX
    cx, cy = (x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2
    with Workspace(root / "ws") as ws:
        boxes = AnnotationSet(study.uid)
        ws.autosave(boxes)
        (nodule,) = boxes.add_predictions([Annotation(PixelBox(*LESION_PX), "nodule",
                                                      at(LESION_SLICE), "model", "a1", MODEL)])
        ms = MeasurementSet(study.uid)
        ws.autosave_measurements(ms)
        frame = at(LESION_SLICE)
        made = [
            ms.add(Measurement.ellipse(frame, (cx, cy), (5.5, 4.0), label="nodule HU")),
            ms.add(Measurement.rectangle(at(1), (30, 30), (6, 4), label="liver")),
            ms.add(Measurement("freehand", at(1), ((10, 40), (20, 38), (22, 50), (12, 52)),
                               label="fat")),
            ms.add(Measurement("angle", at(2), ((10, 10), (20, 20), (30, 10)))),
            ms.add(Measurement("bidirectional", frame, ((x0, cy), (x1 - 1, cy),
                                                        (cx, y0), (cx, y1 - 1)),
                               label="nodule", finding_id=nodule)),
        ]
    return {"root": root, "study": study, "series": series, "made": made}


@pytest.fixture
def content(case):
    with Workspace(case["root"] / "ws") as ws:
        return gather(case["study"], ws, created=FIXED_TIME)


def test_sr_holds_every_measurement_validated_with_codes_and_units(content, case, tmp_path):
    (path,) = [p for p in write_export("sr", content, tmp_path / "m.dcm")]
    errors, warnings, dump = validate(path)
    assert errors == [] and warnings == [], errors + warnings
    sr = pydicom.dcmread(path)
    series = case["series"]
    ellipse, rect, free, angle, bidi = case["made"]
    v = measure(ellipse, series.volume, modality="CT").stats
    assert v is not None and v.pixels > 20
    values = {}
    for item in content_items(sr):
        if item.ValueType == "NUM":
            name = item.ConceptNameCodeSequence[0].CodeMeaning
            unit = item.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue
            derivation = [d.ConceptCodeSequence[0].CodeMeaning
                          for d in item.get("ContentSequence", [])
                          if d.ConceptNameCodeSequence[0].CodeMeaning == "Derivation"]
            number = item.MeasuredValueSequence[0].NumericValue
            values.setdefault((name, unit, tuple(derivation)), []).append(float(number))
            # dsrdump shows each value with its concept and its UCUM unit
            assert f'NUM:(,,"{name}")="{number}" ({unit},UCUM,' in dump
    mean = values[("Attenuation Coefficient", "[hnsf'U]", ("Mean",))]
    assert round(v.mean, 3) in mean
    assert round(v.sd, 3) in values[("Attenuation Coefficient", "[hnsf'U]",
                                     ("Standard Deviation",))]
    assert round(v.area, 3) in values[("Area", "mm2", ())]
    b = measure(bidi, series.volume)
    assert values[("Long axis", "mm", ())] == [round(b.long_axis, 2)]
    assert values[("Short axis", "mm", ())] == [round(b.short_axis, 2)]
    assert values[("Angle", "deg", ())] == [
        round(measure(angle, series.volume).angle_deg, 2)]
    # the ellipse is an ELLIPSE SCOORD on the measured instance, in DICOM image coordinates
    ellipses = [i for i in content_items(sr) if i.ValueType == "SCOORD"
                and i.GraphicType == "ELLIPSE"]
    assert len(ellipses) == 1
    ref = ellipses[0].ContentSequence[0].ReferencedSOPSequence[0]
    assert ref.ReferencedSOPInstanceUID == series.frames[LESION_SLICE].sop_instance_uid
    (c0, r0), (c1, r1) = ellipse.points_px
    points = np.array(ellipses[0].GraphicData, float).reshape(4, 2)
    np.testing.assert_allclose(points[:2].mean(axis=0), ((c0 + c1) / 2 + 0.5,
                                                          (r0 + r1) / 2 + 0.5))
    assert 'Measurement 5: nodule (bidirectional, finding #1)' in dump


def test_markdown_and_pdf_list_the_measurements(content, tmp_path):
    text = render_markdown(content)
    assert "## Measurements" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "HU" in line]
    assert len(rows) == 3  # ellipse, rectangle, freehand
    assert any("nodule HU" in r and "ellipse" in r for r in rows)
    assert any("| nodule | bidirectional |" in line and "#1" in line
               for line in text.splitlines())
    pdf = export_pdf(content, tmp_path / "r.pdf", compress=False).read_bytes()
    assert b"Measurements" in pdf and b"bidirectional" in pdf


def test_measurements_alone_are_exported(case, tmp_path):
    study = case["study"]
    with Workspace(tmp_path / "ws") as ws:
        ms = MeasurementSet(study.uid)
        ws.autosave_measurements(ms)
        ms.add(case["made"][0])
        content = gather(study, ws, created=FIXED_TIME)
    written = write_export("sr", content, tmp_path / "only.dcm")
    assert [p.name for p in written] == ["only.dcm"]
    errors, _, dump = validate(written[0])
    assert errors == [] and "Attenuation Coefficient" in dump
