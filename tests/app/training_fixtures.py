"""Fixtures for the training tab tests: a tiny random Qwen3-VL checkpoint and a small phantom
dataset, both real files built on the spot (import these names into a test module)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tab_tiny_model(tmp_path_factory):
    from inference.tiny import make_tiny

    return make_tiny(tmp_path_factory.mktemp("tab-tiny-qwen3vl"))


@pytest.fixture(scope="session")
def tab_phantom_dataset(tmp_path_factory):
    from app.training_data import build_phantom_benchmark

    out = tmp_path_factory.mktemp("tab-phantom") / "ds"
    build_phantom_benchmark(out, train=16, heldout=6, size=64)
    return out


def wait_or_fail(qtbot, tab, condition, *, timeout: int) -> None:
    """Wait until ``condition()`` holds, watching the tab's child processes (training and
    evaluation) meanwhile: when one ends badly, fail at once with its exit code, message and
    stderr, instead of waiting out ``timeout`` ms for something that can no longer come. For a
    child the test makes fail or kills on purpose, wait for ``run_finished`` instead.
    """
    failures: list[str] = []
    children = {"medmo train": tab.process, "medmo eval": tab.evaluation.evaluator.child}
    hooks = []
    for name, child in children.items():
        def ended(code: int, message: str, name=name, child=child) -> None:
            if code != 0 or message:
                failures.append(f"{name} ended (exit code {code}): {message}\n"
                                f"--- its stderr ---\n{child.stderr_tail()}")

        child.finished.connect(ended)
        hooks.append((child, ended))
    try:
        qtbot.waitUntil(lambda: bool(condition()) or bool(failures), timeout=timeout)
    finally:
        for child, ended in hooks:
            child.finished.disconnect(ended)
    if failures:
        pytest.fail(failures[0], pytrace=False)
