"""The key bar every screen shows: compact, so a screen's keys fit in 80 columns."""

from __future__ import annotations

from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer, compact, without the palette entry (the welcome text names ctrl+p)."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)
