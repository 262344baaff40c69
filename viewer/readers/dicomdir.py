"""DICOMDIR: the index file of DICOM media; we read the files its records point to.

Only files inside the DICOMDIR's own folder are read: a record whose ReferencedFileID climbs out
of it (``..``, an absolute path, a link leading elsewhere) is refused with the reason, like a
record whose file is missing.
"""

from __future__ import annotations

import os

from viewer.readers import UnreadableFile
from viewer.readers.bounded import BoundedReader


def _resolve(root: str, parts: list[str]) -> str | None:
    """Path of a referenced file, matching case-insensitively (media often lowercases names)."""
    exact = os.path.join(root, *parts)
    if os.path.isfile(exact):
        return exact
    current = root
    for part in parts:
        try:
            names = {name.upper(): name for name in os.listdir(current)}
        except OSError:
            return None
        match = names.get(part.upper())
        if match is None:
            return None
        current = os.path.join(current, match)
    return current if os.path.isfile(current) else None


def _inside(root: str, path: str, *, follow_links: bool) -> bool:
    """Whether ``path`` lies in ``root``: by its name (``..``), or also after links."""
    resolve = os.path.realpath if follow_links else os.path.normpath
    top, where = resolve(root), resolve(path)
    return os.path.commonpath([top, where]) == top


def referenced_files(path: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Files referenced by a DICOMDIR, and ``(path, reason)`` for records that cannot be read
    (file missing, or outside the DICOMDIR's folder).

    Raises :class:`UnreadableFile` when the DICOMDIR itself cannot be parsed.
    """
    import pydicom

    try:
        with BoundedReader(path) as fh:
            ds = pydicom.dcmread(fh)
        records = list(ds.get("DirectoryRecordSequence") or [])
    except Exception as exc:  # noqa: BLE001 - any parse failure of the index
        raise UnreadableFile(f"unreadable DICOMDIR ({type(exc).__name__}: {exc})") from exc
    root = os.path.dirname(os.path.abspath(path))
    found: list[str] = []
    missing: list[tuple[str, str]] = []
    for record in records:
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [file_id] if isinstance(file_id, str) else [str(p) for p in file_id]
        named = os.path.join(root, *parts)
        if not _inside(root, named, follow_links=False):
            missing.append((named, "listed in DICOMDIR but outside the DICOMDIR's folder: "
                                   "not read"))
            continue
        resolved = _resolve(root, parts)
        if resolved is not None and not _inside(root, resolved, follow_links=True):
            missing.append((resolved, "listed in DICOMDIR but links outside the DICOMDIR's "
                                      "folder: not read"))
            continue
        if resolved is None:
            missing.append((os.path.join(root, *parts), "listed in DICOMDIR but the file is missing"))
        else:
            found.append(resolved)
    return found, missing
