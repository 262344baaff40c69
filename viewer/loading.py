"""Opening studies: ``scan`` headers fast, ``fill`` pixels frame by frame, or ``load`` both.

``scan`` walks folders (recursively), files and DICOMDIRs, reads every DICOM header (pixels are
deferred), groups patient / study / series, splits series into displayable stacks, sorts slices
geometrically and allocates each series' ``volume.array`` (zeros). NIfTI and plain images are
read whole at scan time. ``fill`` then decodes one series' DICOM pixels in place, yielding each
frame index as it lands (starting at ``first``, then alternating outward), so a viewer can show
the slice on screen while the rest loads. Nothing is dropped silently: every file that cannot be
shown is in ``LoadResult.skipped`` with a reason, and every frame that fails to decode is yielded
as a :class:`~viewer.study.Skipped`.

One bad file never costs the good ones: every failure while reading one file, assembling one
series or decoding one frame (including what native decoders raise outside ``Exception``, such as
the Rust RLE decoder's panic; never KeyboardInterrupt or SystemExit) becomes a skip with a plain
reason, and the rest loads. Before anything is allocated each file and series is checked
against :class:`~viewer.limits.LoadLimits` (memory per series). Geometry that is unusable opens
as a plain stack, and non-finite pixel values are replaced and flagged: both are listed in
``Series.meta["warnings"]``, which the series browser and ``medmo inspect`` show.

Array conventions are those of :mod:`viewer.readers.pixels` (greyscale float32 after rescale,
MONOCHROME1 inverted, colour uint8 RGB); ``Series.photometric`` keeps the file's original value.
Folder walks ignore hidden files (names starting with ".").
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from viewer.limits import LoadLimits
from viewer.readers import UnreadableFile, failure_reason
from viewer.readers.dicom import DicomDirFile, DicomHeader, read_header
from viewer.readers.pixels import DecodeCache, decode_frame, inversion_constant, invert_window
from viewer.readers.sniff import sniff
from viewer.readers.stacks import Stack, build_stacks
from viewer.study import FrameRef, LoadResult, Series, Skipped, Study
from viewer.volume import Volume

log = logging.getLogger(__name__)

# Series -> its decode plan ((header, frame-in-file) per output frame); weak so closing frees it.
_PLANS: weakref.WeakKeyDictionary[Series, tuple[tuple[DicomHeader, int], ...]] = (
    weakref.WeakKeyDictionary()
)


class LoadCancelled(Exception):
    """Raised by :func:`scan` when its ``cancel`` event is set."""


def _walk(paths: Iterable[str | Path], skipped: list[Skipped]) -> Iterator[str]:
    """Every file under ``paths`` (folders recursively, sorted), each real path once."""
    seen: set[str] = set()

    def once(path: str) -> bool:
        real = os.path.realpath(path)
        if real in seen:
            return False
        seen.add(real)
        return True

    for raw in paths:
        path = os.fspath(raw)
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and once(os.path.join(root, name)):
                        yield os.path.join(root, name)
        elif os.path.isfile(path):
            if once(path):
                yield path
        else:
            skipped.append(Skipped(path, "no such file or folder"))


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise LoadCancelled("loading cancelled")


def scan(paths: Iterable[str | Path], *, cancel: threading.Event | None = None,
         limits: LoadLimits | None = None) -> LoadResult:
    """Fast pass over headers: groups into studies/series, sorts geometrically, allocates arrays.

    DICOM pixels are NOT decoded yet (see :func:`fill`); NIfTI and plain images are filled.
    ``limits`` (default: :class:`LoadLimits`, sized from the machine's memory) caps each series.
    Raises :class:`LoadCancelled` if ``cancel`` is set while scanning.
    """
    limits = limits or LoadLimits()
    skipped: list[Skipped] = []
    headers: list[DicomHeader] = []
    whole: list[Series] = []  # NIfTI / raster series, already filled
    queue = list(_walk(paths, skipped))
    seen = {os.path.realpath(p) for p in queue}
    while queue:
        _check(cancel)
        path = queue.pop(0)
        try:
            _read_one(path, limits, headers, whole)
        except DicomDirFile:
            queue[:0] = _dicomdir_files(path, seen, skipped)
        except BaseException as exc:  # noqa: BLE001 - one file's failure is reported, not raised
            skipped.append(Skipped(path, failure_reason(exc, "reading the file")))
    _check(cancel)
    studies = _assemble(headers, whole, limits, skipped)
    log.info("scanned %d series, %d skipped files", sum(len(s.series) for s in studies),
             len(skipped))
    return LoadResult(tuple(studies), tuple(skipped))


def _read_one(path: str, limits: LoadLimits, headers: list[DicomHeader],
              whole: list[Series]) -> None:
    """Read one file into ``headers`` (DICOM) or ``whole`` (NIfTI, plain image)."""
    try:
        kind = sniff(path)
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from exc
    if kind == "empty":
        raise UnreadableFile("empty file (0 bytes)")
    if kind == "nifti":
        from viewer.readers.nifti import read_nifti

        whole.append(read_nifti(path, limits=limits))
    elif kind == "image":
        from viewer.readers.raster import read_raster

        whole.append(read_raster(path, limits=limits))
    else:
        header = read_header(path)
        limits.check(frames=header.frames, rows=header.rows, columns=header.columns,
                     colour=header.is_colour, what="image")
        headers.append(header)


def _dicomdir_files(path: str, seen: set[str], skipped: list[Skipped]) -> list[str]:
    """Files a DICOMDIR lists that were not read yet; what it lists wrongly goes to skipped."""
    from viewer.readers.dicomdir import referenced_files

    try:
        found, refused = referenced_files(path)
    except BaseException as exc:  # noqa: BLE001 - the index alone is lost
        skipped.append(Skipped(path, failure_reason(exc, "reading the DICOMDIR")))
        return []
    skipped.extend(Skipped(p, reason) for p, reason in refused)
    fresh = [p for p in found if os.path.realpath(p) not in seen]
    seen.update(os.path.realpath(p) for p in fresh)
    return fresh


def _series_from_stack(stack: Stack, index: int, count: int, limits: LoadLimits) -> Series:
    first = stack.first
    n = len(stack.plan)
    limits.check(frames=n, rows=first.rows, columns=first.columns, colour=first.is_colour)
    if first.is_colour:
        array = np.zeros((n, first.rows, first.columns, 3), dtype=np.uint8)
    else:
        array = np.zeros((n, first.rows, first.columns), dtype=np.float32)
    windows = first.windows
    meta: dict = {"transfer_syntax": _syntax_name(first.transfer_syntax)}
    if first.photometric == "MONOCHROME1":
        constant = inversion_constant(first)
        windows = tuple(invert_window(w, constant) for w in windows)
        meta["display"] = f"MONOCHROME1: values inverted for display (v' = {constant:g} - v)"
    elif first.is_colour and first.photometric != "RGB":
        meta["display"] = f"{first.photometric} converted to RGB"
    if stack.warnings:
        meta["warnings"] = "; ".join(stack.warnings)
    description = first.series_description
    if count > 1:
        meta["stack"] = f"{index + 1} of {count} stacks in this series"
        description = f"{description} [{index + 1}/{count}: {first.rows}x{first.columns}]".strip()
    series = Series(
        uid=first.series_uid,
        modality=first.modality,
        description=description,
        volume=Volume(array, stack.affine, spacing_known=stack.spacing_known),
        frames=tuple(FrameRef(h.path, h.sop_instance_uid, f) for h, f in stack.plan),
        photometric=first.photometric,
        source="dicom",
        number=first.series_number,
        frame_of_reference_uid=first.frame_of_reference_uid,
        window_presets=windows,
        meta=meta,
    )
    _PLANS[series] = stack.plan
    return series


def _syntax_name(uid: str) -> str:
    from pydicom.uid import UID

    return UID(uid).name or uid


def _assemble(headers: list[DicomHeader], whole: list[Series], limits: LoadLimits,
              skipped: list[Skipped]) -> list[Study]:
    """Studies from the headers, one series at a time: a series that fails is skipped whole."""
    by_series: dict[tuple[str, str], list[DicomHeader]] = {}
    for header in headers:
        by_series.setdefault((header.study_uid, header.series_uid or header.path), []).append(header)
    studies: dict[str, tuple[DicomHeader, list[Series]]] = {}
    for (study_uid, _), members in by_series.items():
        try:
            parts = build_stacks(members)
        except BaseException as exc:  # noqa: BLE001 - this series is lost, not the others
            reason = failure_reason(exc, "sorting the series")
            skipped.extend(Skipped(h.path, reason) for h in members)
            continue
        for k, part in enumerate(parts):
            try:
                series = _series_from_stack(part, k, len(parts), limits)
            except BaseException as exc:  # noqa: BLE001 - this stack is lost, not the others
                reason = failure_reason(exc, "allocating the series")
                skipped.extend(Skipped(p, reason) for p in dict.fromkeys(h.path for h, _ in part.plan))
                continue
            studies.setdefault(study_uid, (part.first, []))[1].append(series)
    result = []
    for study_uid, (head, in_study) in studies.items():
        in_study.sort(key=lambda s: (s.number is None, s.number or 0, s.description))
        result.append(Study(
            uid=study_uid,
            patient_id=head.patient_id,
            patient_name=head.patient_name,
            description=head.study_description,
            date=head.study_date,
            series=tuple(in_study),
        ))
    from viewer.readers.raster import uid_for_path

    for series in whole:
        result.append(Study(uid=uid_for_path(series.frames[0].path, "study"),
                            description=series.description, series=(series,)))
    return result


def _outward(first: int, n: int) -> Iterator[int]:
    """``first``, then its neighbours alternately outward.

    >>> list(_outward(2, 5))
    [2, 3, 1, 4, 0]
    """
    first = min(max(first, 0), n - 1) if n else 0
    for step in range(n):
        for k in ((first + step, first - step) if step else (first,)):
            if 0 <= k < n and (step == 0 or k != first):
                yield k


def _plan_for(series: Series) -> tuple[tuple[DicomHeader, int], ...]:
    plan = _PLANS.get(series)
    if plan is None:  # a copied Series: re-read the headers its frames point to
        headers: dict[str, DicomHeader] = {}
        plan = tuple(
            (headers.setdefault(ref.path, read_header(ref.path)), ref.frame)
            for ref in series.frames
        )
        _PLANS[series] = plan
    return plan


def fill(
    series: Series, *, first: int = 0, cancel: threading.Event | None = None
) -> Iterator[int | Skipped]:
    """Decode pixels into ``series.volume.array`` in place, yielding each frame index as it lands.

    Starts at ``first`` (the slice on screen), then alternates outward. A frame that fails to
    decode, or has no finite pixel value, is yielded as a :class:`Skipped` with the reason (its
    pixels stay 0); a frame with some NaN/inf values has them replaced by its lowest value and
    the series is flagged (``meta["warnings"]``). Stops early, without error, when ``cancel`` is
    set.
    """
    n = series.volume.n_frames
    if series.source != "dicom":
        yield from _outward(first, n)  # read whole at scan time
        return
    try:
        plan = _plan_for(series)
    except BaseException as exc:  # noqa: BLE001 - reported per frame below
        reason = failure_reason(exc, "re-reading the headers")
        for ref in dict.fromkeys(ref.path for ref in series.frames):
            yield Skipped(ref, reason)
        return
    array = series.volume.array
    cache = DecodeCache()
    try:
        yield from _fill_frames(series, plan, array, cache, first, cancel)
    finally:
        cache.close()


def _fill_frames(series: Series, plan, array: np.ndarray, cache: DecodeCache, first: int,
                 cancel: threading.Event | None) -> Iterator[int | Skipped]:
    for k in _outward(first, series.volume.n_frames):
        if cancel is not None and cancel.is_set():
            return
        header, frame = plan[k]
        where = f"frame {frame + 1}: " if header.frames > 1 else ""
        try:
            replaced = decode_frame(header, frame, array[k], cache)
        except BaseException as exc:  # noqa: BLE001 - decoders raise anything, panics included
            if array[k].any():  # most failures come before anything was written: then writing
                array[k] = 0  # zeros would only make the OS back the whole frame with memory
            yield Skipped(header.path, where + failure_reason(
                exc, "decoding pixel data", plain="cannot decode pixel data"))
            continue
        if replaced == array[k].size:
            array[k] = 0
            yield Skipped(header.path, f"{where}no pixel value is a finite number (NaN/inf)")
            continue
        if replaced:
            _flag_non_finite(series, replaced)
        yield k


def _flag_non_finite(series: Series, replaced: int) -> None:
    """Count NaN/inf pixels replaced in one more frame, in ``meta["pixel_warnings"]``."""
    frames = series.meta.get("non_finite_frames", 0) + 1
    pixels = series.meta.get("non_finite_pixels", 0) + replaced
    series.meta.update(non_finite_frames=frames, non_finite_pixels=pixels, pixel_warnings=(
        f"{pixels} pixel value(s) in {frames} frame(s) were NaN/inf: shown as the frame's "
        "lowest value"))


def load(paths: Iterable[str | Path], *, cancel: threading.Event | None = None,
         limits: LoadLimits | None = None) -> LoadResult:
    """Scan and fill everything; a series none of whose frames decode is dropped (and skipped)."""
    scanned = scan(paths, cancel=cancel, limits=limits)
    skipped = list(scanned.skipped)
    studies = []
    for study in scanned.studies:
        kept = []
        for series in study.series:
            items = list(fill(series, cancel=cancel))
            _check(cancel)
            failed = [item for item in items if isinstance(item, Skipped)]
            skipped.extend(failed)
            if len(failed) < len(items):  # at least one frame landed
                kept.append(series)
        if kept:
            studies.append(Study(study.uid, study.patient_id, study.patient_name,
                                 study.description, study.date, tuple(kept)))
    return LoadResult(tuple(studies), tuple(skipped))
