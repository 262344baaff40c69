"""``medmo dataset build WORKSPACE OUT``, ``medmo dataset phantom OUT`` and
``medmo dataset demo OUT``, ``medmo dataset corrections WORKSPACE OUT``: training datasets.

``build`` turns the radiologists' work in a workspace into a dataset folder (JSONL + PNG, see
:mod:`inference.training.dataset`): box corrections, edited AI report drafts and answered
questions, each a row of its task; run it again on the same OUT to add new cases to the training
split while the validation split stays frozen. ``phantom`` writes the one-lesion phantom
benchmark (``medmo bench adapt``'s); ``demo`` the demo model's multi-task data
(:mod:`app.training.demo_data`); ``corrections`` the review clicks as GRPO prompts with reward
targets (:mod:`app.training.click_data`). Each prints a JSON summary (``tasks``: training rows
per task).
"""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="dataset_action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="workspace corrections -> dataset folder")
    build.add_argument("workspace", metavar="WORKSPACE")
    build.add_argument("out", metavar="OUT")
    build.add_argument("--validation-fraction", type=float, default=0.2,
                       help="share frozen for validation when OUT is created (default 0.2)")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--deidentify", action="store_true",
                       help="shareable: pseudonymous UIDs and ids, free text cleaned of the "
                            "--studies' patient names and IDs (app.training.deid_examples)")
    build.add_argument("--studies", nargs="+", default=[], metavar="PATH",
                       help="with --deidentify: the studies' DICOM files or folders, whose "
                            "patients' names and IDs are cleaned out of the texts")
    build.add_argument("--map", metavar="FILE",
                       help="with --deidentify: salt and pseudonyms, kept at the site (reused "
                            "when it exists, so rebuilds keep the same ids)")
    clicks = actions.add_parser("corrections", help="review clicks (accept, delete, move, "
                                "resize, relabel, add) -> GRPO prompts with reward targets")
    clicks.add_argument("workspace", metavar="WORKSPACE")
    clicks.add_argument("out", metavar="OUT")
    clicks.add_argument("--validation-fraction", type=float, default=0.2,
                        help="share frozen for validation when OUT is created (default 0.2)")
    clicks.add_argument("--seed", type=int, default=0)
    phantom = actions.add_parser("phantom", help="synthetic phantom benchmark dataset")
    phantom.add_argument("out", metavar="OUT")
    phantom.add_argument("--train", type=int, default=2000)
    phantom.add_argument("--heldout", type=int, default=200)
    phantom.add_argument("--size", type=int, default=256)
    phantom.add_argument("--seed", type=int, default=0)
    demo = actions.add_parser("demo", help="the demo model's multi-task phantom dataset")
    demo.add_argument("out", metavar="OUT")
    demo.add_argument("--train", type=int, default=12000)
    demo.add_argument("--heldout", type=int, default=150)
    demo.add_argument("--size", type=int, default=512,
                      help="phantom side in pixels (the staged recipe trains at 512)")
    demo.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run)


def run(args) -> int:
    from app.store.workspace import Workspace, WorkspaceError
    from app.training.data import build_phantom_benchmark, workspace_examples
    from inference.training.dataset import DatasetError, task_counts, write_dataset

    try:
        if args.dataset_action in ("phantom", "demo"):
            if args.dataset_action == "phantom":
                report = build_phantom_benchmark(args.out, train=args.train,
                                                 heldout=args.heldout, size=args.size,
                                                 seed=args.seed)
            else:
                from app.training.demo_data import build_demo_benchmark

                report = build_demo_benchmark(args.out, train=args.train, heldout=args.heldout,
                                              size=args.size, seed=args.seed)
            print(json.dumps({**report.to_dict(), "tasks": task_counts(args.out)}))
            return 0
        from pathlib import Path

        if args.dataset_action == "corrections":
            return _corrections(args)
        if not (Path(args.workspace) / "workspace.sqlite3").exists():
            raise WorkspaceError(f"{args.workspace} holds no workspace (workspace.sqlite3)")
        with Workspace(args.workspace) as ws:
            built = workspace_examples(ws)
        for where, reason in built.skipped:
            print(f"medmo dataset: skipped {where}: {reason}", file=sys.stderr)
        if not built.examples:
            raise DatasetError("the workspace holds no corrections yet: review some boxes "
                               "(accept, move, resize, delete, add or relabel), edit an AI "
                               "report draft or answer a question first")
        examples, description = list(built.examples), ""
        if args.deidentify:
            from app.training.deid_examples import shareable

            examples, description = shareable(examples, args.workspace, studies=args.studies,
                                              map_path=args.map, out=args.out)
        report = write_dataset(args.out, examples, description=description,
                               validation_fraction=args.validation_fraction, seed=args.seed)
    except (ValueError, OSError, WorkspaceError) as exc:
        print(f"medmo dataset: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({**report.to_dict(), "skipped": len(built.skipped),
                      "tasks": task_counts(args.out)}))
    return 0


def _corrections(args) -> int:
    """``medmo dataset corrections``: counts of each click kind on stdout (JSON), skipped
    frames with their reasons on stderr."""
    from pathlib import Path

    from app.store.workspace import Workspace, WorkspaceError
    from app.training.click_data import correction_rows
    from inference.training.dataset import DatasetError, task_counts, write_dataset

    if not (Path(args.workspace) / "workspace.sqlite3").exists():
        raise WorkspaceError(f"{args.workspace} holds no workspace (workspace.sqlite3)")
    with Workspace(args.workspace) as ws:
        built = correction_rows(ws)
    for where, reason in built.skipped:
        print(f"medmo dataset: skipped {where}: {reason}", file=sys.stderr)
    if not built.examples:
        raise DatasetError("the workspace holds no review clicks yet: accept, delete, move, "
                           "resize, relabel or add boxes on a model's answer first")
    report = write_dataset(args.out, built.examples, validation_fraction=args.validation_fraction,
                           seed=args.seed, description="review clicks (GRPO reward targets)")
    print(json.dumps({**report.to_dict(), "clicks": built.counts,
                      "normal_frames": built.normal_frames, "skipped": len(built.skipped),
                      "tasks": task_counts(args.out)}))
    return 0
