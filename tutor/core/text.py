"""Text helpers shared by the app's screens and the headless commands."""

from __future__ import annotations


def bar(done: int, total: int, width: int = 20) -> str:
    """A progress bar in block characters."""
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)
