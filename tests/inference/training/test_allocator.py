"""The training runs' memory bound under jemalloc without decay purging: freed memory stays
mapped (why it is fast) until the watcher purges it past the limit, in the process and in the
workers it forks. Run in a child Python that has jemalloc preloaded, as ``make train-demo-model``
runs it (installer/system-deps.sh test installs libjemalloc2)."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
import textwrap

from inference.training.allocator import purge_above, resident_bytes

MB = 2 ** 20

CHILD = textwrap.dedent("""
    import json, os, sys, time
    import numpy as np
    from inference.training.allocator import purge_above, resident_bytes

    def churn():                     # 400 MB touched, then freed
        a = np.ones(400 * 2**20 // 8)
        del a

    def falls_below(limit):
        end = time.monotonic() + 10
        while resident_bytes() > limit and time.monotonic() < end:
            time.sleep(0.05)
        return resident_bytes() <= limit

    base = resident_bytes()
    churn()
    kept = resident_bytes() - base   # no decay purging: still resident
    limit = base + 150 * 2**20
    purger = purge_above(limit, every_s=0.05)
    below = falls_below(limit)
    pid = os.fork()
    if pid == 0:                     # a data-loader-like worker: its own watcher
        churn()
        os._exit(0 if falls_below(limit) else 3)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"active": purger.active, "kept": kept, "below": below,
                      "purges": purger.purges, "child": os.waitstatus_to_exitcode(status)}))
""")


def test_jemalloc_memory_is_kept_then_purged_past_the_limit():
    jemalloc = ctypes.util.find_library("jemalloc")
    assert jemalloc, "libjemalloc2 is missing: sh installer/system-deps.sh test"
    env = {**os.environ, "LD_PRELOAD": jemalloc,
           "MALLOC_CONF": "dirty_decay_ms:-1,muzzy_decay_ms:-1"}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["active"]
    assert got["kept"] > 300 * MB  # what makes the steps fast: nothing faulted in again
    assert got["below"] and got["purges"] >= 1  # and what keeps the machine alive
    assert got["child"] == 0


def test_without_jemalloc_it_does_nothing():
    purger = purge_above(1, every_s=0.01)  # pytest runs on glibc's allocator
    try:
        assert not purger.active and purger.purges == 0
        assert resident_bytes() > 0
    finally:
        purger.stop()
