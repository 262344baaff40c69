"""The environment is the locked one, and Qt's missing system libraries are named before Qt
starts (a missing libxcb-* must be one clear line, never Qt's abort)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.cli import main
from app.environment import drift, find_lock, installed_versions, pip_check, read_lock, unlocked
from app.qt import display_check as qt_check


def test_installed_packages_are_exactly_the_lock():
    """A newer upstream release that slipped in (transformers 5.24 broke every adapter path)
    fails here by name, not as a time-out somewhere in the suite."""
    lock = find_lock()
    assert lock is not None and lock.name == "requirements.lock"
    locked = read_lock(lock.read_text())
    installed = installed_versions()
    for name in ("torch", "transformers", "peft", "trl", "pyside6-essentials", "python-gdcm"):
        assert name in locked, f"{name} is not pinned in the lock"
    assert drift(locked, installed) == []
    assert unlocked(locked, installed) == [], "installed but not in the lock"


def test_pip_check_finds_every_requirement_satisfied():
    ok, text = pip_check()
    assert ok, text


def _fake_qt_with_missing_library(root: Path, soname: str) -> Path:
    """A Qt folder whose xcb plugin links against ``soname``, which then disappears: what ldd
    shows on a machine without that package."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    assert gcc, "a C compiler is needed to build the stand-in plugin"
    build = root / "build"
    build.mkdir()
    (build / "dep.c").write_text("int dep(void) { return 1; }\n")
    (build / "plugin.c").write_text("int dep(void);\nint plugin(void) { return dep(); }\n")
    subprocess.run([gcc, "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o",
                    str(build / soname), str(build / "dep.c")], check=True)
    platforms = root / "Qt" / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    subprocess.run([gcc, "-shared", "-fPIC", "-Wl,--no-as-needed", "-o",
                    str(platforms / "libqxcb.so"), str(build / "plugin.c"), str(build / soname)],
                   check=True)
    shutil.rmtree(build)
    return root / "Qt"


# a library name no system has (the real xcb libraries are installed here, so the linker
# would find them): what ldd then prints is what it prints for a missing libxcb-icccm.so.4
MISSING = "libxcb-medmo-missing.so.4"


def test_missing_xcb_library_is_named_with_the_command_that_installs_it(tmp_path, monkeypatch):
    qt = _fake_qt_with_missing_library(tmp_path, MISSING)
    assert qt_check.missing_xcb_libraries(qt) == [MISSING]
    monkeypatch.setitem(qt_check.DEBIAN_PACKAGES, MISSING, "libxcb-medmo4")
    problem = qt_check.platform_problem({"DISPLAY": ":0"}, qt=qt)
    assert MISSING in problem
    assert "apt-get install libxcb-medmo4" in problem
    # a platform chosen explicitly (offscreen) needs no xcb
    assert qt_check.platform_problem({"QT_QPA_PLATFORM": "offscreen"}, qt=qt) is None


def test_the_real_qt_plugin_has_every_library_here():
    """installer/system-deps.sh installed them (make test runs it)."""
    assert qt_check.qt_dir() is not None
    assert qt_check.missing_xcb_libraries() == []


def test_medmo_view_exits_2_with_one_line_instead_of_a_core_dump(tmp_path, monkeypatch, capsys):
    qt = _fake_qt_with_missing_library(tmp_path, MISSING)
    monkeypatch.setattr(qt_check, "qt_dir", lambda: qt)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    assert main(["view", "--demo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert MISSING in err[0] and "apt-get install" in err[0]


def test_no_display_at_all_is_said_plainly(monkeypatch, capsys):
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["view"]) == 2
    assert "no display" in capsys.readouterr().err


@pytest.mark.parametrize("soname", sorted(qt_check.DEBIAN_PACKAGES))
def test_every_known_library_maps_to_a_package_the_installer_installs(soname):
    script = (Path(__file__).parents[2] / "installer" / "system-deps.sh").read_text()
    packages = re.search(r'QT_PACKAGES="([^"]*)"', script).group(1).split()
    assert qt_check.DEBIAN_PACKAGES[soname] in packages


def test_the_lock_satisfies_pyprojects_ranges():
    """pyproject's compatible ranges (for people installing the package into their own
    environment) and the lock (what is tested) agree: every requirement is pinned inside its
    range. An edit to pyproject without `make lock` fails here."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    root = Path(__file__).parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = list(project["dependencies"])
    for name in ("dev", "train", "dicom-export", "pacs", "serve"):
        wanted += extras[name]
    locked = read_lock((root / "requirements.lock").read_text())
    for line in wanted:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is required but not in the lock: run make lock"
        assert req.specifier.contains(locked[name], prereleases=True), (
            f"{req.name} {locked[name]} is outside {req.specifier}: run make lock")
