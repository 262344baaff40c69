"""The remote engine against a real server (``transformers serve`` here; ``make test-vllm`` runs
these same tests against vLLM): same answers and boxes as the in-process engine on the same
checkpoint, streaming, several frames, Stop, a server killed mid-answer, a wrong model name."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from inference.remote import AdaptersUnsupportedError, RemoteConfig, RemoteEngine, RemoteError
from inference.types import Answer, Turn


@pytest.fixture(scope="module")
def remote(served):
    engine = RemoteEngine(RemoteConfig(url=served.url, api_key=served.api_key,
                                       max_new_tokens=48))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def phantoms():
    """Demo-study-like slices (the demo world at the soft-tissue window), one finding each, so
    the demo model answers them with real boxes; the third at 300 x 484 so the frame is resized
    before it is sent."""
    from viewer.phantom_world import world_slice
    from viewer.windowing import apply_window

    images = [np.asarray(apply_window(world_slice(256, seed, count=1).hu, 400.0, 40.0), np.uint8)
              for seed in (11, 12, 13)]
    wide = np.zeros((300, 484), np.uint8)
    wide[:256, 100:356] = images.pop()
    return [*images, wide]


def test_connecting_names_the_served_model_and_sizes_frames_like_the_checkpoint(
        remote, served, demo_engine):
    assert remote.model_name == served.model
    assert remote.info["server"] == served.url and remote.info["server_model"] == served.model
    assert (remote.min_pixels, remote.max_pixels, remote.factor) == (
        demo_engine.min_pixels, demo_engine.max_pixels, demo_engine.factor)
    # and reads the chat history the checkpoint's folder says its model reads (medmo.json)
    assert remote.history_turns == demo_engine.history_turns


def test_streamed_answer_and_boxes_equal_the_in_process_engine(remote, demo_engine, phantoms,
                                                               served):
    items = list(remote.stream(phantoms[:1], "", task="localize"))
    answer = items[-1]
    chunks = items[:-1]
    assert isinstance(answer, Answer) and len(chunks) > 3  # it streamed, token by token
    assert "".join(chunks) == answer.text
    local = demo_engine.ask(phantoms[:1], "", task="localize")
    assert answer.text == local.text and "<box>" in answer.text
    assert answer.boxes == local.boxes and answer.boxes  # the same pixels
    assert answer.geometry == local.geometry
    assert answer.server == served.url and answer.model.startswith(served.model)
    t = answer.timings
    assert t.new_tokens == local.timings.new_tokens and 0 < t.ttft_s <= t.total_s


def test_a_resized_frame_maps_boxes_back_to_its_own_pixels(remote, demo_engine, phantoms):
    answer = remote.ask(phantoms[2:], "", task="localize")
    local = demo_engine.ask(phantoms[2:], "", task="localize")
    assert answer.geometry[0].width == 484 and answer.geometry[0].model_width != 484
    assert answer.text == local.text and answer.boxes == local.boxes


def test_several_images_in_one_question_equal_the_in_process_engine(remote, demo_engine,
                                                                    phantoms):
    history = [Turn("user", "Earlier question"), Turn("assistant", "Earlier answer")]
    answer = remote.ask(phantoms, "Compare these slices.", history=history)
    local = demo_engine.ask(phantoms, "Compare these slices.", history=history)
    assert answer.text == local.text and answer.text
    assert answer.prompt_text.count("<image>") == 3
    # the history goes along unless the checkpoint says its model reads none (the demo model
    # of issue 15 does: medmo.json)
    assert ("Earlier answer" in answer.prompt_text) == (demo_engine.history_turns != 0)


def test_localising_several_frames_equals_in_process_frame_by_frame(remote, demo_engine,
                                                                    phantoms):
    chunks = []
    answer = None
    for item in remote.stream(phantoms, "", task="localize"):
        if isinstance(item, Answer):
            answer = item
        else:
            chunks.append(item)
    local = demo_engine.localize(phantoms, "")
    assert answer.texts == local.texts and len(answer.texts) == 3
    assert answer.boxes == local.boxes
    # each box on its own frame: the frames whose text holds a box, two of them at least
    boxed = {k for k, text in enumerate(answer.texts) if "<box>" in text}
    assert {b.frame for b in answer.boxes} == boxed and len(boxed) >= 2
    assert [c.split("]")[0] for c in chunks] == ["[frame 0", "[frame 1", "[frame 2"]


def test_stop_closes_the_stream_and_the_server_answers_the_next_question(remote, demo_engine,
                                                                         phantoms):
    cancel = threading.Event()
    chunks = []
    answer = None
    for item in remote.stream(phantoms[:1], "Describe.", cancel=cancel, max_new_tokens=400,
                              min_new_tokens=400):
        if isinstance(item, Answer):
            answer = item
            continue
        chunks.append(item)
        if len(chunks) == 3:
            cancel.set()
    assert answer.cancelled and answer.text == "".join(chunks)
    assert len(chunks) < 50  # it stopped, far short of the 400 tokens asked for
    after = remote.ask(phantoms[:1], "", task="localize")
    assert after.text == demo_engine.ask(phantoms[:1], "", task="localize").text


def test_a_server_killed_mid_answer_is_an_error_that_keeps_what_arrived(start_served, phantoms):
    server = start_served()
    engine = RemoteEngine(RemoteConfig(url=server.url, api_key=server.api_key, read_timeout_s=30))
    chunks = []
    with pytest.raises(RemoteError, match="closed the connection before the answer was "
                                          "complete") as failure:
        for item in engine.stream(phantoms[:1], "Describe.", max_new_tokens=1500,
                                  min_new_tokens=1500):
            if isinstance(item, str):
                chunks.append(item)
                if len(chunks) == 2:
                    server.stop(kill=True)
    assert len(chunks) >= 2 and failure.value.partial_text == "".join(chunks)
    with pytest.raises(RemoteError, match="connection refused"):
        engine.ask(phantoms[:1], "", task="localize")
    engine.close()


def test_a_model_the_server_does_not_serve_is_named_in_the_error(served):
    with pytest.raises(RemoteError) as failure:
        RemoteEngine(RemoteConfig(url=served.url, api_key=served.api_key,
                                  model="MBZUAI/MedMO-8B"))
    message = str(failure.value)
    assert "MBZUAI/MedMO-8B" in message and served.model in message


def test_transformers_serve_says_plainly_it_cannot_load_adapters(remote, tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    with pytest.raises(AdaptersUnsupportedError, match="cannot load adapters"):
        remote.load_adapter(adapter)
    assert remote.adapters == {} and remote.active_adapter is None
