"""The vLLM suite (`make test-vllm`): the same remote-engine tests against vLLM's CPU build,
plus what only vLLM can do (runtime LoRA adapters, an API key). MEDMO_VLLM_PYTHON names the
Python of the separate virtualenv vLLM lives in (.venv-vllm, made by the Makefile)."""

from __future__ import annotations

import os

import pytest

from tests.app.conftest import make_window  # noqa: F401 - the one window factory

TOKEN = "medmo-test-token"  # vLLM --api-key: every request of the suite carries it


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    from tests.serving_fixtures import start_vllm

    server = start_vllm(tmp_path_factory.mktemp("vllm"), os.environ["MEDMO_VLLM_PYTHON"],
                        api_key=TOKEN)
    yield server
    server.stop()


@pytest.fixture
def start_served(tmp_path):
    from tests.serving_fixtures import start_vllm

    started = []

    def start():
        started.append(start_vllm(tmp_path, os.environ["MEDMO_VLLM_PYTHON"], api_key=TOKEN))
        return started[-1]

    yield start
    for server in started:
        server.stop(kill=True)


@pytest.fixture(scope="session")
def demo_adapter(tmp_path_factory):
    """A LoRA adapter for the demo model with non-zero random weights (PEFT's own save)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    from inference.models import DEMO_MODEL_DIR

    torch.manual_seed(5)
    base = AutoModelForImageTextToText.from_pretrained(DEMO_MODEL_DIR)
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=32, init_lora_weights=False,
                                            target_modules=["q_proj", "v_proj"]))
    folder = tmp_path_factory.mktemp("demo-adapter")
    model.save_pretrained(folder)
    return folder
