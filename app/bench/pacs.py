"""``medmo bench pacs``: retrieving a CT by C-GET from a local Orthanc, our client against
dcmtk's ``getscu`` in the same run.

A 300-slice 512 x 512 CT (the demo phantom writer) is uploaded to a throwaway Orthanc on
loopback; then, in ``--rounds`` interleaved rounds (:mod:`app.bench.rounds`: ours, getscu,
getscu, ours, ...), our client retrieves the study into an empty study cache
(``retrieve_study``: series query, C-GET with our contexts, each instance written to the cache
and indexed) and ``getscu`` retrieves it into an empty folder. ``getscu`` runs with
``TCP_NODELAY=1``, its fastest setting here (with dcmtk's default, Nagle's algorithm, it waits
for delayed ACKs and takes over 10 s). Printed: ``ours_vs_getscu`` (each round's seconds of
both, medians, spreads and ``ratio`` = median ours / median getscu; ``pacs_get_s``,
``getscu_s`` and ``ratio`` repeat them), ``cpu_ours_vs_getscu`` the same for CPU seconds (less
at the mercy of other processes than wall time on a shared machine), the best of each, and
``first_slice_s``: when the first instance had arrived and been decoded to pixels by the
viewer's reader, which is when a slice can be drawn, beside when the whole retrieve ended.
``server`` names the Orthanc version the server itself reports (REST ``/system``). With
``--baseline TREE`` another checkout's retrieve (:mod:`app.bench.baseline`) is a third side of
every round: ``baseline_vs_getscu`` and ``ours_vs_baseline`` compare it, before and after a
change in the same run.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.bench.report import emit
from app.bench.rounds import compare, interleave


def register(targets) -> None:
    parser = targets.add_parser("pacs", help="C-GET of a 300-slice CT from a local Orthanc: "
                                "our client vs dcmtk's getscu")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rounds", "--repeats", dest="rounds", type=int, default=5,
                        help="interleaved rounds of ours and getscu")
    parser.add_argument("--server-nodelay", action="store_true",
                        help="start Orthanc with TCP_NODELAY=1 (by default it runs as Debian "
                             "ships it, with Nagle's algorithm)")
    parser.add_argument("--baseline", metavar="TREE", default="",
                        help="also time this checkout's retrieve (e.g. a `git worktree` of an "
                             "older commit) in the same rounds")
    parser.set_defaults(func=_run)


def _run(args) -> int:
    return emit(bench_pacs(slices=args.slices, size=args.size, rounds=args.rounds,
                           server_nodelay=args.server_nodelay, baseline=args.baseline),
                args.json)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _ours(node, study_uid: str, cache_dir: Path) -> tuple[float, float, int, float]:
    """(seconds, first slice seconds, instances, CPU seconds) of one retrieve into an empty
    cache."""
    import numpy as np

    from viewer.pacs import PacsClient, StudyCache, retrieve_study
    from viewer.pacs.events import Progress, RetrieveResult
    from viewer.readers.dicom import read_header
    from viewer.readers.pixels import decode_frame

    shutil.rmtree(cache_dir, ignore_errors=True)
    cache = StudyCache(cache_dir, min_free_bytes=0)
    client = PacsClient(node)
    cpu = _cpu(resource.RUSAGE_SELF)
    started = time.perf_counter()
    first = None
    result = None
    for event in retrieve_study(client, study_uid, cache):
        if first is None and isinstance(event, Progress) and event.done:
            (path,) = cache.paths(study_uid)[:1]
            header = read_header(str(path))  # what the viewer does to draw the first slice
            decode_frame(header, 0, np.empty((header.rows, header.columns), np.float32))
            first = time.perf_counter() - started
        elif isinstance(event, RetrieveResult):
            result = event
    seconds = time.perf_counter() - started
    cpu = _cpu(resource.RUSAGE_SELF) - cpu
    if result is None or result.error or not result.complete:
        raise RuntimeError(f"our retrieve failed: {result}")
    return seconds, first or seconds, result.instances, cpu


def _getscu(orthanc, study_uid: str, out: Path, our_ae: str) -> tuple[float, int, float]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    command = ["getscu", "-aet", our_ae, "-aec", orthanc.aet, "127.0.0.1",
               str(orthanc.dicom_port), "-S", "-k", "QueryRetrieveLevel=STUDY",
               "-k", f"StudyInstanceUID={study_uid}", "-od", str(out)]
    cpu = _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "TCP_NODELAY": "1"}, timeout=600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"getscu failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds, sum(1 for _ in out.iterdir()), _cpu(resource.RUSAGE_CHILDREN) - cpu


def bench_pacs(*, slices: int = 300, size: int = 512, rounds: int = 5,
               server_nodelay: bool = False, baseline: str = "", stream=None) -> dict:
    from app.pacs.orthanc import Orthanc
    from viewer.demo import write_demo_study
    from viewer.pacs import parse_node

    if shutil.which("getscu") is None:
        raise SystemExit("medmo bench pacs: getscu (dcmtk) is missing: run "
                         "`sh installer/system-deps.sh test`")
    stream = stream or sys.stderr  # looked up now: a test may have replaced it
    our_ae = "MEDMO"
    firsts: list[float] = []
    cpu: dict[str, list[float]] = {"pacs_get_cpu_s": [], "getscu_cpu_s": [],
                                   "baseline_cpu_s": []}
    with tempfile.TemporaryDirectory(prefix="medmo-bench-pacs-") as scratch:
        root = Path(scratch)
        print(f"writing a {slices} x {size}^2 CT ...", file=stream)
        ct = write_demo_study(root / "ct", slices=slices, size=size, seed=11)
        files = sorted(ct.glob("*.dcm"))
        megabytes = sum(p.stat().st_size for p in files) / 2**20
        env = {"TCP_NODELAY": "1"} if server_nodelay else {}
        with Orthanc(root / "orthanc", modalities={"medmo": (our_ae, 1)}, env=env) as orthanc:
            version = orthanc.version()
            print(f"uploading it to a local Orthanc {version} ...", file=stream)
            orthanc.upload(files)
            import pydicom

            study_uid = str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
            node = parse_node(orthanc.dicom_url, our_ae_title=our_ae)

            def ours() -> float:
                seconds, first, count, used = _ours(node, study_uid, root / "cache")
                _check("ours", count, len(files))
                firsts.append(first)
                cpu["pacs_get_cpu_s"].append(used)
                return seconds

            def theirs() -> float:
                seconds, count, used = _getscu(orthanc, study_uid, root / "getscu", our_ae)
                _check("getscu", count, len(files))
                cpu["getscu_cpu_s"].append(used)
                return seconds

            sides = {"pacs_get_s": ours, "getscu_s": theirs}
            other = None
            if baseline:
                from app.bench.baseline import Baseline

                other = Baseline(baseline, dicom_url=orthanc.dicom_url, our_ae=our_ae,
                                 study_uid=study_uid, cache_dir=root / "baseline-cache")

                def before() -> float:
                    seconds, count, used = other.retrieve()
                    _check("baseline", count, len(files))
                    cpu["baseline_cpu_s"].append(used)
                    return seconds

                sides["baseline_s"] = before
            try:
                runs = interleave(sides, rounds, stream=stream, digits=3)
            finally:
                if other is not None:
                    other.close()
    wall = compare(runs, "pacs_get_s", "getscu_s", digits=3, ratio_digits=2)
    extra = {} if not baseline else {
        "baseline": str(Path(baseline).resolve()),
        "baseline_vs_getscu": compare(runs, "baseline_s", "getscu_s", digits=3,
                                      ratio_digits=2),
        "ours_vs_baseline": compare(runs, "pacs_get_s", "baseline_s", digits=3,
                                    ratio_digits=2),
        "cpu_baseline_vs_getscu": compare(cpu, "baseline_cpu_s", "getscu_cpu_s", digits=3,
                                          ratio_digits=2)}
    return {
        "instances": len(files), "megabytes": round(megabytes, 1), "rounds": rounds,
        "pacs_get_s": wall["pacs_get_s"]["median"], "getscu_s": wall["getscu_s"]["median"],
        "ratio": wall["ratio"],
        "ours_vs_getscu": wall,
        "cpu_ours_vs_getscu": compare(cpu, "pacs_get_cpu_s", "getscu_cpu_s", digits=3,
                                      ratio_digits=2),
        "pacs_get_best_s": round(min(runs["pacs_get_s"]), 3),
        "getscu_best_s": round(min(runs["getscu_s"]), 3),
        "first_slice_s": round(min(firsts), 3),
        "first_slice_before_end": max(firsts) < min(runs["pacs_get_s"]),
        "server": f"Orthanc {version}, " + ("TCP_NODELAY=1" if server_nodelay
                                            else "as installed (Nagle's algorithm on)"),
        "getscu": "dcmtk getscu, TCP_NODELAY=1",
        **extra,
    }


def _check(who: str, count: int, expected: int) -> None:
    if count != expected:
        raise RuntimeError(f"{who} retrieved {count} of {expected} instances")
