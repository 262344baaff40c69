"""File readers: DICOM (headers, pixels, DICOMDIR), NIfTI and plain raster images.

Every reader reports a file it cannot show by raising :class:`UnreadableFile`, whose message is
the reason shown to the user (and listed in ``LoadResult.skipped``). Anything else a reader or a
native decoder raises for one file is turned into a reason by :func:`failure_reason`, so one bad
file never costs the good ones.
"""

# What stops the program, never one file: re-raised by every per-file handler.
FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit)
_MAX_DETAIL = 240


class UnreadableFile(Exception):
    """A file that cannot be shown; ``str(exc)`` is the reason given to the user."""


def failure_reason(exc: BaseException, what: str, *, plain: str = "") -> str:
    """A one-line reason for ``exc`` raised while ``what`` (e.g. "reading the header").

    ``plain`` replaces "unexpected error while WHAT" for ordinary exceptions.

    Re-raises :data:`FATAL` exceptions. Catches what ``except Exception`` misses on purpose:
    the Rust RLE decoder reports a panic as ``pyo3_runtime.PanicException``, a BaseException.

    >>> failure_reason(ValueError("bad\\n  value"), "decoding")
    'unexpected error while decoding (ValueError: bad value)'
    >>> failure_reason(MemoryError(), "allocating the series")
    'not enough memory while allocating the series (MemoryError)'
    >>> failure_reason(RuntimeError("bad"), "decoding", plain="cannot decode pixel data")
    'cannot decode pixel data (RuntimeError: bad)'
    >>> failure_reason(UnreadableFile("no pixel data"), "reading")
    'no pixel data'
    """
    if isinstance(exc, FATAL):
        raise exc
    if isinstance(exc, UnreadableFile):
        return str(exc)
    detail = " ".join(str(exc).split())  # decoders put the useful part on later lines
    if len(detail) > _MAX_DETAIL:
        detail = detail[: _MAX_DETAIL - 3] + "..."
    kind = type(exc).__name__ + (f": {detail}" if detail else "")
    if isinstance(exc, MemoryError):
        return f"not enough memory while {what} ({kind})"
    if type(exc).__name__ == "PanicException":
        return f"the decoder crashed while {what} ({kind})"
    return f"{plain or 'unexpected error while ' + what} ({kind})"
