"""Screenshot of the fine-tuning tab mid-run, from a real training child process (Xvfb).

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python \\
        docs/screenshots/make_training_screenshot.py [WORK_DIR]

Builds, in WORK_DIR (default: a temporary folder), a tiny random Qwen3-VL checkpoint and a small
phantom dataset, teaches the tiny model the answer format with a short full fine-tune through
``medmo train`` (so GRPO sees rewards that vary), then starts an "SFT then GRPO" LoRA run in the
tab and grabs the window while GRPO is under way: ``training.png``. When the run has ended and
the before/after evaluation is in, it grabs ``training-evaluated.png``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PySide6 import QtCore, QtWidgets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import save_shot  # noqa: E402

from app.qt.panels.training import TrainingTab  # noqa: E402


def prepare(work: Path) -> tuple[Path, Path]:
    """A tiny model that writes boxes, and a phantom dataset."""
    import yaml

    from app.training.data import build_phantom_benchmark
    from inference.tiny import make_tiny

    dataset = work / "phantom"
    if not (dataset / "manifest.json").exists():
        build_phantom_benchmark(dataset, train=64, heldout=16, size=64)
    base = work / "format-sft" / "model"
    if not base.exists():
        tiny = make_tiny(work / "tiny")
        config = {"model": str(tiny), "dataset": str(dataset), "output_dir": str(base.parent),
                  "method": "sft", "steps": 60, "batch_size": 8, "learning_rate": 1e-2,
                  "lr_scheduler_type": "constant", "warmup_ratio": 0.0, "save_steps": 1000,
                  "lora": {"rank": 0}}
        (work / "format-sft.yaml").write_text(yaml.safe_dump(config))
        subprocess.run([sys.executable, "-m", "app.cli", "train", str(work / "format-sft.yaml")],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return base, dataset


def wait(app: QtWidgets.QApplication, done, timeout_s: float) -> None:
    timer = QtCore.QElapsedTimer()
    timer.start()
    while not done() and timer.elapsed() < timeout_s * 1000:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)


def main() -> int:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="medmo-tab-"))
    work.mkdir(parents=True, exist_ok=True)
    base, dataset = prepare(work)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    tab = TrainingTab(runs_dir=work / "runs", model=str(base), dataset=str(dataset))
    tab.setWindowTitle("MedMO Viewer \u2014 Fine-tuning")
    tab.resize(1380, 860)
    form = tab.form
    form.set_method("sft+grpo")
    form.rank.setValue(8)
    form.learning_rate.setText("2e-3")
    form.steps.setValue(24)
    form.batch_size.setValue(8)
    form.generations.setValue(4)
    tab.show()
    if not tab.start():
        print(tab.status.text(), file=sys.stderr)
        return 1
    grpo_points = lambda: len(tab.progress.curves.reward.get("grpo", []))  # noqa: E731
    wait(app, lambda: grpo_points() >= 12 or not tab.process.running(), 400)
    save_shot(app, tab, "training.png",
              f"{tab.plots.point_counts()}, status {tab.status.text()!r}")
    wait(app, lambda: bool(tab.evaluation.after) or "failed" in tab.evaluation.status.text()
         or (not tab.process.running() and not tab.progress.adapter), 600)
    save_shot(app, tab, "training-evaluated.png",
              f"before {tab.evaluation.before}, after {tab.evaluation.after}")
    tab.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
