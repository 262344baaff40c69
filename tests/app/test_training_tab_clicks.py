"""The fine-tuning tab beside a dataset built from review clicks: a user sees how many clicks
of each kind the training rows hold, when they load the dataset and beside the before/after
table once a REAL `medmo train` + `medmo eval` run on it finishes (tiny checkpoint, CPU).
The dataset comes from the real path: a workspace reviewed through the app's store, then
`medmo dataset corrections`."""

from __future__ import annotations

import json

from app.qt.panels.training import TrainingTab
from app.qt.panels.training_state import metric
from inference.training.dataset import read_rows
from tests.app.click_fixtures import reviewed_workspace
from tests.app.helpers import wait_or_fail
from tests.app.test_dataset_corrections import _medmo

# what the reviewer did on each frame of tests.app.click_fixtures, as `medmo dataset
# corrections` counts it (frame 4: accept, move, resize, relabel, delete and add one box each,
# the resize also counting as a move; frame 5: both boxes deleted, a normal frame)
FRAME_LINES = {
    4: ["1 accepted", "2 moved", "1 resized", "1 relabelled", "1 deleted", "1 added",
        "0 normal frames"],
    5: ["0 accepted", "0 moved", "0 resized", "0 relabelled", "2 deleted", "0 added",
        "1 normal frame"],
}


def test_the_tab_shows_the_click_counts_of_a_click_dataset_and_its_run(qtbot, tmp_path,
                                                                        tiny_model):
    reviewed_workspace(tmp_path / "ws", tmp_path / "weights")
    data = tmp_path / "clicks-data"
    done = _medmo("corrections", str(tmp_path / "ws"), str(data), "--validation-fraction", "0.5")
    assert done.returncode == 0, done.stderr
    (train_row,) = read_rows(data, "train")
    expected = FRAME_LINES[json.loads(train_row["source"])["frame_index"]]

    tab = TrainingTab(runs_dir=tmp_path / "runs", model=str(tiny_model), dataset="")
    qtbot.addWidget(tab)
    panel = tab.evaluation
    assert not panel.clicks.isVisibleTo(tab)  # no dataset, nothing to count
    tab.form.dataset.setText(str(data))  # the user loads the click dataset
    text = panel.clicks.text().replace("<br>", "\n")
    assert panel.clicks.isVisibleTo(tab)
    assert "Review clicks" in text and "1 training row of clicks-data" in text
    assert text.splitlines()[-7:] == expected

    form = tab.form
    form.set_method("sft")
    form.rank.setValue(8)
    form.learning_rate.setText("5e-3")
    form.steps.setValue(2)
    form.batch_size.setValue(1)
    evaluated: list[list] = []
    tab.evaluation_done.connect(evaluated.append)
    try:
        assert tab.start()
        wait_or_fail(qtbot, tab, lambda: evaluated, timeout=300_000)
        # the run is done and evaluated: the counts stand beside the before/after table
        assert panel.after is not None and panel.before is not None
        cell = panel.table.item(0, 1)
        assert cell is not None and cell.text() == f"{metric(panel.after, 'mean_iou'):.3f}"
        assert panel.clicks.isVisibleTo(tab)
        assert panel.clicks.text().replace("<br>", "\n").splitlines()[-7:] == expected
        assert panel.use_button.isEnabled()  # promote and rollback work as before

        # a dataset not built from clicks hides the counts again
        tab.form.dataset.setText(str(tmp_path / "nothing-here"))
        assert not panel.clicks.isVisibleTo(tab)
    finally:
        tab.shutdown(2000)
