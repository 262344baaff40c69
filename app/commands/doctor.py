"""``medmo doctor``: check the installation and run the whole pipeline on a tiny checkpoint.

Prints one line per check (PASS / FAIL / INFO). Exit codes: 0 no check failed; 1 a check failed.
"""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    parser = sub.add_parser("doctor", help="check GPU, CUDA, memory, cache, and run a smoke test")
    parser.add_argument("--json", action="store_true", help="print one JSON list of checks")
    parser.set_defaults(func=run)


def run(args) -> int:
    from inference.doctor import run_checks

    checks = []
    for check in run_checks():
        checks.append(check)
        if not args.json:
            print(f"{check.status:<4}  {check.name:<22} {check.detail}")
            sys.stdout.flush()
    failed = [c for c in checks if c.status == "FAIL"]
    if args.json:
        print(json.dumps([{"name": c.name, "status": c.status, "detail": c.detail}
                          for c in checks]))
    else:
        print("doctor: " + (f"{len(failed)} check(s) FAILED" if failed else "all checks passed"))
    return 1 if failed else 0
