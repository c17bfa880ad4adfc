"""The verdict pane: each check with a mark, the first failure expanded."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tutor import render


class VerdictView(VerticalScroll):
    DEFAULT_CSS = """
    VerdictView { height: 1fr; }
    VerdictView > Static { width: 1fr; }
    """

    def compose(self):
        yield Static(Text("Press F5 to run your code and check it.", style="dim"), id="verdict-body")

    @property
    def body(self) -> Static:
        return self.query_one("#verdict-body", Static)

    def show_running(self) -> None:
        self.body.update(Text("Running… (Esc stops it)", style="bold yellow"))

    def show_verdict(self, verdict: Any) -> None:
        self.body.update(render.verdict_view(verdict))
        self.scroll_home(animate=False)

    def show_error(self, message: str) -> None:
        self.body.update(Text(message, style="bold red"))
