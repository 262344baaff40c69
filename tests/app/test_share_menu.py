"""The Share menu on a real slice view showing a real CT series (pydicom's CT_small, three
instances): the view saved as PNG/JPEG with or without patient text, boxes and the AI DRAFT
label, and a de-identified export of the key images run off the GUI thread and audited."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6 import QtWidgets

from app.qt.share_menu import ShareMenu, files_to_share
from app.qt.viewport_export import SnapshotOptions
from app.store.audit import read_audit
from tests.viewer.deid_inputs import copy_study
from viewer.annotations import Annotation, AnnotationSet, FrameLocation, PixelBox
from viewer.findings import StudyFindings
from viewer.loading import load
from viewer.measurements import Measurement, MeasurementSet, StudyMeasurements
from viewer.qt.box_overlay import BoxOverlay
from viewer.qt.measure_overlay import MeasureOverlay


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_view_pictures_and_deidentified_key_images(make_view, qtbot, tmp_path):
    paths = copy_study(tmp_path / "in")[:3]
    study = load([str(p) for p in paths]).studies[0]
    series = study.series[0]
    state, view = make_view(series, size=(520, 520))
    state.set_series(series, study=study)
    annotations = AnnotationSet(study.uid)
    annotations.add(Annotation(PixelBox(30, 30, 90, 90), "nodule",
                               FrameLocation(series.uid, state.slice_index,
                                             series.frames[state.slice_index].sop_instance_uid)))
    findings = StudyFindings.showing(annotations)
    overlay = BoxOverlay(view, findings, state)
    rois = MeasurementSet(study.uid)
    measures = MeasureOverlay(view, StudyMeasurements(rois), state, findings=findings)
    menu = QtWidgets.QMenu()
    share = ShareMenu(menu, view, overlay, state, findings, tmp_path / "ws" / "audit",
                      measures=measures)
    QtWidgets.QApplication.processEvents()
    assert view.overlay.corners["top_left"].text().startswith("CompressedSamples")

    default = _pixels(share.save_snapshot(tmp_path / "default.png", SnapshotOptions()))
    named = _pixels(share.save_snapshot(tmp_path / "named.png",
                                        SnapshotOptions(patient_text=True)))
    bare = _pixels(share.save_snapshot(tmp_path / "bare.png", SnapshotOptions(
        boxes=False, measurements=False, draft_label=False)))
    jpeg = share.save_snapshot(tmp_path / "view.jpg", SnapshotOptions())
    assert jpeg is not None and jpeg.read_bytes()[:2] == b"\xff\xd8"
    assert view.overlay.corners["top_left"].isVisible()  # shown again after the grab
    height, width, _ = bare.shape
    band = default.shape[0] - height  # the AI DRAFT band, above the view: it hides nothing
    assert (height, width) == (520, 520) and 10 < band < 60 and named.shape == default.shape
    red = (default[..., 0] > 150) & (default[..., 1] < 40) & (default[..., 2] < 70)
    assert red[:band].mean() > 0.5 and red[band:].sum() == 0
    top_left = (slice(band, band + 60), slice(0, 160))
    assert (named[top_left] != default[top_left]).any()  # the patient text is only in one
    bare_red = (bare[..., 0] > 150) & (bare[..., 1] < 40) & (bare[..., 2] < 70)
    assert bare_red.sum() == 0
    image = default[band:]
    middle = (slice(height // 8, height - 40), slice(0, width))
    assert (bare[middle] != image[middle]).any()  # the box is drawn in one, not the other

    # "Measurements" off leaves out the ROIs too (their outline and statistics), not only
    # the rulers: the picture is the one of the slice without the ellipse
    roi = rois.add(Measurement.ellipse(FrameLocation(
        series.uid, state.slice_index, series.frames[state.slice_index].sop_instance_uid),
        (40, 120), (25, 25)))
    QtWidgets.QApplication.processEvents()
    assert measures.shown_texts()[roi.id]
    no_rois = SnapshotOptions(measurements=False)
    with_roi = _pixels(share.save_snapshot(tmp_path / "roi.png", SnapshotOptions()))
    left_out = _pixels(share.save_snapshot(tmp_path / "no-roi.png", no_rois))
    assert (with_roi != default).any() and (left_out == default).all()
    assert measures.shown_texts()[roi.id]  # shown again after the grab
    rois.remove(roi.id)

    # the three copies share one position: the loader shows them as three one-slice stacks
    assert len(files_to_share("study", state.study, state.series, findings)) == 3
    assert len(files_to_share("series", state.study, state.series, findings)) == 1
    key = files_to_share("key images", state.study, state.series, findings)
    assert len(key) == 1
    share.deidentify(key, tmp_path / "share", retain_dates=True)
    qtbot.waitUntil(lambda: share.last_report is not None, timeout=30000)
    report = share.last_report
    assert len(report.written) == 1 and report.refused == [] and report.skipped == []
    records, _problems = read_audit(tmp_path / "ws" / "audit" / "audit.jsonl")
    assert [(r["event"], r["options"], r["written"]) for r in records] == [
        ("deidentify", ["retain-dates"], 1)]
    for box in QtWidgets.QApplication.topLevelWidgets():
        if isinstance(box, QtWidgets.QMessageBox):
            assert "1 de-identified file(s) written." in box.text()
            box.close()
    overlay.disconnect_model()
    measures.disconnect_model()
