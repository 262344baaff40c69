"""The viewer's Qt widgets (the only part of ``viewer`` that imports Qt)."""

from __future__ import annotations

import sys

_CUDA_RUNTIME = "cuda.bindings.runtime"


def import_pyqtgraph() -> None:
    """Import pyqtgraph without CUDA's Python bindings.

    pyqtgraph's ``RawImageWidget`` (which the viewer does not use) imports
    ``cuda.bindings.runtime`` at import time when it is installed, as it is beside torch's
    CUDA wheels: about 0.12 s of every window's start-up, before the study can show. The
    module is hidden for that one import and restored at once, so torch and anything else
    import it as usual later.
    """
    if "pyqtgraph" in sys.modules or _CUDA_RUNTIME in sys.modules:
        import pyqtgraph  # noqa: F401 - already paid for, or the bindings are loaded anyway
        return
    sys.modules[_CUDA_RUNTIME] = None  # type: ignore[assignment]  # ImportError for this import
    try:
        import pyqtgraph  # noqa: F401
    finally:
        del sys.modules[_CUDA_RUNTIME]
