"""Stage 1 of the staged demo recipe on the tiny checkpoint: the real Qwen3-VL vision tower is
trained through the dense head, a run stopped by its time budget continues from its checkpoint,
and the model it writes is a plain checkpoint (no head) with the trained tower."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from inference.training.dataset import Example, write_dataset
from inference.training.vision_pretrain import VisionStage, pretrain_vision, slice_rows


def _disks(seed: int, size: int = 256) -> Example:
    """A dark slice with 0-2 bright disks; the truth lists them as facts (as the demo world's
    rows do), and the row's own boxes are only the first one (like a grounding row)."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size), 20, np.uint8)
    yy, xx = np.mgrid[:size, :size]
    facts = []
    for _ in range(int(rng.integers(0, 3))):
        r = int(rng.integers(8, 30))
        cx, cy = (int(v) for v in rng.integers(r + 2, size - r - 2, 2))
        image[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 220
        box = [round(v * 1000 / size) for v in (cx - r, cy - r, cx + r + 1, cy + r + 1)]
        facts.append({"kind": "mass" if r > 18 else "solid nodule", "box": box})
    return Example(id=f"disks-{seed:04d}-ground", image=image, prompt="Find it.",
                   boxes_norm=tuple(tuple(f["box"]) for f in facts[:1]),
                   labels=tuple(f["kind"] for f in facts[:1]), task="ground",
                   truth={"facts": facts})


@pytest.fixture(scope="module")
def disks(tmp_path_factory):
    out = tmp_path_factory.mktemp("disks") / "ds"
    write_dataset(out, (_disks(k) for k in range(24)),
                  validation=[_disks(1000 + k) for k in range(6)])
    return out


def test_rows_carry_every_finding_of_the_slice_not_only_the_asked_one(disks):
    rows = slice_rows(disks, "train")
    assert len(rows) == 24
    assert any(len(boxes) == 2 for _, boxes, _ in rows)  # the row's own boxes held one


def test_a_budget_stop_resumes_and_the_written_model_has_the_trained_tower_and_no_head(
        tiny_model, disks, tmp_path):
    import torch
    from transformers import Qwen3VLForConditionalGeneration

    torch.set_num_threads(1)
    stage = VisionStage(steps=6, batch_size=4, save_every=3, warmup_steps=1)
    out = tmp_path / "vision"
    stopped = pretrain_vision(tiny_model, disks, out, stage=stage, budget_seconds=0.0)
    assert stopped == {"done": False, "step": 0, "seconds": 0.0}
    assert (out / "checkpoint.pt").exists() and not (out / "model").exists()
    stream = io.StringIO()
    done = pretrain_vision(tiny_model, disks, out, stage=stage, stream=stream)
    assert done["done"] and done["step"] == 6
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events][0] == "start" and events[-1]["event"] == "done"
    assert set(done["detector"]["recall_by_kind"]) >= {"mass", "solid nodule"}
    assert done["detector"]["slices"] == 6

    trained = Qwen3VLForConditionalGeneration.from_pretrained(out / "model")
    base = Qwen3VLForConditionalGeneration.from_pretrained(tiny_model)
    assert trained.state_dict().keys() == base.state_dict().keys()  # no head saved
    moved = [k for k, v in trained.state_dict().items()
             if not torch.equal(v, base.state_dict()[k])]
    assert moved and all(k.startswith("model.visual.") for k in moved)
    # a second call finds the stage done and trains nothing
    assert pretrain_vision(tiny_model, disks, out, stage=stage)["step"] == 6


def test_loader_workers_make_the_same_batches_as_the_main_process(tiny_model, disks):
    """Stage 1 on a GPU machine makes its batches in worker processes: the steps, pixels and
    targets must be the very ones one process makes (a resumed run sees the same data)."""
    import torch
    from transformers import AutoProcessor

    from inference.training.vision_pretrain import _Steps

    processor = AutoProcessor.from_pretrained(tiny_model)
    stage = VisionStage(steps=5, batch_size=4)
    rows = slice_rows(disks, "train")
    steps = _Steps(rows, stage, 2, processor)
    alone = [steps[i] for i in range(len(steps))]
    loader = torch.utils.data.DataLoader(steps, batch_size=None, num_workers=2)
    pooled = list(loader)
    assert len(alone) == len(pooled) == 3
    for (p1, g1, t1), (p2, g2, t2) in zip(alone, pooled, strict=True):
        assert torch.equal(p1, p2) and torch.equal(g1, g2)
        assert all(torch.equal(t1[k], t2[k]) for k in t1)
    assert any(bool((t["digits"] >= 0).any()) for _, _, t in alone)  # the boxes' digits


class _KillOnStart(io.StringIO):
    """A progress stream that sends this process ``signum`` when the run reports its start,
    as Ctrl+C in the terminal or ``kill`` from a job scheduler would mid-run."""

    def __init__(self, signum: int) -> None:
        super().__init__()
        self.signum = signum

    def write(self, text: str) -> int:
        if '"event": "start"' in text:
            import os
            os.kill(os.getpid(), self.signum)
        return super().write(text)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_ctrl_c_or_sigterm_saves_the_step_in_progress_and_resume_goes_on_from_it(
        tiny_model, disks, tmp_path, signame):
    """Stopping a CPU run by hand used to lose every step since the last save (up to 99 steps,
    40 min on 2 cores): now it finishes the step it is in, saves and says so."""
    import signal

    import torch

    torch.set_num_threads(1)
    signum = getattr(signal, signame)
    before = signal.getsignal(signum)
    stage = VisionStage(steps=4, batch_size=4, save_every=100, warmup_steps=1)
    out = tmp_path / "vision"
    stopped = pretrain_vision(tiny_model, disks, out, stage=stage, stream=_KillOnStart(signum))
    assert stopped["done"] is False and stopped["step"] == 1
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 1
    last = json.loads((out / "progress.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "stopped" and last["reason"] == signame
    assert signal.getsignal(signum) is before  # the caller's handler is back

    done = pretrain_vision(tiny_model, disks, out, stage=stage, stream=io.StringIO())
    assert done["done"] and done["step"] == 4
