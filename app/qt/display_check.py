"""Can Qt open a window here? Checked before Qt is started, so a missing system library is one
clear line instead of Qt's abort and a core dump.

Qt's xcb platform plugin (``PySide6/Qt/plugins/platforms/libqxcb.so``) and the Qt libraries it
loads link against X11/xcb libraries that minimal Linux installs lack (libxcb-cursor0,
libxcb-icccm4 and libxcb-keysyms1 most often). :func:`missing_xcb_libraries` asks the dynamic
linker (``ldd``) which of them cannot be found; :func:`platform_problem` turns that into the
message ``medmo view`` prints and ``medmo doctor`` reports. Nothing here imports Qt.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# shared-library name -> Debian/Ubuntu package (read off `ldd` + `dpkg -S` on Debian 12 for
# PySide6 6.11; installer/system-deps.sh installs the same list)
DEBIAN_PACKAGES: dict[str, str] = {
    "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1", "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0", "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6", "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0", "libdbus-1.so.3": "libdbus-1-3",
    "libX11.so.6": "libx11-6", "libX11-xcb.so.1": "libx11-xcb1", "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0", "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0", "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1", "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1", "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def qt_dir() -> Path | None:
    """PySide6's ``Qt`` folder, found without importing PySide6 (None if it is not installed)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "Qt"


def xcb_binaries(qt: Path) -> list[Path]:
    """The xcb platform plugin and the Qt libraries it pulls in, where present."""
    names = ["plugins/platforms/libqxcb.so", "lib/libQt6XcbQpa.so.6", "lib/libQt6Gui.so.6",
             "lib/libQt6Widgets.so.6", "lib/libQt6DBus.so.6"]
    return [qt / name for name in names if (qt / name).is_file()]


def parse_ldd(output: str) -> list[str]:
    """Library names ``ldd`` could not find, in order, without repeats.

    >>> parse_ldd("\\tlibxcb.so.1 => /lib/libxcb.so.1 (0x1)\\n\\tlibxcb-icccm.so.4 => not found\\n")
    ['libxcb-icccm.so.4']
    """
    seen: dict[str, None] = {}
    for name in _NOT_FOUND.findall(output):
        seen.setdefault(name, None)
    return list(seen)


def missing_xcb_libraries(qt: Path | None = None) -> list[str]:
    """Shared libraries Qt's xcb plugin needs that the dynamic linker cannot find ([] when
    all are there, or when this is not Linux / ldd is unavailable: nothing to say)."""
    qt = qt if qt is not None else qt_dir()
    ldd = shutil.which("ldd")
    if qt is None or ldd is None or not sys.platform.startswith("linux"):
        return []
    missing: dict[str, None] = {}
    for binary in xcb_binaries(qt):
        try:
            done = subprocess.run([ldd, str(binary)], capture_output=True, text=True,
                                  timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        for name in parse_ldd(done.stdout):
            missing.setdefault(name, None)
    return list(missing)


def install_hint(libraries: list[str]) -> str:
    """The command that installs ``libraries`` on Debian/Ubuntu (unknown names as they are).

    >>> install_hint(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    'sudo apt-get install libxcb-icccm4 libxcb-keysyms1'
    """
    packages = dict.fromkeys(DEBIAN_PACKAGES.get(name, name) for name in libraries)
    return "sudo apt-get install " + " ".join(packages)


def uses_xcb(environ: Mapping[str, str] | None = None) -> bool:
    """Whether Qt will try the xcb plugin: Linux, a DISPLAY, and no other platform chosen."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0] == "xcb"
    return sys.platform.startswith("linux") and bool(env.get("DISPLAY"))


def headless(environ: Mapping[str, str] | None = None) -> bool:
    """Linux with no display to open a window on (and no Qt platform chosen)."""
    env = os.environ if environ is None else environ
    return (sys.platform.startswith("linux") and not env.get("QT_QPA_PLATFORM")
            and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"))


def platform_problem(environ: Mapping[str, str] | None = None,
                     qt: Path | None = None) -> str | None:
    """One line saying why Qt cannot open a window here and how to fix it, or None."""
    env = os.environ if environ is None else environ
    if headless(env):
        return ("no display: DISPLAY is not set. Run it on a desktop, through ssh -X, under "
                "xvfb-run, or with QT_QPA_PLATFORM=offscreen together with --screenshot")
    if not uses_xcb(env):
        return None
    missing = missing_xcb_libraries(qt)
    if not missing:
        return None
    return (f"Qt cannot open a window: missing system libraries {', '.join(missing)}. "
            f"Install them with: {install_hint(missing)} "
            "(or: sh installer/system-deps.sh qt)")
