"""A fuzzing campaign: mutants of real pydicom files loaded in child processes, classified.

Mutant ``i`` of seed ``s`` is made from source file ``i mod len(sources)`` by 1 to
``max_mutations`` mutators drawn from ``numpy.random.default_rng([s, i])``, so every finding is
reproducible from ``(seed, id)`` alone (:func:`make_mutant`). Each mutant is loaded beside the
unmodified CT_small.dcm by a :class:`~viewer.fuzz.pool.WorkerPool` under a time and an
address-space limit. The same-run timing reference is the unmutated sources loaded the same way,
like for like: by the same workers, each of which has loaded every source once before it says
it is ready (so neither side pays the codecs' first imports), in ``rounds`` rounds interleaved
with the mutants (round r: its share of the mutants with one load of each source spread among
them). :func:`run_campaign` returns one JSON-able dict; its ``rounds`` hold each round's median
seconds per mutant and per reference load.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viewer.fuzz.mutators import MUTATORS, flip_bits
from viewer.fuzz.pool import WorkerPool

DEFAULT_SOURCES = (
    "CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_bigendian.dcm",
    "MR_small_jpeg_ls_lossless.dcm", "693_J2KI.dcm", "JPGExtended.dcm",
    "SC_rgb_rle_2frame.dcm", "rtdose.dcm", "examples_palette.dcm",
)
COMPANION = "CT_small.dcm"
OUTCOMES = ("opened", "flagged", "skipped", "crash", "hang", "memory", "good_lost",
            "unflagged_bad", "vanished")
DEFECTS = ("crash", "hang", "memory", "good_lost", "unflagged_bad", "vanished")


@dataclass(frozen=True, slots=True)
class FuzzConfig:
    """One campaign's settings (``medmo bench fuzz`` options)."""

    mutants: int = 300
    seed: int = 0
    workers: int = 2
    timeout_s: float = 20.0  # per mutant: longer is a hang
    memory_mb: int = 1024  # address space per worker beyond its start-up (RLIMIT_AS)
    series_mb: int = 256  # the loader's cap per series inside the workers
    max_mutations: int = 3
    sources: tuple[str, ...] = DEFAULT_SOURCES
    mutators: tuple[str, ...] = tuple(MUTATORS)
    rounds: int = 3  # the unmutated sources are loaded once per round, among the mutants
    keep_dir: str = ""  # where defect mutants are saved ("" : nowhere)
    nice: int = 0  # niceness of the workers

    def __post_init__(self) -> None:
        if self.mutants < 0:
            raise ValueError(f"mutants must be >= 0, got {self.mutants}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.timeout_s <= 0 or self.memory_mb <= 0 or self.series_mb <= 0:
            raise ValueError("timeout_s, memory_mb and series_mb must be positive")
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        if self.max_mutations < 1:
            raise ValueError(f"max_mutations must be >= 1, got {self.max_mutations}")
        if not self.sources:
            raise ValueError("sources must name at least one pydicom test file")
        unknown = sorted(set(self.mutators) - set(MUTATORS))
        if unknown or not self.mutators:
            raise ValueError(f"unknown mutators {unknown}; known: {', '.join(MUTATORS)}")


def source_path(name: str) -> str:
    """A pydicom test file on disk (never a download)."""
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    if path is None:
        raise ValueError(f"{name} is not one of pydicom's test files on disk")
    return str(path)


def make_mutant(config: FuzzConfig, index: int,
                sources: dict[str, bytes]) -> tuple[str, bytes, list[str]]:
    """``(source name, mutant bytes, what was done)`` of mutant ``index``: deterministic."""
    rng = np.random.default_rng([config.seed, index])  # 1, 2, 3... mutations: mostly one
    name = config.sources[index % len(config.sources)]
    data = sources[name]
    done = []
    weights = np.array([0.6, 0.25, 0.15, *[0.1] * config.max_mutations][: config.max_mutations])
    for _ in range(1 + int(rng.choice(len(weights), p=weights / weights.sum()))):
        mutator = config.mutators[int(rng.integers(0, len(config.mutators)))]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pydicom warns about the values we write
                data, what = MUTATORS[mutator](data, rng)
        except Exception as exc:  # noqa: BLE001 - a mutator that cannot apply: flip instead
            data, what = flip_bits(data, rng)
            what = f"({mutator} not applicable: {type(exc).__name__}) {what}"
        done.append(f"{mutator}: {what}")
    return name, data, done


def _reason_kind(reason: str) -> str:
    """A skip reason without its numbers and details, for counting.

    >>> _reason_kind("truncated pixel data (3682 of 32768 bytes)")
    'truncated pixel data'
    """
    head = re.split(r"[(:]", reason, maxsplit=1)[0]
    return re.sub(r"\d+", "N", head).strip()


def run_campaign(config: FuzzConfig, *,
                 progress: Callable[[int, int], None] | None = None) -> dict:
    """Run the campaign; ``progress(done, total)`` is called as mutants finish."""
    sources = {name: Path(source_path(name)).read_bytes() for name in config.sources}
    work = tempfile.mkdtemp(prefix="medmo-fuzz-")
    companion = os.path.join(work, "good", COMPANION)
    os.makedirs(os.path.dirname(companion))
    shutil.copyfile(source_path(COMPANION), companion)
    made: dict[int, tuple[str, list[str], str]] = {}
    round_of: dict[int, int] = {}

    def reference(number: int, k: int) -> dict:
        name = config.sources[k]
        task_id = -1 - (number * len(config.sources) + k)
        path = os.path.join(work, f"reference-{-task_id}-{name}")
        shutil.copyfile(source_path(name), path)
        made[task_id], round_of[task_id] = (name, ["unmutated"], path), number
        return {"id": task_id, "path": path}

    def tasks() -> Iterator[dict]:
        for number, share in enumerate(_shares(config.mutants, config.rounds)):
            every = max(1, len(share) // len(config.sources))  # reference loads spread out
            due = 0
            for position, index in enumerate(share):
                if position % every == 0 and due < len(config.sources):
                    yield reference(number, due)
                    due += 1
                name, data, done = make_mutant(config, index, sources)
                path = os.path.join(work, f"mutant-{index}.dcm")
                with open(path, "wb") as fh:
                    fh.write(data)
                made[index], round_of[index] = (name, done, path), number
                yield {"id": index, "path": path}
            for k in range(due, len(config.sources)):
                yield reference(number, k)

    pool = WorkerPool(workers=config.workers, timeout_s=config.timeout_s, nice=config.nice,
                      worker_args=["--companion", companion, "--memory-mb",
                                   str(config.memory_mb), "--series-mb", str(config.series_mb),
                                   "--warm", *(source_path(n) for n in config.sources)])
    started = time.perf_counter()
    results: dict[int, dict] = {}
    try:
        for result in pool.run(tasks()):
            results[result["id"]] = result
            name, done, path = made[result["id"]]
            if result["outcome"] in DEFECTS and config.keep_dir and result["id"] >= 0:
                os.makedirs(config.keep_dir, exist_ok=True)
                shutil.copyfile(path, os.path.join(config.keep_dir, os.path.basename(path)))
            os.unlink(path)
            if progress is not None and result["id"] >= 0:
                progress(sum(1 for k in results if k >= 0), config.mutants)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = _summary(config, made, results, time.perf_counter() - started, pool.restarts)
    summary["rounds"] = _round_medians(results, round_of, config.rounds)
    return summary


def _shares(mutants: int, rounds: int) -> list[range]:
    """The mutant indices of each round: ``rounds`` contiguous shares, as equal as can be.

    >>> [list(r) for r in _shares(5, 3)]
    [[0], [1, 2], [3, 4]]
    """
    return [range(mutants * r // rounds, mutants * (r + 1) // rounds) for r in range(rounds)]


def _round_medians(results: dict, round_of: dict[int, int], rounds: int) -> dict:
    """Each round's median seconds per mutant (``mutant_s``) and per reference load
    (``reference_s``), over the loads that finished; rounds with none of either are left out
    (``rounds_left_out``)."""
    mutant: list[float] = []
    reference: list[float] = []
    left_out = []
    for number in range(rounds):
        times = ([], [])  # type: tuple[list[float], list[float]]
        for k, result in results.items():
            if round_of.get(k) == number and result["seconds"] is not None:
                times[k < 0].append(result["seconds"])
        if times[0] and times[1]:
            mutant.append(statistics.median(times[0]))
            reference.append(statistics.median(times[1]))
        else:
            left_out.append(number + 1)
    return {"mutant_s": mutant, "reference_s": reference, "rounds_left_out": left_out}


def _summary(config: FuzzConfig, made: dict, results: dict, seconds: float,
             restarts: int) -> dict:
    mutants = {k: r for k, r in results.items() if k >= 0}
    reference = {k: r for k, r in results.items() if k < 0}
    outcomes = Counter(r["outcome"] for r in mutants.values())
    by_source: dict[str, Counter] = defaultdict(Counter)
    by_mutator: dict[str, Counter] = defaultdict(Counter)
    for k, result in mutants.items():
        name, done, _ = made[k]
        by_source[name][result["outcome"]] += 1
        for mutator in {d.split(":", 1)[0] for d in done}:
            by_mutator[mutator][result["outcome"]] += 1
    mutant_times = [r["seconds"] for r in mutants.values() if r["seconds"] is not None]
    reference_times = [r["seconds"] for r in reference.values() if r["seconds"] is not None]
    per_mutant = statistics.median(mutant_times) if mutant_times else None
    timed = [k for k in mutants if mutants[k]["seconds"] is not None]
    slowest = max(timed, key=lambda k: mutants[k]["seconds"], default=None)
    per_reference = statistics.median(reference_times) if reference_times else None
    findings = [{"id": k, "source": made[k][0], "mutations": made[k][1], **results[k]}
                for k in sorted(mutants) if results[k]["outcome"] in DEFECTS]
    skips = Counter(_reason_kind(r["detail"]) for r in mutants.values()
                    if r["outcome"] == "skipped")
    return {
        "mutants": len(mutants),
        "seed": config.seed,
        "workers": config.workers,
        "seconds": round(seconds, 2),
        "mutants_per_second": round(len(mutants) / seconds, 2) if seconds else None,
        "outcomes": {o: outcomes.get(o, 0) for o in OUTCOMES},
        "defects": sum(outcomes.get(o, 0) for o in DEFECTS),
        "reference": {
            "loads": len(reference),
            "outcomes": dict(Counter(r["outcome"] for r in reference.values())),
            "median_seconds_per_load": per_reference,
        },
        "median_seconds_per_mutant": per_mutant,
        "slowest_mutant": None if slowest is None else {
            "id": slowest, "seconds": mutants[slowest]["seconds"], "source": made[slowest][0],
            "mutations": made[slowest][1], "outcome": mutants[slowest]["outcome"]},
        "by_source": {k: dict(v) for k, v in sorted(by_source.items())},
        "by_mutator": {k: dict(v) for k, v in sorted(by_mutator.items())},
        "skip_reasons": dict(skips.most_common(15)),
        "worker_restarts": restarts,
        "limits": {"timeout_s": config.timeout_s, "memory_mb": config.memory_mb,
                   "series_mb": config.series_mb},
        "findings": findings[:25],
    }
