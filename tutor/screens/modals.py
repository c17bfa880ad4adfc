"""Small modal screens: confirm, show the reference solution or compare with it, restore a version, the syntax sheet."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from tutor.core.text import telling_line


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel"), Binding("y", "dismiss(True)", "Yes", show=False)]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.question), classes="question")  # wraps to the dialog's width
            with Horizontal(classes="buttons"):
                yield Button("Yes", variant="warning", id="yes")
                yield Button("No", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class SolutionScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f8", "dismiss", "Close")]

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static("Reference solution (Esc closes)", classes="dialog-title")
            yield TextArea.code_editor(self.code, language="python", read_only=True, id="solution-code")


class CompareScreen(ModalScreen[None]):
    """After a pass: the learner's code beside the reference, with the lesson's note on why it is written so."""

    BINDINGS = [Binding("escape,f8", "dismiss", "Close")]

    def __init__(self, mine: str, reference: str, why: str | None) -> None:
        super().__init__()
        self.mine, self.reference, self.why = mine, reference, why

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static("Passed: your code beside the reference (Esc closes)", classes="dialog-title")
            if self.why:
                yield Static(Text(f"Why the reference is written this way: {self.why}"), id="compare-why")
            with Horizontal(id="compare"):
                with Vertical():
                    yield Static("your code", classes="compare-label")
                    yield TextArea.code_editor(self.mine, language="python", read_only=True, id="compare-mine")
                with Vertical():
                    yield Static("reference", classes="compare-label")
                    yield TextArea.code_editor(self.reference, language="python", read_only=True, id="compare-reference")

    def on_resize(self, event: Any) -> None:
        self.set_class(event.size.width < 100, "-narrow")  # one above the other: two columns of code need room


class VersionsScreen(ModalScreen[str | None]):
    """Earlier versions of the learner's code; Enter restores one."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, versions: list[Any], current: str = "") -> None:
        super().__init__()
        self.versions = versions
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static("Earlier versions: Enter restores one (your current code is kept too)", classes="dialog-title")
            yield OptionList(*[Option(self._label(v), id=str(v.id)) for v in self.versions], id="versions")

    def _label(self, version: Any) -> Text:
        """When, why, and the line that tells it apart from the code now; a Text, never markup."""
        when = dt.datetime.fromtimestamp(version.saved_at).strftime("%Y-%m-%d %H:%M:%S")
        line = telling_line(version.text, self.current)[:60]
        return Text.assemble((when, "dim"), f"  {version.reason:<28}  ", (line, "cyan"))

    @on(OptionList.OptionSelected)
    def _restore(self, event: OptionList.OptionSelected) -> None:
        chosen = next(v for v in self.versions if str(v.id) == event.option.id)
        self.dismiss(chosen.text)


class SheetScreen(ModalScreen[None]):
    """The syntax sheet of one track: each name with its signature, what it does, where it is taught."""

    BINDINGS = [Binding("escape,f10", "dismiss", "Close")]

    def __init__(self, track: str, entries: list[dict[str, Any]]) -> None:
        super().__init__()
        self.track = track
        self.entries = entries

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(f"Syntax sheet · {self.track} (Esc closes)", classes="dialog-title")
            with VerticalScroll(id="sheet-body"):
                yield Static(self._text() if self.entries else Text("No sheet for this track yet.", style="dim"))

    def _text(self) -> Text:
        out = Text()
        for entry in self.entries:
            out.append(entry["name"], style="bold cyan")
            out.append(f"  {entry['signature']}\n", style="bold")
            out.append(f"  {entry['meaning']}\n")  # a Text, never markup: docstrings hold brackets
            out.append(f"  taught in {', '.join(entry['lessons'][:3])}\n\n", style="dim")
        return out
