"""File readers: DICOM (headers, pixels, DICOMDIR), NIfTI and plain raster images.

Every reader reports a file it cannot show by raising :class:`UnreadableFile`, whose message is
the reason shown to the user (and listed in ``LoadResult.skipped``).
"""


class UnreadableFile(Exception):
    """A file that cannot be shown; ``str(exc)`` is the reason given to the user."""
