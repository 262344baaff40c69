"""``medmo view [PATH...] [--demo]``: open the viewer window (optionally on the demo study)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="*", help="files, folders (recursive) or DICOMDIR files")
    parser.add_argument("--demo", action="store_true",
                        help="open the synthetic CT demo study (generated on first use)")
    parser.add_argument("--plane", choices=("axial", "coronal", "sagittal"),
                        help="plane to show once loaded")
    parser.add_argument("--window", help="window once loaded: a preset name or W,L")
    parser.add_argument("--model", help="MedMO id (in the local cache) or checkpoint folder "
                        "to load at start (in the background)")
    parser.add_argument("--adapter", help="LoRA adapter folder to apply with --model")
    parser.add_argument("--workspace", metavar="DIR",
                        help="workspace for chats, boxes and reports (default "
                             "${MEDMO_WORKSPACE:-~/.local/share/medmo/workspace})")
    parser.add_argument("--startup-probe", action="store_true",
                        help="print (JSON lines) when the first slice shows and when the model "
                             "is ready, with the longest GUI stall between, then quit "
                             "(`medmo bench startup`)")
    parser.add_argument("--screenshot", metavar="PNG",
                        help="save the window to PNG once loading finishes, then quit")
    parser.set_defaults(func=run)


def demo_dir() -> Path:
    """Where the demo study is cached: ``${MEDMO_CACHE:-~/.cache/medmo}/demo-study``."""
    root = os.environ.get("MEDMO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                         "medmo")
    return Path(root) / "demo-study"


def ensure_demo_study() -> Path:
    """Write the demo study into the cache unless it is already there; return its folder.

    A study cached by an older version (one lesion kind, no ``ground_truth_slices.json``) is
    replaced: its files are removed first, so two series never mix in the folder.
    """
    folder = demo_dir()
    if not (folder / "ground_truth_slices.json").is_file():
        from app.training.demo_data import slice_texts
        from viewer.demo import write_demo_study

        if (folder / "ground_truth.json").is_file():  # an older demo study: ours to replace
            for old in folder.glob("IM[0-9][0-9][0-9][0-9][0-9].dcm"):
                old.unlink()
            (folder / "ground_truth.json").unlink()
        print(f"writing the demo study to {folder} ...", file=sys.stderr)
        write_demo_study(folder, slice_texts=slice_texts)
    return folder


def _once(signal, slot) -> None:
    """Connect ``slot`` to ``signal`` for its next emission only."""
    def fire() -> None:
        signal.disconnect(fire)
        slot()

    signal.connect(fire)


def run(args) -> int:
    from app.qt.display_check import platform_problem

    problem = platform_problem()
    if problem:  # before Qt starts: Qt itself would abort with a core dump
        print(f"medmo view: {problem}", file=sys.stderr)
        return 2

    paths = list(args.paths)
    if args.demo:
        # The series files only: ground_truth.json beside them is for tests and benchmarks.
        paths.extend(str(p) for p in sorted(ensure_demo_study().glob("*.dcm")))
    window = None
    if args.window:
        from viewer.windowing import parse_window

        try:
            window = parse_window(args.window)
        except ValueError as exc:
            print(f"medmo view: {exc}", file=sys.stderr)
            return 2

    from PySide6 import QtCore, QtWidgets

    from viewer.qt import import_pyqtgraph

    import_pyqtgraph()
    from app.qt.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    # Automatic garbage collection off; collected on a timer in the GUI thread instead, so the
    # engine and loader threads never tear down Qt objects (which can deadlock or crash Qt).
    from pyqtgraph.util.garbage_collector import GarbageCollector

    collector = GarbageCollector(interval=1.0)  # noqa: F841 - kept alive while the app runs
    app.setApplicationName("MedMO Viewer")
    win = MainWindow(workspace_dir=args.workspace)
    win.show()
    if args.demo and not args.model:
        from inference.models import default_model

        args.model = default_model()  # the phantom demo model, when installed
    # before the model's own handler: the probe looks at sys.modules first
    if args.startup_probe:
        from app.qt.startup_probe import StartupProbe

        probe = StartupProbe(win, wait_for_model=bool(args.model))  # noqa: F841 - kept alive
    if args.model:
        from app.session.engine import LoadRequest

        request = LoadRequest(args.model, args.adapter or "")
        win.panels.model.set_model(args.model)
        if paths:  # the study first: the model loads (engine thread) once its slice is painted
            win.session.engine.announce(request)
            _once(win.first_slice_shown, lambda: win.session.engine.load(request))
        else:
            win.session.engine.load(request)

    def when_loaded(_seconds: float = 0.0) -> None:
        if args.plane and win.state.series is not None and args.plane in win.state.planes:
            win.state.set_plane(args.plane)
        if window is not None and win.state.series is not None:
            win.state.set_window(window.width, window.level, name=window.name)
        if not args.screenshot:
            return
        engine = win.session.engine
        if args.model and engine.model is None:  # the model loads after the study: shoot it ready
            def shoot(*_args: object) -> None:
                engine.loaded.disconnect(shoot)
                engine.load_failed.disconnect(shoot)
                QtCore.QTimer.singleShot(300, save_screenshot)

            engine.loaded.connect(shoot)
            engine.load_failed.connect(shoot)
        else:
            QtCore.QTimer.singleShot(300, save_screenshot)

    def save_screenshot() -> None:
        saved = win.grab().save(args.screenshot)
        series = win.result.all_series if win.result is not None else []
        shown = (f"slice {win.state.slice_index + 1}/{win.state.n_slices} shown"
                 if win.state.series is not None else "no slice shown")
        print(f"screenshot {'saved' if saved else 'NOT saved'}: {args.screenshot} "
              f"({len(series)} series listed; {shown})", flush=True)
        win.close()

    if paths:
        win.open_paths(paths)
    if win.job is not None:  # opening paths started a load: shoot once it is done
        win.job.done.connect(when_loaded)
    elif args.screenshot:
        QtCore.QTimer.singleShot(300, when_loaded)
    code = app.exec()
    if win.last_error and args.screenshot:
        print(f"medmo view: {win.last_error}", file=sys.stderr)
    return int(code)
