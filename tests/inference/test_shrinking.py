"""Batched greedy decoding in which finished answers leave the batch gives, token for token,
what ``model.generate`` gives: on demo-study slices whose answers range from "No abnormality
found." to four findings, so rows leave at many different steps."""

import threading

import pytest
import torch

from inference.engine import Engine
from inference.models import DEMO_MODEL_DIR
from inference.runtime import EngineConfig


@pytest.fixture(scope="module")
def slices(tmp_path_factory):
    from app.session.study_record import sent_frames
    from viewer.demo import write_demo_study
    from viewer.loading import load
    from viewer.windowing import series_window

    folder = write_demo_study(tmp_path_factory.mktemp("demo"), slices=100, size=256)
    series = load([str(folder)]).all_series[0]
    preset = series_window(series, series.volume.array[50])
    _, frames = sent_frames(series, list(range(20, 60, 2)), width=preset.width,
                            level=preset.level)
    return list(frames)


@pytest.fixture(scope="module")
def engines():
    pair = [Engine(EngineConfig(model=str(DEMO_MODEL_DIR), shrink_batches=flag))
            for flag in (True, False)]
    yield pair
    for engine in pair:
        engine.close()


def test_shrinking_batch_answers_exactly_as_generate(engines, slices):
    shrinking, padded = engines
    assert shrinking._shrinks(len(slices), shrinking._gen_kwargs(None))
    assert not padded._shrinks(len(slices), padded._gen_kwargs(None))
    fast = shrinking.localize(slices)
    reference = padded.localize(slices)
    lengths = {len(text) for text in reference.texts}
    assert min(lengths) < 30 and max(lengths) > 60, "answers of one length test nothing"
    assert fast.texts == reference.texts
    assert [(b.frame, b.x0, b.y0, b.x1, b.y1, b.label) for b in fast.boxes] == \
        [(b.frame, b.x0, b.y0, b.x1, b.y1, b.label) for b in reference.boxes]
    assert fast.timings.new_tokens == reference.timings.new_tokens
    assert fast.boxes, "the demo model finds lesions on these slices"


def test_questions_of_different_lengths_batch_as_generate(engines, slices):
    shrinking, padded = engines
    prompts = ["How many findings are there?", "Describe this image.",
               "Is there a mass in the left lung?", "Generate a detailed radiology report."]
    frames = slices[4:8]
    for task in ("vqa", "report"):
        assert shrinking.ask_each(frames, prompts, task=task, max_new_tokens=96).texts == \
            padded.ask_each(frames, prompts, task=task, max_new_tokens=96).texts


def test_cancelled_shrinking_batch_returns_what_was_written(engines, slices):
    shrinking, _ = engines
    cancel = threading.Event()
    cancel.set()  # checked after the first step: every row has one token
    answer = shrinking.localize(slices[:4], cancel=cancel)
    assert answer.cancelled
    assert answer.timings.new_tokens == 4


def test_a_model_with_logit_settings_uses_generate(engines):
    shrinking, _ = engines
    from inference.shrinking import supports

    config = shrinking.model.generation_config
    config.repetition_penalty = 1.2
    try:
        assert not supports(shrinking.model)
    finally:
        config.repetition_penalty = None
    assert supports(shrinking.model)
    assert not supports(torch.nn.Linear(2, 2))
