"""Child process for the kill -9 test of measurements: edits a workspace's measurements
forever, printing each committed count.

Run as ``python -m tests.app.measurements_child WORKSPACE_DIR``. Edit ``i`` depends on ``i``
alone, so :func:`expected` rebuilds what the store must hold after ``n`` edits.
"""

from __future__ import annotations

import sys

from app.store.workspace import Workspace
from viewer.annotations import FrameLocation
from viewer.measurements import Measurement, MeasurementSet

STUDY = "1.2.826.0.1.3680043.8.498.77"
FRAME = FrameLocation("1.2.826.0.1.3680043.8.498.78", 2, "1.2.826.0.1.3680043.8.498.79")


def apply_edit(i: int, ms: MeasurementSet) -> None:
    """Edit ``i``: add an ellipse, move the newest, relabel it, or remove the oldest."""
    step = i % 4
    items = list(ms)
    if step == 0 or not items:
        ms.add(Measurement.ellipse(FRAME, (10 + i % 50, 20), (3, 2), id=f"m{i}"))
    elif step == 1:
        ms.update(items[-1].moved(1, 2))
    elif step == 2:
        ms.relabel(items[-1].id, f"lesion {i}")
    elif len(items) > 2:
        ms.remove(items[0].id)
    else:
        ms.add(Measurement("angle", FRAME, ((0, 0), (i, 1), (2, 2)), id=f"a{i}"))


def summary(ms: MeasurementSet) -> list[tuple]:
    return sorted((m.id, m.kind, m.label, m.points_px) for m in ms)


def expected(n: int) -> list[tuple]:
    ms = MeasurementSet(STUDY)
    for i in range(n):
        apply_edit(i, ms)
    return summary(ms)


def main(directory: str) -> None:
    ws = Workspace(directory)
    ms = MeasurementSet(STUDY)
    ws.autosave_measurements(ms)
    print(0, flush=True)
    i = 0
    while True:
        apply_edit(i, ms)  # returns after its commit
        i += 1
        print(i, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
