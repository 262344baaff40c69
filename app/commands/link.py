"""``medmo link CURRENT PRIOR --slice K [--json]``: the prior slice linked scrolling shows.

Loads the current study (CURRENT: a file, folder or DICOMDIR) and the prior (PRIOR), takes the
current series (``--series``, default the first) and the prior's matching series (same modality
and plane, most similar description: :func:`viewer.prior.matching_series`, or
``--prior-series``), and prints the prior slice nearest in patient position to current slice K,
as the linked viewports of the reading window do (:class:`viewer.view_links.ViewLinks`)::

    {"prior_slice": j, "current_position_mm": [x, y, z], "prior_position_mm": [x, y, z]}

Positions are the centres of the two slices in patient LPS millimetres. Two series in different
frames of reference have no common position: ``--pair K0,J0`` (current slice K0 shows the same
anatomy as prior slice J0) gives the offset, as the reading window's "Link here" does.
"""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    parser.add_argument("current", metavar="CURRENT", help="current study: file, folder, DICOMDIR")
    parser.add_argument("prior", metavar="PRIOR", help="prior study: file, folder or DICOMDIR")
    parser.add_argument("--slice", type=int, required=True, help="current slice (0-based)")
    parser.add_argument("--series", type=int, default=0,
                        help="current series position as listed by `medmo inspect`")
    parser.add_argument("--prior-series", type=int, default=None,
                        help="prior series position (default: the matching series)")
    parser.add_argument("--pair", metavar="K0,J0",
                        help="across frames of reference: current slice K0 matches prior J0")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"medmo link: {message}", file=sys.stderr)
    return 2


def _series(path: str, position: int | None, label: str):
    from viewer.loading import load

    result = load([path])
    for skipped in result.skipped:
        print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    series_list = result.all_series
    if not series_list:
        raise ValueError(f"nothing could be read from {label} {path}")
    if position is not None and not 0 <= position < len(series_list):
        raise ValueError(f"{label} series {position} out of range: {len(series_list)} loaded")
    return series_list, result


def run(args) -> int:
    from viewer.prior import matching_series
    from viewer.view_links import ViewLinks
    from viewer.viewstate import ViewState

    try:
        current_list, _ = _series(args.current, args.series, "current")
        prior_list, _ = _series(args.prior, args.prior_series, "prior")
    except ValueError as exc:
        return _fail(str(exc))
    current_series = current_list[args.series]
    prior_series = (prior_list[args.prior_series] if args.prior_series is not None
                    else matching_series(current_series, prior_list))
    if prior_series is None:
        return _fail(f"the prior has no {current_series.modality} series")
    current, prior = ViewState(), ViewState()
    current.set_series(current_series)
    prior.set_series(prior_series)
    if prior.plane != current.plane and current.plane in prior.planes:
        prior.set_plane(current.plane)
    if not 0 <= args.slice < current.n_slices:
        return _fail(f"--slice {args.slice} out of range 0..{current.n_slices - 1}")
    links = ViewLinks([current, prior])
    if args.pair:
        try:
            k0, j0 = (int(v) for v in args.pair.split(","))
        except ValueError:
            return _fail(f"--pair wants K0,J0, got {args.pair!r}")
        current.slice_index, prior.slice_index = k0, j0
        links.link_here(current, prior)
    current.slice_index = args.slice
    target = links.target_slice(current, prior)
    if target is None:
        return _fail("the two series share no frame of reference (or plane): give --pair K0,J0")
    prior.slice_index = target
    position = [round(float(v), 4) for v in links.slice_position(current)]
    prior_position = [round(float(v), 4) for v in links.slice_position(prior)]
    answer = {"prior_slice": target, "current_position_mm": position,
              "prior_position_mm": prior_position}
    if args.json:
        print(json.dumps(answer))
    else:
        print(f"current slice {args.slice} at {position} mm -> prior slice {target} "
              f"({prior_series.description or prior_series.uid}) at {prior_position} mm")
    return 0
