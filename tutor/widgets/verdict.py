"""The verdict pane: each check with a mark, the first failure expanded."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tutor.core import render


class VerdictView(VerticalScroll):
    DEFAULT_CSS = """
    VerdictView { height: 1fr; }
    VerdictView > Static { width: 1fr; }
    """

    last_shown: Any = Text("Press F5 to run your code and check it.", style="dim")

    def compose(self):
        yield Static(self.last_shown, id="verdict-body")

    def _show(self, renderable: Any) -> None:
        self.last_shown = renderable
        self.body.update(renderable)

    @property
    def body(self) -> Static:
        return self.query_one("#verdict-body", Static)

    def show_running(self) -> None:
        self._show(Text("Running… (Esc stops it)", style="bold yellow"))

    def show_verdict(self, verdict: Any) -> None:
        self._show(render.verdict_view(verdict))
        self.scroll_home(animate=False)

    def show_error(self, message: str) -> None:
        self._show(Text(message, style="bold red"))
