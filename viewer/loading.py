"""Opening studies: ``scan`` headers fast, ``fill`` pixels frame by frame, or ``load`` both.

``scan`` walks folders (recursively), files and DICOMDIRs, reads every DICOM header (pixels are
deferred), groups patient / study / series, splits series into displayable stacks, sorts slices
geometrically and allocates each series' ``volume.array`` (zeros). NIfTI and plain images are
read whole at scan time. ``fill`` then decodes one series' DICOM pixels in place, yielding each
frame index as it lands (starting at ``first``, then alternating outward), so a viewer can show
the slice on screen while the rest loads. Nothing is dropped silently: every file that cannot be
shown is in ``LoadResult.skipped`` with a reason, and every frame that fails to decode is yielded
as a :class:`~viewer.study.Skipped`.

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

from viewer.readers import UnreadableFile
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


def scan(paths: Iterable[str | Path], *, cancel: threading.Event | None = None) -> LoadResult:
    """Fast pass over headers: groups into studies/series, sorts geometrically, allocates arrays.

    DICOM pixels are NOT decoded yet (see :func:`fill`); NIfTI and plain images are filled.
    Raises :class:`LoadCancelled` if ``cancel`` is set while scanning.
    """
    skipped: list[Skipped] = []
    headers: list[DicomHeader] = []
    whole: list[Series] = []  # NIfTI / raster series, already filled
    queue = list(_walk(paths, skipped))
    seen = {os.path.realpath(p) for p in queue}
    while queue:
        _check(cancel)
        path = queue.pop(0)
        try:
            kind = sniff(path)
            if kind == "nifti":
                from viewer.readers.nifti import read_nifti

                whole.append(read_nifti(path))
            elif kind == "image":
                from viewer.readers.raster import read_raster

                whole.append(read_raster(path))
            else:
                headers.append(read_header(path))
        except DicomDirFile:
            from viewer.readers.dicomdir import referenced_files

            try:
                found, missing = referenced_files(path)
            except UnreadableFile as exc:
                skipped.append(Skipped(path, str(exc)))
                continue
            skipped.extend(Skipped(p, reason) for p, reason in missing)
            fresh = [p for p in found if os.path.realpath(p) not in seen]
            seen.update(os.path.realpath(p) for p in fresh)
            queue[:0] = fresh
        except UnreadableFile as exc:
            skipped.append(Skipped(path, str(exc)))
        except OSError as exc:
            skipped.append(Skipped(path, f"cannot read file: {exc.strerror or exc}"))
    _check(cancel)
    studies = _assemble(build_stacks(headers), whole)
    log.info("scanned %d series, %d skipped files", sum(len(s.series) for s in studies),
             len(skipped))
    return LoadResult(tuple(studies), tuple(skipped))


def _series_from_stack(stack: Stack, index: int, count: int) -> Series:
    first = stack.first
    n = len(stack.plan)
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


def _assemble(stacks: list[Stack], whole: list[Series]) -> list[Study]:
    by_series: dict[tuple[str, str], list[Stack]] = {}
    for stack in stacks:
        key = (stack.first.study_uid, stack.first.series_uid or stack.first.path)
        by_series.setdefault(key, []).append(stack)
    studies: dict[str, tuple[DicomHeader, list[Series]]] = {}
    for (study_uid, _), parts in by_series.items():
        entry = studies.setdefault(study_uid, (parts[0].first, []))
        entry[1].extend(_series_from_stack(s, k, len(parts)) for k, s in enumerate(parts))
    result = []
    for study_uid, (head, series) in studies.items():
        series.sort(key=lambda s: (s.number is None, s.number or 0, s.description))
        result.append(Study(
            uid=study_uid,
            patient_id=head.patient_id,
            patient_name=head.patient_name,
            description=head.study_description,
            date=head.study_date,
            series=tuple(series),
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
    decode is yielded as a :class:`Skipped` with the reason (its pixels stay 0). Stops early,
    without error, when ``cancel`` is set.
    """
    n = series.volume.n_frames
    if series.source != "dicom":
        yield from _outward(first, n)  # read whole at scan time
        return
    plan = _plan_for(series)
    array = series.volume.array
    cache = DecodeCache()
    for k in _outward(first, n):
        if cancel is not None and cancel.is_set():
            return
        header, frame = plan[k]
        try:
            decode_frame(header, frame, array[k], cache)
        except Exception as exc:  # noqa: BLE001 - decoders raise many types; all are reported
            where = f"frame {frame + 1}: " if header.frames > 1 else ""
            detail = " ".join(str(exc).split())  # decoders put the useful part on later lines
            detail = detail if len(detail) <= 240 else detail[:237] + "..."
            yield Skipped(header.path,
                          f"{where}cannot decode pixel data ({type(exc).__name__}: {detail})")
            continue
        yield k


def load(paths: Iterable[str | Path], *, cancel: threading.Event | None = None) -> LoadResult:
    """Scan and fill everything; a series none of whose frames decode is dropped (and skipped)."""
    scanned = scan(paths, cancel=cancel)
    skipped = list(scanned.skipped)
    studies = []
    for study in scanned.studies:
        kept = []
        for series in study.series:
            failed = [item for item in fill(series, cancel=cancel) if isinstance(item, Skipped)]
            _check(cancel)
            skipped.extend(failed)
            if len(failed) < series.volume.n_frames:
                kept.append(series)
        if kept:
            studies.append(Study(study.uid, study.patient_id, study.patient_name,
                                 study.description, study.date, tuple(kept)))
    return LoadResult(tuple(studies), tuple(skipped))
