"""Boxes over the slice view: :class:`BoxOverlay` draws and edits an AnnotationSet's findings.

See :mod:`viewer.qt.boxes.overlay` for the API and gestures; :class:`FindingSelection` is the
selection shared with the findings panel.
"""

from viewer.qt.boxes.overlay import DEFAULT_LABEL, BoxOverlay
from viewer.qt.boxes.selection import FindingSelection

__all__ = ["DEFAULT_LABEL", "BoxOverlay", "FindingSelection"]
