"""``medmo demo-study OUT_DIR [--slices N --size S --seed K]``: write the synthetic CT phantom."""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("out_dir", metavar="OUT_DIR")
    parser.add_argument("--slices", type=int, default=100)
    parser.add_argument("--size", type=int, default=512, help="rows = columns")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run)


def run(args) -> int:
    from app.training.demo_data import slice_texts
    from viewer.demo import write_demo_study

    try:
        out = write_demo_study(args.out_dir, slices=args.slices, size=args.size, seed=args.seed,
                               slice_texts=slice_texts)
    except (ValueError, OSError) as exc:
        print(f"medmo demo-study: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.slices} CT slices of {args.size}x{args.size} and ground_truth.json "
          f"to {out}")
    return 0
