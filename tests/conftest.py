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
for _name in ("MEDMO_SERVER", "MEDMO_API_KEY", "MEDMO_CA_BUNDLE", "MEDMO_ADAPTER_SHARE",
              "MEDMO_ADAPTER_SHARE_ON_SERVER"):  # a developer's own server never leaks in
    os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def _collect_qt_garbage_in_the_gui_thread(request):
    """After a Qt test, collect its windows' garbage here, in the GUI thread. Left for later,
    a collection triggered in a worker thread (engine, loader) would tear Qt objects down
    outside the GUI thread, which can deadlock Qt (the app avoids it the same way: see
    app/commands/view.py)."""
    yield
    if "qtbot" in request.fixturenames:
        gc.collect()


# The vLLM tests need the CPU build of vLLM in its own virtualenv: `make test-vllm` builds it and
# names its Python in MEDMO_VLLM_PYTHON. Without it they are not collected (not "skipped").
collect_ignore = [] if os.environ.get("MEDMO_VLLM_PYTHON") else ["vllm"]


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """The model server the remote-engine tests talk to: `transformers serve` on the demo model
    (tests/vllm/conftest.py swaps in vLLM). Shared by the whole session; stopped after it."""
    from tests.serving_fixtures import start_transformers_serve

    server = start_transformers_serve(tmp_path_factory.mktemp("served"))
    yield server
    server.stop()


@pytest.fixture
def start_served(tmp_path):
    """Start a private server of the suite's kind (for tests that kill it)."""
    from tests.serving_fixtures import start_transformers_serve

    started = []

    def start():
        started.append(start_transformers_serve(tmp_path))
        return started[-1]

    yield start
    for server in started:
        server.stop(kill=True)


@pytest.fixture(scope="session")
def demo_engine():
    """The in-process engine on the demo model: the reference the server must equal."""
    from inference.engine import Engine
    from inference.models import DEMO_MODEL_DIR
    from inference.runtime import EngineConfig

    engine = Engine(EngineConfig(model=str(DEMO_MODEL_DIR), max_new_tokens=48))
    yield engine
    engine.close()
