"""Another source tree's retrieve as a third side of ``medmo bench pacs --baseline TREE``.

To measure a change to the retrieve before and after in the same run, check the older commit
out somewhere (``git worktree add /tmp/before COMMIT``) and pass that folder: a child process
runs that tree's ``app.bench.pacs._ours`` (its own code, imported from ``TREE``) on every request,
against the same Orthanc and study, interleaved with ours and getscu.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_CHILD = """
import json, sys
from pathlib import Path
from app.bench.pacs import _ours
from viewer.pacs import parse_node
node = parse_node(sys.argv[1], our_ae_title=sys.argv[2])
print(json.dumps({"ready": True}), flush=True)
for _line in sys.stdin:
    seconds, _first, count, cpu = _ours(node, sys.argv[3], Path(sys.argv[4]))
    print(json.dumps({"seconds": seconds, "count": count, "cpu": cpu}), flush=True)
"""


class Baseline:
    """A persistent child retrieving ``study_uid`` from ``dicom_url`` with ``tree``'s code."""

    def __init__(self, tree: str | Path, *, dicom_url: str, our_ae: str, study_uid: str,
                 cache_dir: Path) -> None:
        self.tree = Path(tree).resolve()
        if not (self.tree / "app" / "bench" / "pacs.py").exists():
            raise SystemExit(f"--baseline {tree}: no app/bench/pacs.py there (give a checkout "
                             "of this project, e.g. `git worktree add /tmp/before COMMIT`)")
        # cwd and PYTHONPATH are the tree, so its packages, not ours, are imported
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, dicom_url, our_ae, study_uid, str(cache_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=self.tree,
            env={**os.environ, "PYTHONPATH": str(self.tree)})
        if not self._answer().get("ready"):
            raise RuntimeError(f"the baseline in {self.tree} did not start")

    def _answer(self) -> dict:
        stdout = self.process.stdout
        line = stdout.readline() if stdout is not None else ""
        if not line:
            raise RuntimeError(f"the baseline in {self.tree} stopped (code "
                               f"{self.process.wait()})")
        return json.loads(line)

    def retrieve(self) -> tuple[float, int, float]:
        """(seconds, instances, CPU seconds) of one retrieve into an empty cache."""
        stdin = self.process.stdin
        if stdin is None:  # never with PIPE; for the types
            raise RuntimeError("the baseline has no stdin")
        stdin.write("go\n")
        stdin.flush()
        answer = self._answer()
        return answer["seconds"], answer["count"], answer["cpu"]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
