"""Project-wide test set-up: Qt offscreen, Hugging Face offline (tests never touch the network),
and a private workspace/cache so the suite never writes into a user's real workspace."""

import gc
import os
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
_scratch = tempfile.mkdtemp(prefix="medmo-tests-")
os.environ["MEDMO_WORKSPACE"] = os.path.join(_scratch, "workspace")
os.environ["MEDMO_CACHE"] = os.path.join(_scratch, "cache")
os.environ["MEDMO_CONFIG"] = os.path.join(_scratch, "config")  # PACS nodes file

from tests.pacs_fixtures import orthanc_factory, pacs_site  # noqa: E402, F401 - fixtures


@pytest.fixture(autouse=True)
def _collect_qt_garbage_in_the_gui_thread(request):
    """After a Qt test, collect its windows' garbage here, in the GUI thread. Left for later,
    a collection triggered in a worker thread (engine, loader) would tear Qt objects down
    outside the GUI thread, which can deadlock Qt (the app avoids it the same way: see
    app/commands/view.py)."""
    yield
    if "qtbot" in request.fixturenames:
        gc.collect()
