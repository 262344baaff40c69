"""Installation self-check: environment facts, then the whole pipeline on a tiny checkpoint.

Each check is a :class:`Check` with status PASS, FAIL or INFO (a fact, e.g. "no GPU", that is not
an error on its own). :func:`run_checks` never raises: a failing step becomes a FAIL with the
reason, and later steps that depend on it are reported as FAIL "skipped: ...".
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str  # "PASS" | "FAIL" | "INFO"
    detail: str


def _environment() -> Iterator[Check]:
    import torch

    versions = []
    for name in ("torch", "torchvision", "transformers", "peft", "huggingface_hub"):
        try:
            versions.append(f"{name} {importlib.import_module(name).__version__}")
        except ImportError as exc:
            yield Check(f"import {name}", "FAIL", str(exc))
    yield Check("versions", "INFO", ", ".join(versions))
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        free, total = torch.cuda.mem_get_info(0)
        yield Check("gpu", "PASS", f"{props.name}, CUDA {torch.version.cuda}, "
                    f"{free / 2**30:.1f} of {total / 2**30:.1f} GiB free, bf16 "
                    f"{'yes' if torch.cuda.is_bf16_supported() else 'no'}")
    else:
        yield Check("gpu", "INFO", "no CUDA GPU: the engine runs on CPU in float32 "
                    "(fine for tests; far too slow for MedMO-4B/8B)")
    from inference.runtime import choose_attention, choose_device

    device = choose_device("auto")
    yield Check("attention", "INFO", f"{choose_attention(device)} on {device} "
                f"(flash-attn {'installed' if importlib.util.find_spec('flash_attn') else 'not installed'})")
    yield Check("4-bit", "INFO", "bitsandbytes " + (
        "installed" if importlib.util.find_spec("bitsandbytes") else "not installed "
        "(optional: pip install 'medmo-viewer[quant]')"))
    from huggingface_hub import constants

    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
    yield Check("hf cache", "INFO", f"{constants.HF_HUB_CACHE} (offline mode: {'on' if offline else 'off'})")
    from inference.models import REGISTRY, list_models

    local = [m.name for m in list_models()]
    medmo = [m for m in REGISTRY if m in local]
    yield Check("medmo weights", "INFO", ", ".join(medmo) if medmo else
                "none in the cache (medmo models download MBZUAI/MedMO-4B)")


def _pipeline(workdir: str) -> Iterator[Check]:
    import numpy as np

    from inference.types import Answer

    state: dict = {}

    def step(name: str, fn: Callable[[], str]) -> Check:
        start = time.perf_counter()
        try:
            detail = fn()
        except Exception as exc:  # noqa: BLE001 - reported as FAIL, never swallowed
            return Check(name, "FAIL", f"{exc.__class__.__name__}: {exc}")
        return Check(name, "PASS", f"{detail} ({time.perf_counter() - start:.2f} s)")

    def build() -> str:
        from inference.tiny import make_tiny

        state["dir"] = make_tiny(os.path.join(workdir, "tiny"))
        return f"tiny random Qwen3-VL in {state['dir']}"

    def load() -> str:
        from inference.engine import Engine
        from inference.runtime import EngineConfig

        state["engine"] = Engine(EngineConfig(model=str(state["dir"]), max_new_tokens=16))
        info = state["engine"].info
        return f"{info['device']} {info['dtype']} {info['attention']} via from_pretrained"

    def ask() -> str:
        frame = (np.random.default_rng(0).random((200, 160)) * 255).astype(np.uint8)
        items = list(state["engine"].stream([frame], "What is shown?"))
        answer = items[-1]
        if not isinstance(answer, Answer) or "".join(items[:-1]) != answer.text:
            raise RuntimeError("streamed text differs from the final answer")
        if answer.timings.new_tokens < 1:
            raise RuntimeError("no tokens generated")
        return (f"{answer.timings.new_tokens} tokens streamed, TTFT "
                f"{answer.timings.ttft_s * 1000:.0f} ms")

    def localize() -> str:
        frames = [np.full((96, 128), 60, np.uint8), np.full((64, 64, 3), 200, np.uint8)]
        answer = state["engine"].localize(frames, "", max_new_tokens=8)
        if len(answer.texts) != 2:
            raise RuntimeError(f"expected 2 answers, got {len(answer.texts)}")
        return "2 frames of different sizes in one batched generate"

    def parse() -> str:
        from inference.boxes import norm_to_pixel, parse_boxes

        parsed = parse_boxes("lesion <box>[[250, 500, 750, 1000]]</box>")
        box = norm_to_pixel(parsed.boxes[0], width=200, height=100)
        if (box.x0, box.y0, box.x1, box.y1) != (50, 50, 150, 100):
            raise RuntimeError(f"box mapped wrongly: {box}")
        return "MedMO box -> pixel coordinates"

    for name, fn in (("build tiny checkpoint", build), ("load", load), ("ask with image", ask),
                     ("batched localisation", localize), ("parse boxes", parse)):
        needs = {"load": "dir", "ask with image": "engine", "batched localisation": "engine"}
        if name in needs and needs[name] not in state:
            yield Check(name, "FAIL", "skipped: an earlier step failed")
            continue
        yield step(name, fn)
    if "engine" in state:
        state["engine"].close()


def run_checks() -> Iterator[Check]:
    """Environment checks, then the pipeline on a tiny checkpoint in a temporary folder."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the report is the output, not weight-loading bars
    try:
        yield from _environment()
    except Exception as exc:  # noqa: BLE001 - a broken install is what doctor reports
        yield Check("environment", "FAIL", f"{exc.__class__.__name__}: {exc}")
    with tempfile.TemporaryDirectory(prefix="medmo-doctor-") as workdir:
        yield from _pipeline(workdir)
