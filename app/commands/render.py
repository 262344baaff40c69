"""``medmo render PATH --series N --slice K [--window] [--plane] [--slab MODE:MM] [--raw OUT.npy]
--out FILE.png`` (headless).

By default the PNG holds exactly the pixels the slice view hands to its image item: the plane
cut out of the volume, or with ``--slab mip|minip|avg:MM`` its projection over the slices whose
centres lie within +-MM/2 of slice K's (viewer.slab.render_view), windowed by
viewer.windowing.apply_window, at native resolution. ``--raw`` also saves the values before
windowing (HU for CT, float32) as a .npy file. ``--view WxH`` instead grabs the real SliceView (offscreen) with its
overlays, as a user would see it at that size.
"""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or DICOMDIRs")
    parser.add_argument("--series", type=int, default=0,
                        help="series position as listed by `medmo inspect` (0-based)")
    parser.add_argument("--slice", type=int, default=None,
                        help="slice index in the plane (0-based; default: middle)")
    parser.add_argument("--window", help="preset name (lung, mediastinum, ...) or W,L")
    parser.add_argument("--plane", choices=("axial", "coronal", "sagittal"),
                        help="default: the plane the series was acquired in")
    parser.add_argument("--slab", metavar="MODE:MM",
                        help="slab projection around the slice: mip, minip or avg over MM mm, "
                             "e.g. mip:20")
    parser.add_argument("--raw", metavar="OUT.npy",
                        help="also save the values before windowing (HU for CT) as .npy")
    parser.add_argument("--view", metavar="WxH",
                        help="grab the slice view with overlays at this size instead")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"medmo render: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    from viewer.loading import load
    from viewer.slab import parse_slab
    from viewer.viewstate import ViewState
    from viewer.windowing import parse_window

    try:
        window = parse_window(args.window) if args.window else None
        slab = parse_slab(args.slab) if args.slab else None
    except ValueError as exc:
        return _fail(str(exc))
    result = load(args.paths)
    for skipped in result.skipped:
        print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    series_list = result.all_series
    if not series_list:
        return _fail("nothing could be read")
    if not 0 <= args.series < len(series_list):
        return _fail(f"--series {args.series} out of range: {len(series_list)} series loaded")
    series = series_list[args.series]
    state = ViewState()
    study = next((st for st in result.studies if any(s is series for s in st.series)), None)
    state.set_series(series, study=study)
    if args.plane and args.plane != state.plane:
        if args.plane not in state.planes:
            return _fail(f"{args.plane} needs a volume; this series has one frame")
        state.set_plane(args.plane)
    if args.slice is not None:
        if not 0 <= args.slice < state.n_slices:
            return _fail(f"--slice {args.slice} out of range 0..{state.n_slices - 1}")
        state.slice_index = args.slice
    if window is not None:
        state.set_window(window.width, window.level, name=window.name)
    try:
        state.set_slab(slab)
    except ValueError as exc:
        return _fail(str(exc))
    if args.raw:
        _save_raw(state, args.raw)
    if args.view:
        return _grab_view(state, args.view, args.out)
    from PIL import Image

    from viewer.slab import render_view

    geometry = state.geometry
    assert geometry is not None  # set_series(series) set it
    image = render_view(series.volume, geometry, state.slice_index, *state.window, slab=slab)
    Image.fromarray(image).save(args.out)
    width, level = state.window
    print(f"wrote {args.out}: {state.plane} slice {state.slice_index}/{state.n_slices}"
          f"{f' {slab.text}' if slab else ''} W {width:g} L {level:g} "
          f"{image.shape[1]}x{image.shape[0]}")
    return 0


def _save_raw(state, path: str) -> None:
    """The values on screen before windowing (float32; HU for CT) as a .npy file."""
    import numpy as np

    from viewer.slab import view_values

    assert state.series is not None and state.geometry is not None
    values = view_values(state.series.volume, state.geometry, state.slice_index, state.slab)
    np.save(path, np.ascontiguousarray(values, dtype=np.float32))
    print(f"wrote {path}: values before windowing {values.shape[1]}x{values.shape[0]}")


def _grab_view(state, size: str, out: str) -> int:
    import os

    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        return _fail(f"--view wants WxH, e.g. 800x800, got {size!r}")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtWidgets

    from viewer.qt.slice_view import SliceView

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["medmo-render"])
    view = SliceView(state)
    view.resize(width, height)
    view.show()
    app.processEvents()
    view._apply_camera()
    app.processEvents()
    ok = view.grab().save(out)
    view.close()
    if not ok:
        return _fail(f"could not write {out}")
    print(f"wrote {out}: slice view {width}x{height}")
    return 0
