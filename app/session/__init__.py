"""The Qt-free model of a reading window: :class:`ReadingSession` and its parts.

See :mod:`app.session.reading` for the parts and ARCHITECTURE.md for the path of one question
from click to drawn box. Nothing in this package imports Qt (an import-linter contract).
"""

from app.session.reading import ReadingSession

__all__ = ["ReadingSession"]
