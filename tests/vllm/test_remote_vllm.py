# ruff: noqa: F811 - fixtures imported from tests/inference/test_remote.py
"""The remote-engine tests of tests/inference/test_remote.py, run against vLLM (CPU build), then
what only vLLM does: continuous batching, runtime LoRA adapters, the API key."""

from __future__ import annotations

import httpx
import pytest

from inference.remote import RemoteConfig, RemoteEngine, RemoteError
from tests.inference.test_remote import (  # noqa: F401 - the same tests, on vLLM
    phantoms,
    remote,
    test_a_model_the_server_does_not_serve_is_named_in_the_error,
    test_a_resized_frame_maps_boxes_back_to_its_own_pixels,
    test_a_server_killed_mid_answer_is_an_error_that_keeps_what_arrived,
    test_connecting_names_the_served_model_and_sizes_frames_like_the_checkpoint,
    test_localising_several_frames_equals_in_process_frame_by_frame,
    test_several_images_in_one_question_equal_the_in_process_engine,
    test_stop_closes_the_stream_and_the_server_answers_the_next_question,
    test_streamed_answer_and_boxes_equal_the_in_process_engine,
)


def _served_names(served) -> list[str]:
    listing = httpx.get(served.url + "/v1/models",
                        headers={"Authorization": f"Bearer {served.api_key}"}).json()
    return [m["id"] for m in listing["data"]]


def test_it_is_vllm(remote):
    assert remote.kind == "vllm" and remote.adapters_supported()


def test_a_wrong_api_key_is_named_as_such(served):
    with pytest.raises(RemoteError, match=r"HTTP 401\): the API key or token is missing or "
                                          "wrong"):
        RemoteEngine(RemoteConfig(url=served.url, api_key="not-the-token"))


def test_an_adapter_loads_on_the_server_answers_as_in_process_and_rolls_back(
        served, demo_adapter, phantoms, tmp_path):
    from inference.engine import Engine
    from inference.models import DEMO_MODEL_DIR
    from inference.runtime import EngineConfig

    share = tmp_path / "share"  # the site's shared folder (same path here and on the server)
    share.mkdir()
    config = RemoteConfig(url=served.url, api_key=served.api_key, max_new_tokens=32,
                          adapter_share=str(share))
    engine = RemoteEngine(config)
    base = engine.ask(phantoms[:1], "", task="localize")
    name = engine.load_adapter(demo_adapter, name="site-lora")
    server_name = engine._server_names[name]
    assert (share / server_name / "adapter_config.json").is_file()  # published to the share
    assert server_name in _served_names(served)
    adapted = engine.ask(phantoms[:1], "", task="localize")
    local = Engine(EngineConfig(model=str(DEMO_MODEL_DIR), max_new_tokens=32))
    local.load_adapter(demo_adapter)
    assert adapted.text == local.ask(phantoms[:1], "", task="localize").text
    assert adapted.text != base.text and adapted.adapter == "site-lora"
    local.close()

    other_viewer = RemoteEngine(config)  # a second workstation loads the same adapter
    other_viewer.load_adapter(demo_adapter)
    assert other_viewer.ask(phantoms[:1], "", task="localize").text == adapted.text
    other_viewer.close()

    engine.set_adapter(None)  # roll back: unloaded from the server
    assert server_name not in _served_names(served) and engine.adapters == {}
    assert engine.ask(phantoms[:1], "", task="localize").text == base.text
    engine.close()


def test_an_adapter_the_server_cannot_read_is_a_clear_error(served, demo_adapter, tmp_path):
    engine = RemoteEngine(RemoteConfig(url=served.url, api_key=served.api_key,
                                       adapter_share=str(tmp_path),
                                       adapter_share_on_server="/nowhere/on/the/server"))
    with pytest.raises(RemoteError, match="could not load the adapter from /nowhere/on/the/server"):
        engine.load_adapter(demo_adapter)
    assert engine.adapters == {} and engine.active_adapter is None
    engine.close()
