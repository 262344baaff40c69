"""Every review click on a model box is kept per prediction, with image, prompt and version."""

from __future__ import annotations

import numpy as np

from app.store.audit import WeightsHasher
from app.store.workspace import Workspace
from app.training.clicks import review_clicks
from tests.app.click_fixtures import STUDY, reviewed_workspace


def test_each_click_is_read_back_per_prediction_after_reopening(tmp_path):
    ids = reviewed_workspace(tmp_path / "ws", tmp_path / "weights")
    with Workspace(tmp_path / "ws") as ws:  # a fresh open: only what was committed
        found = review_clicks(ws)
        image = ws.get_image(found.clicks[0].image_sha256)
    assert found.skipped == ()
    by_id = {c.finding_id: c for c in found.clicks}
    assert by_id[ids["accepted"]].kinds == ("accepted",)
    assert by_id[ids["moved"]].kinds == ("moved",)
    assert by_id[ids["resized"]].kinds == ("moved", "resized")  # its centre moved too
    assert by_id[ids["relabelled"]].kinds == ("relabelled",)
    assert by_id[ids["deleted"]].kinds == ("deleted",)
    assert found.counts() == {"accepted": 1, "added": 1, "deleted": 3, "moved": 2,
                              "relabelled": 1, "resized": 1}
    moved = by_id[ids["moved"]]
    assert moved.predicted == (500.0, 500.0, 600.0, 600.0)
    assert moved.final == (530.0, 520.0, 630.0, 620.0)
    assert by_id[ids["deleted"]].final is None
    added = next(c for c in found.clicks if c.kinds == ("added",))
    assert added.predicted is None and added.final == (600.0, 600.0, 800.0, 900.0)
    assert added.frame_index == 4 and added.answer_id == moved.answer_id
    version = WeightsHasher().hash(tmp_path / "weights")
    for click in found.clicks:
        assert click.prompt == "Find the lesions." and click.task == "localize"
        assert (click.model_id, click.model_sha256) == ("demo", version)
        assert click.model_path == str(tmp_path / "weights")
        assert click.study_uid == STUDY
    np.testing.assert_array_equal(image, np.full((100, 100), 40, np.uint8))
    frames = {c.frame_index: c.image_sha256 for c in found.clicks}
    assert frames[4] != frames[5]  # each frame's own image as sent


def test_unreviewed_predictions_are_not_clicks(tmp_path):
    reviewed_workspace(tmp_path / "ws", tmp_path / "weights")
    with Workspace(tmp_path / "ws") as ws:
        annotations = ws.load_annotations(STUDY)
        pending = [f for f in annotations if f.kind == "pending"]
        count = len(review_clicks(ws).clicks)
    assert pending == [] and count == 8
