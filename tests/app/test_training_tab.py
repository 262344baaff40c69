"""The training tab driving REAL `medmo train` and `medmo eval` child processes on a tiny
random Qwen3-VL checkpoint and a small phantom dataset (CPU)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from app.qt.panels.training import CONFIG_NAME, TrainingTab
from inference.training.config import load_config
from tests.app.helpers import wait_or_fail

RUN_MS = 150_000


@pytest.fixture
def make_tab(qtbot, tmp_path, tiny_model, phantom_dataset):
    tabs = []

    def make(**settings) -> TrainingTab:
        tab = TrainingTab(runs_dir=tmp_path / "runs", model=str(tiny_model),
                          dataset=str(phantom_dataset))
        qtbot.addWidget(tab)
        form = tab.form
        form.set_method(settings.get("method", "sft"))
        form.rank.setValue(8)
        form.learning_rate.setText(str(settings.get("lr", 5e-3)))
        form.steps.setValue(settings.get("steps", 4))
        form.batch_size.setValue(4)
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        tab.shutdown(2000)


def test_start_runs_plots_and_fills_the_before_after_table(qtbot, make_tab):
    tab = make_tab(steps=4)
    assert "GiB" in tab.form.estimate.text()  # the tiny model's config.json is read
    assert "16 train, 8 validation" in tab.form.dataset_info.text()  # the shared phantom set
    chosen, rolled = [], []
    tab.adapter_chosen.connect(chosen.append)
    tab.rolled_back.connect(lambda: rolled.append(True))

    evaluated = []
    tab.evaluation_done.connect(evaluated.append)
    assert tab.start()
    assert not tab.start_button.isEnabled() and tab.stop_button.isEnabled()
    assert not tab.form.steps.isEnabled()  # settings are fixed while a run goes
    wait_or_fail(qtbot, tab, lambda: evaluated, timeout=2 * RUN_MS)
    # the run folder holds a config the command line accepts as it is
    config = load_config(tab.run_dir / CONFIG_NAME)
    assert (config.method, config.steps, config.lora_rank) == ("sft", 4, 8)
    assert config.output_dir == str(tab.run_dir)
    assert tab.plots.point_counts()["loss/sft"] == 4
    assert tab.progress.curves.loss["sft"][-1][0] == 4.0
    log = tab.log.toPlainText()
    assert "sft step 4/4" in log and "$ medmo eval" in log
    assert tab.progress.adapter == str(tab.run_dir / "adapter")
    # both evaluations came from real `medmo eval` runs on the 8 frozen validation images
    panel = tab.evaluation
    for result in (panel.before, panel.after):
        assert result["n"] == 8 and result["split"] == "validation"
    assert panel.after["adapter"] == tab.progress.adapter and panel.before["adapter"] is None
    cells = [[panel.table.item(r, c).text() for c in range(3)] for r in range(4)]
    assert cells[0][0] == f"{panel.before['mean_iou']:.3f}"
    assert cells[0][1] == f"{panel.after['mean_iou']:.3f}"
    assert cells[3][2] == f"{panel.after['format_valid_rate'] - panel.before['format_valid_rate']:+.3f}"
    assert tab.start_button.isEnabled() and not tab.resume_button.isEnabled()

    # "Use this adapter": straight through when not worse, else only after a confirmation
    worse = panel.after["mean_iou"] < panel.before["mean_iou"]
    asked = []
    panel._confirm = lambda title, text: asked.append(text) or True
    assert panel.use_button.isEnabled()
    panel.use_button.click()
    assert chosen == [tab.progress.adapter] and bool(asked) == worse
    assert panel.rollback_button.isEnabled() and not panel.use_button.isEnabled()
    panel.rollback_button.click()
    assert rolled == [True] and "base model" in panel.active_label.text()

    # the evaluation is saved with the run: reopening it shows the table without evaluating
    other = make_tab()
    assert other.open_run(tab.run_dir) and not other.evaluation.running()
    assert [[other.evaluation.table.item(r, c).text() for c in range(3)]
            for r in range(4)] == cells
    assert other.evaluation.status.text().startswith("Saved evaluation of this run")
    # the frozen split's base result is reused within the session; only the adapter is run
    assert panel.evaluate()
    assert panel._queue == [tab.progress.adapter] and panel.before is not None
    assert tab.log.toPlainText().count("$ medmo eval") == 3
    assert "reusing this session's result" in tab.log.toPlainText()


def test_sft_then_grpo_runs_both_stages_with_the_forms_sampling_settings(qtbot, make_tab):
    tab = make_tab(method="sft+grpo", steps=2)
    assert tab.form.grpo_box.isEnabled()
    tab.form.generations.setValue(2)
    tab.form.temperature.setValue(0.8)
    finished = []
    tab.run_finished.connect(lambda folder, message: finished.append(message))
    assert tab.start()
    wait_or_fail(qtbot, tab, lambda: finished, timeout=2 * RUN_MS)
    assert finished == [""]
    config = load_config(tab.run_dir / CONFIG_NAME)
    assert config.stages == ("sft", "grpo")
    assert (config.num_generations, config.temperature) == (2, 0.8)
    counts = tab.plots.point_counts()
    assert counts["loss/sft"] == 2 and counts["iou/grpo"] == 2 and counts["reward/grpo"] == 2
    # reopening the run shows the settings it ran with
    other = make_tab()
    assert other.open_run(tab.run_dir)
    assert other.form.method_value() == "sft+grpo" and other.form.temperature.value() == 0.8


def test_a_worse_adapter_needs_an_explicit_override(qtbot, make_tab, tmp_path):
    tab = make_tab()
    panel = tab.evaluation
    panel.set_run("base", "data", str(tmp_path / "adapter"))
    panel.before, panel.after = ({"mean_iou": 0.4, "f1_at_0_5": 0.3},
                                 {"mean_iou": 0.2, "f1_at_0_5": 0.3})
    panel.show_comparison()
    panel.update_buttons()
    chosen, answers = [], [False, True]
    tab.adapter_chosen.connect(chosen.append)
    tab.evaluation._confirm = lambda title, text: answers.pop(0)
    tab.evaluation.use_button.click()
    assert chosen == []  # declined
    tab.evaluation.use_button.click()
    assert chosen == [str(tmp_path / "adapter")]
    assert tab.evaluation.table.item(0, 2).text() == "-0.200"


def test_stop_mid_run_checkpoints_and_resume_continues_from_that_step(qtbot, make_tab):
    tab = make_tab(steps=40)
    steps = []
    tab.process.event.connect(lambda e: e["event"] == "log" and steps.append(e["step"]))
    assert tab.start()
    wait_or_fail(qtbot, tab, lambda: len(steps) >= 2, timeout=RUN_MS)
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_MS) as blocker:
        tab.stop_button.click()
    assert blocker.args[1] == ""
    stopped_at = tab.progress.step
    assert 2 <= stopped_at < 40
    assert "Stopped at step" in tab.status.text()
    assert (tab.run_dir / "sft" / f"checkpoint-{stopped_at}").is_dir()
    assert tab.resume_button.isEnabled() and not tab.evaluation.eval_button.isEnabled()
    points_before = tab.plots.point_counts()["loss/sft"]

    # as after a restart of the app: a fresh tab opens the run folder and resumes it
    tab = make_tab()
    assert tab.open_run(blocker.args[0])
    assert tab.plots.point_counts()["loss/sft"] == points_before
    assert tab.form.steps.value() == 40 and tab.resume_button.isEnabled()
    assert "stopped" in tab.status.text()
    steps = []
    tab.process.event.connect(lambda e: e["event"] == "log" and steps.append(e["step"]))
    starts = []
    tab.process.event.connect(lambda e: e["event"] == "start" and starts.append(e))
    tab.resume_button.click()
    wait_or_fail(qtbot, tab, lambda: len(steps) >= 2, timeout=RUN_MS)
    assert starts[0]["resume_from"].endswith(f"checkpoint-{stopped_at}")
    assert steps[0] == stopped_at + 1  # continues, does not start over
    assert tab.plots.point_counts()["loss/sft"] > points_before
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_MS):
        tab.stop_button.click()


def test_a_failing_child_is_reported_and_the_tab_keeps_working(qtbot, make_tab, tmp_path,
                                                               tiny_model):
    tab = make_tab(steps=2)
    tab.form.model.setEditText(str(tmp_path / "missing-model"))
    assert "no estimate" in tab.form.estimate.text()
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_MS) as blocker:
        assert tab.start()
    assert blocker.args[1]  # a message
    assert tab.status.text().startswith("Training failed:")
    assert "missing-model" in tab.status.text()
    assert "b00020" in tab.status.styleSheet()
    assert tab.start_button.isEnabled() and tab.form.steps.isEnabled()
    assert not tab.evaluation.use_button.isEnabled()

    # a child killed mid-run (as the OOM killer would) is reported too; the tab goes on
    tab.form.model.setEditText(str(tiny_model))
    tab.form.steps.setValue(200)
    assert tab.start()
    wait_or_fail(qtbot, tab, lambda: tab.progress.step >= 1, timeout=RUN_MS)
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_MS) as blocker:
        os.kill(tab.process.pid(), signal.SIGKILL)
    assert "killed or crashed" in blocker.args[1]
    assert "killed or crashed" in tab.status.text()
    assert tab.plots.point_counts()["loss/sft"] >= 1  # what was drawn stays
    assert tab.start_button.isEnabled()
    assert not tab.resume_button.isEnabled()  # killed before its first checkpoint


def test_a_wait_on_a_tab_whose_child_dies_fails_at_once_with_its_stderr(qtbot, make_tab,
                                                                         tmp_path):
    """When the adapter path broke, a test waited its whole timeout (300 s) for a signal that
    could no longer come. Waiting through wait_or_fail ends as soon as the child does."""
    tab = make_tab(steps=2)
    tab.form.model.setEditText(str(tmp_path / "missing-model"))
    evaluated = []
    tab.evaluation_done.connect(evaluated.append)
    started = time.monotonic()
    assert tab.start()
    with pytest.raises(pytest.fail.Exception, match="medmo train ended") as failed:
        wait_or_fail(qtbot, tab, lambda: evaluated, timeout=2 * RUN_MS)
    assert "missing-model" in str(failed.value) and "--- its stderr ---" in str(failed.value)
    assert time.monotonic() - started < RUN_MS / 1000, "it waited out the timeout"


def test_invalid_settings_are_refused_before_any_process_starts(qtbot, make_tab):
    tab = make_tab(method="grpo")
    tab.form.generations.setValue(3)  # batch 4 is not a multiple of 3 generations
    assert not tab.start()
    assert "multiple" in tab.status.text() and not tab.process.running()
    tab.form.learning_rate.setText("fast")
    assert not tab.start() and "learning rate" in tab.status.text()
    assert not (tab.runs_dir.exists() and any(tab.runs_dir.iterdir()))


def test_a_failing_evaluation_is_shown_and_choosing_then_needs_confirmation(
        qtbot, make_tab, tmp_path, phantom_dataset):
    tab = make_tab()
    panel = tab.evaluation
    panel.set_run(str(tmp_path / "no-model"), str(phantom_dataset), str(tmp_path / "ad"))
    with qtbot.waitSignal(panel.busy_changed, timeout=RUN_MS,
                          check_params_cb=lambda busy: not busy):
        assert panel.evaluate()
        assert not tab.start_button.isEnabled()  # one child at a time
    assert panel.status.text().startswith("Evaluation failed:")
    assert "no-model" in panel.status.text() and "b00020" in panel.status.styleSheet()
    assert "eval failed" in tab.log.toPlainText()
    assert tab.start_button.isEnabled() and panel.eval_button.isEnabled()
    asked = []
    panel._confirm = lambda title, text: asked.append(text) or False
    assert not panel.use_adapter() and "not measured" in asked[0]


def test_stop_before_training_begins_cancels_without_an_error(qtbot, make_tab):
    tab = make_tab(steps=2)
    assert tab.start()
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_MS):
        tab.stop_button.click()  # still importing: nothing to checkpoint, so it is killed
    assert tab.status.text().startswith("Cancelled") and tab.status.styleSheet() == ""
    assert tab.start_button.isEnabled() and not tab.resume_button.isEnabled()
