"""Screenshot of the fine-tuning tab after a run on rows from review clicks (offscreen Qt).

    QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1 .venv/bin/python \\
        docs/screenshots/make_clicks_training_screenshot.py [WORK_DIR]

In WORK_DIR (default: a temporary folder) the shipped demo model reads 40 slices of the
simulated site of ``medmo bench adapt --scenario clicks`` (:mod:`app.training.site_sim`), at
its own slice size; the simulated reviewer accepts, deletes and adds through a real workspace;
``medmo dataset corrections``'s builder makes the rows (a quarter frozen for validation). The
tab then trains a short LoRA SFT on them from the demo model, evaluates before and after, and
the window is grabbed with the click counts beside the table: ``training-clicks.png``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6 import QtWidgets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shots import save_shot, wait  # noqa: E402

from app.qt.panels.training import TrainingTab  # noqa: E402
from inference.models import DEMO_MODEL_DIR  # noqa: E402


def click_dataset(work: Path) -> Path:
    """The demo model's answers on 40 site slices, reviewed, as a click dataset."""
    from app.store.workspace import Workspace
    from app.training.click_data import correction_rows
    from app.training.site_sim import model_slice_size, review_site, site_slice
    from inference.engine import Engine
    from inference.runtime import EngineConfig
    from inference.training.dataset import write_dataset

    data = work / "site-clicks"
    if (data / "manifest.json").exists():
        return data
    size = model_slice_size(DEMO_MODEL_DIR)
    slices = [site_slice(700_000 + k, size=size) for k in range(40)]
    engine = Engine(EngineConfig(model=str(DEMO_MODEL_DIR), device="cpu", max_new_tokens=96))
    try:
        print("clicks:", review_site(engine, DEMO_MODEL_DIR, slices, work / "workspace"))
    finally:
        engine.close()
    with Workspace(work / "workspace") as ws:
        built = correction_rows(ws)
    write_dataset(data, built.examples, validation_fraction=0.25,
                  description="review clicks (GRPO reward targets)")
    return data


def main() -> int:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="medmo-tab-"))
    work.mkdir(parents=True, exist_ok=True)
    dataset = click_dataset(work)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    tab = TrainingTab(runs_dir=work / "runs", model=str(DEMO_MODEL_DIR), dataset=str(dataset))
    tab.setWindowTitle("MedMO Viewer \u2014 Fine-tuning")
    tab.resize(1380, 860)
    form = tab.form
    form.set_method("sft")
    form.rank.setValue(8)
    form.learning_rate.setText("1e-3")
    form.steps.setValue(8)
    form.batch_size.setValue(4)
    tab.show()
    if not tab.start():
        print(tab.status.text(), file=sys.stderr)
        return 1
    wait(app, lambda: bool(tab.evaluation.after) or "failed" in tab.evaluation.status.text()
         or (not tab.process.running() and not tab.progress.adapter), 900)
    save_shot(app, tab, "training-clicks.png",
              f"clicks {tab.evaluation.click_counts}, before {tab.evaluation.before}, "
              f"after {tab.evaluation.after}")
    tab.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
