"""Exports of what the workspace holds for a study: Markdown, PDF, DICOM SR (TID 1500 + text).

Each exporter takes an :class:`~app.export.content.ExportContent` (the loaded study plus the
workspace's findings, report and chats) and writes atomically (temp file + fsync + replace).
"""

from app.export.content import ExportContent, ExportError, gather

__all__ = ["ExportContent", "ExportError", "gather"]
