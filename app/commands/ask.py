"""``medmo ask PATH --prompt TEXT``: ask MedMO about slices of a study, headless.

Reads the study with ``viewer.loading.load``, windows each chosen slice with
``viewer.windowing.apply_window`` (the series' own preset, else CT mediastinum, else an automatic
window: exactly what the viewer shows), and streams the answer to stdout. With ``--json`` it
prints one JSON object instead::

    {"text", "boxes": [{"label", "slice", "sop_instance_uid", "x0", "y0", "x1", "y1"}],
     "model", "adapter", "server", "timings": {"ttft_s", "new_tokens", "tokens_per_s"}}

With ``--server URL`` the question goes to a MedMO server (vLLM or transformers serve, see
resources/serving/) instead of a model loaded here; ``--model`` then names the model on the
server (default: its only one) and ``--adapter`` is loaded there. The token comes from
``--api-key`` or, better (command lines are visible to other users), ``MEDMO_API_KEY``.

Box coordinates are pixels of that slice (column x, row y); ``slice`` is the index in the
geometrically sorted series.

Exit codes: 0 answered; 1 the model failed (not found, out of memory, generation error);
2 bad arguments (no model given, series or slice out of range); 3 nothing readable at PATH;
130 interrupted.
"""

from __future__ import annotations

import json
import sys

from app.commands import ask_sweep
from app.engine_options import add_server_arguments, engine_from_args, server_config
from viewer.windowing import series_window, windowed_slices

TASK_CHOICES = ("vqa", "report", "localize", "ground", "classify")
NO_MODEL = (
    "medmo ask: no model given, and no default model is installed yet.\n"
    "  Get one:   medmo models download MBZUAI/MedMO-4B   (then --model MBZUAI/MedMO-4B)\n"
    "  Or use a local folder:  --model /path/to/checkpoint\n"
    "  Smoke test only (random weights, meaningless answers):\n"
    "             medmo models make-tiny /tmp/tiny && medmo ask PATH --model /tmp/tiny ..."
)


def add_arguments(parser) -> None:
    parser.add_argument("path", help="study file or folder (DICOM, NIfTI, images)")
    parser.add_argument("--series", type=int, default=0,
                        help="series index (0-based, in load order; default 0)")
    parser.add_argument("--slice", type=int, action="append", dest="slices", metavar="K",
                        help="slice index in the sorted series (repeatable; default: middle)")
    parser.add_argument("--prompt", help="question, finding or instruction (required, except "
                        "for a whole-series localisation)")
    parser.add_argument("--task", choices=TASK_CHOICES,
                        help="default: vqa; localize for a whole-series localisation")
    parser.add_argument("--model", help="hub id (in the local cache) or checkpoint folder; "
                        "with --server: the model's name there (default: the server's only one)")
    parser.add_argument("--adapter", help="LoRA adapter folder to apply")
    add_server_arguments(parser)
    parser.add_argument("--window", help='window override: preset name or "W,L"')
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--4bit", dest="four_bit", action="store_true",
                        help="load in 4-bit (CUDA + bitsandbytes)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--workspace", metavar="DIR",
                        help="also record the answer, its boxes, the sent images and the audit "
                             "record in this workspace, as the viewer does")
    ask_sweep.add_arguments(parser)
    parser.set_defaults(func=run)


def _fail(message: str, code: int) -> int:
    print(f"medmo ask: {message}", file=sys.stderr)
    return code


def answer_json(answer, slices: list[int], series) -> dict:
    """The --json object: boxes carry the slice index and its SOP Instance UID."""
    boxes = []
    for box in answer.boxes:
        k = slices[box.frame]
        boxes.append({"label": box.label, "slice": k,
                      "sop_instance_uid": series.frames[k].sop_instance_uid,
                      "x0": round(box.x0, 2), "y0": round(box.y0, 2),
                      "x1": round(box.x1, 2), "y1": round(box.y1, 2)})
    t = answer.timings
    return {"text": answer.text, "boxes": boxes, "model": answer.model, "adapter": answer.adapter,
            "server": answer.server, "timings": {"ttft_s": round(t.ttft_s, 4), "new_tokens": t.new_tokens,
                        "tokens_per_s": round(t.tokens_per_s, 2)}}


DEMO_NOTE = ("medmo ask: no --model given: using the bundled demo model (trained on synthetic "
             "phantoms only, NOT for clinical use)")


