"""Dock panels of the main window (findings, chat, model, report)."""
