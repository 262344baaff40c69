"""Our own fuzzing, kept (issue 13): a short campaign over mutated real pydicom files runs in the
suite, and the harness is shown to tell crashes, hangs and memory blow-ups apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.viewer.bad_files import PROJECT, pydicom_file
from viewer.fuzz import FuzzConfig, run_campaign
from viewer.fuzz.campaign import DEFAULT_SOURCES, make_mutant
from viewer.fuzz.mutators import MUTATORS
from viewer.fuzz.pool import WorkerPool


@pytest.mark.timeout(240)
def test_a_short_campaign_finds_no_crash_hang_memory_blow_up_or_lost_file():
    report = run_campaign(FuzzConfig(mutants=300, seed=13, workers=2))
    outcomes = report["outcomes"]
    assert sum(outcomes.values()) == report["mutants"] == 300
    assert report["defects"] == 0, report["findings"]
    assert outcomes["opened"] + outcomes["flagged"] > 0 and outcomes["skipped"] > 0
    # every unmutated source opened in the same workers: the reference is sound
    assert report["reference"]["outcomes"] == {"opened": 3 * len(DEFAULT_SOURCES)}
    assert set(report["by_mutator"]) == set(MUTATORS)
    assert set(report["by_source"]) == set(DEFAULT_SOURCES)


def test_mutants_are_reproducible_from_seed_and_number():
    config = FuzzConfig(seed=7)
    sources = {name: Path(pydicom_file(name)).read_bytes() for name in config.sources}
    first = [make_mutant(config, k, sources) for k in range(40)]
    assert first == [make_mutant(config, k, sources) for k in range(40)]
    changed = [data != sources[name] for name, data, _ in first]
    assert sum(changed) >= 36  # a few may rewrite a value to what it was
    assert first != [make_mutant(FuzzConfig(seed=8), k, sources) for k in range(40)]


def test_the_harness_tells_crashes_hangs_and_memory_blow_ups_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(PROJECT))
    tasks = []
    for k, what in enumerate(["ok", "abort", "ok", "hang", "memory", "ok"]):
        path = tmp_path / f"{k}.txt"
        path.write_text(what)
        tasks.append({"id": k, "path": str(path)})
    pool = WorkerPool(workers=2, timeout_s=5, worker_args=[
        "--companion", pydicom_file("CT_small.dcm"), "--memory-mb", "512",
        "--loader", "tests.viewer.fuzz_loaders:misbehave"])
    results = {r["id"]: r for r in pool.run(tasks)}
    assert {k: r["outcome"] for k, r in results.items()} == {
        0: "skipped", 1: "crash", 2: "skipped", 3: "hang", 4: "memory", 5: "skipped"}
    assert "SIGABRT" in results[1]["detail"]
    assert "MemoryError" in results[4]["detail"]
    assert pool.restarts == 3  # one fresh worker per death or hang, and the rest went on


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError, match="unknown mutators"):
        FuzzConfig(mutators=("flip", "teleport"))
    with pytest.raises(ValueError, match="workers"):
        FuzzConfig(workers=0)


_SPEC = st.tuples(st.sampled_from(DEFAULT_SOURCES),
                  st.lists(st.sampled_from(sorted(MUTATORS)), min_size=1, max_size=3),
                  st.integers(0, 2**32 - 1))


@pytest.mark.timeout(280)
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(specs=st.lists(_SPEC, min_size=1, max_size=12))
def test_hypothesis_drawn_mutants_are_opened_right_flagged_or_skipped(specs, tmp_path_factory):
    """Hypothesis draws which real file, which mutators and their randomness; every mutant loads
    in a limited child process beside a good file, and none crashes, hangs, blows memory up,
    costs the good file or opens wrong without a flag (hypothesis shrinks a failure to the
    smallest list of mutants that shows it)."""
    import warnings

    import numpy as np

    from viewer.fuzz.campaign import COMPANION, DEFECTS, source_path

    work = tmp_path_factory.mktemp("hypothesis-fuzz")
    (work / "good").mkdir()
    companion = work / "good" / COMPANION
    companion.write_bytes(Path(source_path(COMPANION)).read_bytes())
    tasks = []
    for k, (name, mutators, seed) in enumerate(specs):
        data = Path(source_path(name)).read_bytes()
        rng = np.random.default_rng(seed)
        for mutator in mutators:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pydicom warns about the values written
                try:
                    data, _ = MUTATORS[mutator](data, rng)
                except Exception:  # noqa: BLE001 - this mutator cannot apply to this file
                    continue
        path = work / f"mutant-{k}.dcm"
        path.write_bytes(data)
        tasks.append({"id": k, "path": str(path)})
    pool = WorkerPool(workers=2, timeout_s=20, worker_args=[
        "--companion", str(companion), "--memory-mb", "1024", "--series-mb", "256"])
    results = list(pool.run(tasks))
    assert len(results) == len(tasks)
    defects = [(specs[r["id"]], r["outcome"], r.get("detail")) for r in results
               if r["outcome"] in DEFECTS]
    assert defects == []