def run(args) -> int:
    sweep = ask_sweep.wanted(args)
    args.task = args.task or ("localize" if sweep else "vqa")
    if args.prompt is None and not sweep:
        return _fail("--prompt is required (except with --all-slices, --range or --every)", 2)
    if args.server and args.four_bit:
        return _fail("--4bit applies to a model loaded here, not to --server", 2)
    if args.server:
        try:
            server_config(args)
        except ValueError as exc:
            return _fail(str(exc), 2)
    if not args.model and not args.server:
        from inference.models import default_model

        args.model = default_model()
        if not args.model:
            print(NO_MODEL, file=sys.stderr)
            return 2
        print(DEMO_NOTE, file=sys.stderr)
    if args.max_new_tokens < 1:
        return _fail("--max-new-tokens must be >= 1", 2)
    from viewer.loading import load

    try:
        result = load([args.path])
    except FileNotFoundError as exc:
        return _fail(f"cannot read {args.path}: {exc}", 3)
    for skipped in result.skipped:
        print(f"medmo ask: skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    all_series = result.all_series
    if not all_series:
        return _fail(f"nothing readable at {args.path}", 3)
    if not 0 <= args.series < len(all_series):
        return _fail(f"--series {args.series} out of range: {len(all_series)} series "
                     f"(0..{len(all_series) - 1})", 2)
    series = all_series[args.series]
    study = next(s for s in result.studies if any(x is series for x in s.series))
    if sweep:
        return ask_sweep.run_sweep(args, series, study)
    n = series.volume.n_frames
    slices = args.slices if args.slices else [n // 2]
    bad = [k for k in slices if not 0 <= k < n]
    if bad:
        return _fail(f"--slice {bad} out of range: the series has {n} slices (0..{n - 1})", 2)
    try:
        frames = windowed_slices(series, slices, args.window)
    except ValueError as exc:
        return _fail(str(exc), 2)
    return _ask(args, series, slices, frames, study=study)


def _ask(args, series, slices, frames, *, study=None) -> int:
    from inference.types import Answer, EngineError

    try:
        engine = engine_from_args(args)
        if args.adapter:
            engine.load_adapter(args.adapter)
        answer = None
        for item in engine.stream(frames, args.prompt, task=args.task):
            if isinstance(item, Answer):
                answer = item
            elif not args.json:
                sys.stdout.write(item)
                sys.stdout.flush()
    except (EngineError, ValueError) as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    if answer is None:  # every engine's stream ends with its Answer
        return _fail("the engine stopped without an answer", 1)
    if args.workspace:
        code = _record(args, study, series, slices, frames, answer, engine)
        if code:
            return code
    if args.json:
        print(json.dumps(answer_json(answer, slices, series)))
    else:
        sys.stdout.write("\n")
        if answer.boxes:
            for box in answer.boxes:
                k = slices[box.frame]
                print(f"box slice {k}: {box.label or '(no label)'} x {box.x0:.0f}-{box.x1:.0f}, "
                      f"y {box.y0:.0f}-{box.y1:.0f} px")
        if answer.dropped_boxes:
            print(f"({answer.dropped_boxes} unusable box fragment(s) dropped)", file=sys.stderr)
    return 0


def _record(args, study, series, slices, frames, answer, engine) -> int:
    """--workspace: store the answer as the viewer does (app.session.study_record.record_headless)."""
    from app.session.study_record import record_headless
    from app.store.workspace import WorkspaceError
    from viewer.windowing import parse_window

    windows = []
    for k in slices:
        preset = parse_window(args.window) if args.window else series_window(
            series, series.volume.array[k])
        windows.append((preset.width, preset.level))
    try:
        done = record_headless(args.workspace, study, series, slices, frames, windows,
                               prompt=args.prompt, task=args.task, answer=answer,
                               weights_path=engine.info.get("source"),
                               adapter_path=args.adapter)
    except (WorkspaceError, OSError, ValueError) as exc:
        return _fail(f"answer given but NOT recorded in {args.workspace}: {exc}", 1)
    for reason in done.refused:
        print(f"medmo ask: box not recorded: {reason}", file=sys.stderr)
    print(f"medmo ask: recorded in {args.workspace} ({len(done.finding_ids)} box(es))",
          file=sys.stderr)
    return 0
