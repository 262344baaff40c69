"""`medmo ask --range / --all-slices` with the bundled demo model on the small demo study:
what is swept, what is printed, what is recorded, and the clear refusals."""

from __future__ import annotations

import json

import pytest
import torch

from app.cli import main
from app.store.workspace import Workspace
from viewer.loading import load


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_a_range_is_swept_in_chunks_printed_as_3d_findings_and_recorded(
        demo_folder, tmp_path, capsys, restore_threads):
    workspace = tmp_path / "ws"
    code = main(["ask", str(demo_folder), "--range", "2:5", "--chunk", "3", "--threads", "1",
                 "--json", "--workspace", str(workspace)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)
    assert out["sweep"] == "slices 3-6" and out["slices_sent"] == [2, 3, 4, 5]
    assert out["slices_done"] == 4 and not out["cancelled"] and out["chunk"] == 3
    assert "medmo ask: 3/4 slices" in captured.err and "medmo ask: 4/4 slices" in captured.err
    assert all(2 <= b["slice"] <= 5 for b in out["boxes"])
    # every printed box is in exactly one printed 3D finding
    assert sum(f["boxes"] for f in out["findings_3d"]) == len(out["boxes"])
    for f in out["findings_3d"]:
        assert 2 <= f["first_slice"] <= f["largest_slice"] <= f["last_slice"] <= 5
        assert f["single"] == (f["first_slice"] == f["last_slice"])
        assert f["craniocaudal_mm"] == pytest.approx(f["n_slices"] * 2.5)
    # recorded as the viewer records a sweep: one question per chunk, the boxes as findings
    study = load(sorted(demo_folder.glob("*.dcm"))).studies[0]
    with Workspace(workspace) as ws:
        asked = [m for m in ws.messages(study.uid) if m.role == "user"]
        boxes = list(ws.load_annotations(study.uid))
    assert [[f.frame_index for f in m.frames] for m in asked] == [[2, 3, 4], [5]]
    assert {m.task for m in asked} == {"localize"}
    assert len(boxes) == len(out["boxes"])


@pytest.mark.parametrize(("args", "message"), [
    (["--range", "5:20"], "slices 6-21 do not fit a series of 10 slices"),
    (["--all-slices", "--task", "vqa"], "a sweep localises: use --task localize"),
    (["--every", "3", "--chunk", "0"], "--chunk must be >= 1"),
    (["--range", "a-b"], "--range wants A:B"),
    ([], "--prompt is required (except with --all-slices, --range or --every)"),
])
def test_bad_sweep_arguments_are_refused_with_the_reason(demo_folder, capsys, args, message):
    assert main(["ask", str(demo_folder), *args]) == 2
    assert message in capsys.readouterr().err
