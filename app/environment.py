"""Is the Python environment the one the project tested? The lock against what is installed.

``requirements.lock`` (made by ``make lock`` with pip-tools) pins every package of the
environment, transitive ones included. :func:`drift` lists the packages whose installed version
differs from the lock, or that are missing, so a newer upstream release that slipped in fails
loudly (``medmo doctor``, the test suite) instead of as a time-out somewhere deep in a test.
"""

from __future__ import annotations

import importlib.metadata as metadata
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

LOCK_NAME = "requirements.lock"
# The stack whose versions decide whether the engine, training and GUI work (doctor's summary).
MAIN_STACK = ("torch", "torchvision", "transformers", "peft", "trl", "accelerate", "tokenizers",
              "pyside6-essentials", "pyqtgraph", "pydicom", "numpy")


@dataclass(frozen=True, slots=True)
class Drift:
    """A locked package whose installed version is not the locked one (``installed`` None:
    not installed)."""

    name: str
    locked: str
    installed: str | None

    def __str__(self) -> str:
        return f"{self.name} {self.installed or 'missing'} (lock: {self.locked})"


def find_lock(start: Path | None = None) -> Path | None:
    """The lock of the checkout this code runs from, else the one installer/install-desktop.sh
    copies into the virtual environment (None when neither exists)."""
    here = (start or Path(__file__)).resolve()
    for folder in here.parents:
        if (folder / LOCK_NAME).is_file() and (folder / "pyproject.toml").is_file():
            return folder / LOCK_NAME
    beside = Path(sys.prefix) / LOCK_NAME
    return beside if beside.is_file() else None


def read_lock(text: str) -> dict[str, str]:
    """``{canonical name: version}`` of the pins that apply to this interpreter.

    >>> read_lock('torch==2.14.1 \\\\\\n    --hash=sha256:00\\nfoo==1.0 ; python_version < "3"\\n')
    {'torch': '2.14.1'}
    """
    pins: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip().removesuffix("\\").strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        exact = [s.version for s in req.specifier if s.operator == "=="]
        if exact:
            pins[canonicalize_name(req.name)] = exact[0]
    return pins


def installed_versions() -> dict[str, str]:
    """``{canonical name: version}`` of every distribution this interpreter sees."""
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()
            if d.metadata["Name"]}


def drift(locked: dict[str, str], installed: dict[str, str]) -> list[Drift]:
    """Locked packages not installed at their locked version, in the lock's order.

    >>> drift({"a": "1.0", "b": "2.0", "c": "3"}, {"a": "1.0", "b": "2.1"})
    [Drift(name='b', locked='2.0', installed='2.1'), Drift(name='c', locked='3', installed=None)]
    """
    return [Drift(name, version, installed.get(name)) for name, version in locked.items()
            if installed.get(name) != version]


def unlocked(locked: dict[str, str], installed: dict[str, str],
             own: tuple[str, ...] = ("medmo-viewer",)) -> list[str]:
    """Installed packages the lock does not name (besides the project itself)."""
    return sorted(name for name in installed if name not in locked and name not in own)


def pip_check() -> tuple[bool, str]:
    """``pip check`` of this interpreter: (every requirement satisfied, its output)."""
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True,
                              text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"pip check could not run: {exc}"
    return done.returncode == 0, (done.stdout + done.stderr).strip()
