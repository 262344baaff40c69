"""Project-wide test set-up: Qt offscreen, Hugging Face offline (tests never touch the network),
and a private workspace/cache so the suite never writes into a user's real workspace."""

import gc
import io
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


# ---- shared builders (one of each for the whole suite) ----------------------------------
@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny random Qwen3-VL checkpoint, built once, loaded by every test through the same
    from_pretrained path as real MedMO weights (read-only: tests that train write elsewhere)."""
    from inference.tiny import make_tiny

    return make_tiny(tmp_path_factory.mktemp("tiny-qwen3vl"))


@pytest.fixture(scope="session")
def phantom_dataset(tmp_path_factory):
    """A small phantom training dataset (16 train, 8 frozen validation, 64 px)."""
    from app.training.data import build_phantom_benchmark

    out = tmp_path_factory.mktemp("phantom") / "ds"
    build_phantom_benchmark(out, train=16, heldout=8, size=64)
    return out


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory):
    """The demo study (a real DICOM CT phantom series with ground_truth.json), 10 x 256^2."""
    from viewer.demo import write_demo_study

    return write_demo_study(tmp_path_factory.mktemp("demo"), slices=10, size=256)


@pytest.fixture(scope="session")
def format_model(tiny_model, phantom_dataset, tmp_path_factory):
    """The tiny model after a short full fine-tune SFT through this very pipeline (~10 s):
    it writes `lesion <box>[[...]]</box>` answers with rough coordinates (a random model never
    writes a box, so GRPO would see zero reward variance and the viewer no box to draw)."""
    from inference.training.config import TrainConfig
    from inference.training.run import run_training

    out = tmp_path_factory.mktemp("format-sft")
    config = TrainConfig(model=str(tiny_model), dataset=str(phantom_dataset),
                         output_dir=str(out), method="sft", steps=60, batch_size=8,
                         learning_rate=1e-2, lora_rank=0, warmup_ratio=0.0,
                         lr_scheduler_type="constant", save_steps=1000, device="cpu",
                         torch_threads=1)
    stream = io.StringIO()
    assert run_training(config, stream=stream) == 0, stream.getvalue()[-2000:]
    return out / "model"


@pytest.fixture
def make_view(qtbot):
    """make_view(series=None, size=(600, 500)) -> (state, view): a real SliceView on a
    synthetic series (tests/viewer/qt/synthetic.py), shown offscreen, closed after the test."""
    from PySide6 import QtWidgets

    from tests.viewer.qt.synthetic import ct_series, study_of
    from viewer.qt.slice_view import SliceView
    from viewer.viewstate import ViewState

    def make(series=None, size=(600, 500)):
        series = series if series is not None else ct_series()
        state = ViewState()
        view = SliceView(state)
        qtbot.addWidget(view)
        view.resize(*size)
        view.show()
        qtbot.waitExposed(view)
        state.set_series(series, study=study_of(series))
        QtWidgets.QApplication.processEvents()
        return state, view

    return make


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
