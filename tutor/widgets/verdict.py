"""The verdict pane: every failing check with its reason and expected vs actual, then the passing ones."""

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

    verdict: Any = None
    last_shown: Any = None

    def __init__(self, placeholder: str = "Press F5 to run your code and check it.", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last_shown = Text(placeholder, style="dim")

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
        self.verdict = verdict
        self._show(render.verdict_view(verdict, width=self.content_size.width))
        self.scroll_home(animate=False)

    def on_resize(self) -> None:
        # Expected and actual go side by side or stacked by the room there is: lay out again.
        if self.verdict is not None:
            self._show(render.verdict_view(self.verdict, width=self.content_size.width))

    def show_error(self, message: str) -> None:
        self._show(Text(message, style="bold red"))
