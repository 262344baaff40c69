"""``medmo doctor``: check the installation and run the whole pipeline on a tiny checkpoint.
``medmo doctor --server URL``: check the installation and the site's MedMO server instead (no
model is loaded here).

Prints one line per check (PASS / FAIL / INFO). Exit codes: 0 no check failed; 1 a check failed.
"""

from __future__ import annotations

import json
import sys

from app.engine_options import add_server_arguments


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON list of checks")
    parser.add_argument("--model", default="", help="with --server: the model's name there")
    add_server_arguments(parser)
    parser.set_defaults(func=run)


def install_checks():
    """The installation itself: can Qt open a window here, and is the Python environment the
    locked one (no drifted or missing package, every requirement satisfied)."""
    from app.environment import (
        MAIN_STACK,
        drift,
        find_lock,
        installed_versions,
        pip_check,
        read_lock,
    )
    from app.qt.display_check import headless, platform_problem
    from inference.doctor import Check

    problem = platform_problem()
    yield Check("display", ("INFO" if headless() else "FAIL") if problem else "PASS",
                problem or "Qt can open a window here (or an offscreen platform is set)")
    installed = installed_versions()
    lock = find_lock()
    if lock is None:
        yield Check("packages", "INFO", "no requirements.lock beside this installation: "
                    "versions not compared")
    else:
        drifted = drift(read_lock(lock.read_text()), installed)
        stack = ", ".join(f"{n} {installed.get(n, 'missing')}" for n in MAIN_STACK)
        yield Check("packages", "FAIL" if drifted else "PASS",
                    (f"{len(drifted)} differ from {lock.name}: "
                     + "; ".join(map(str, drifted[:8])) + ". Fix: make test (reinstalls "
                     "from the lock)") if drifted else f"as locked: {stack}")
    ok, text = pip_check()
    yield Check("pip check", "PASS" if ok else "FAIL",
                "every requirement satisfied" if ok else text.replace("\n", "; ")[:400])


def run(args) -> int:
    import itertools

    from inference.doctor import run_checks

    if args.server:
        from app.engine_options import server_config
        from inference.remote_checks import server_checks

        try:
            config = server_config(args, model=args.model)
        except ValueError as exc:
            print(f"medmo doctor: {exc}", file=sys.stderr)
            return 2
        later = server_checks(config)
    else:
        later = run_checks()
    checks = []
    for check in itertools.chain(install_checks(), later):
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
