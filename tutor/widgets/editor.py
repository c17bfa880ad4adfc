"""The code editor: Textual's TextArea with Python highlighting and auto-indent."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.widgets import TextArea


class CodeEditor(TextArea):
    """Enter keeps the line's indentation, and indents one level more after a colon."""

    # TextArea selects the line on F6 and all on F7; the workspace gives those keys to
    # reset and $EDITOR.  When the screen locks them (a timed attempt), they must do
    # nothing here rather than fall through and select the whole solution, so the next
    # key replaces it.  ctrl+a is what people reach for to select all.
    BINDINGS = [
        Binding("ctrl+a", "select_all", "Select all", id="select-all", show=False),
        Binding("f6,f7", "nothing", show=False),
    ]

    def action_nothing(self) -> None:
        """F6 and F7 belong to the workspace, never to the editor."""

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "backspace" and not self.read_only and self._dedent():
            event.stop()
            event.prevent_default()
            return
        if event.key == "enter" and not self.read_only:
            row, col = self.cursor_location
            before = self.document.get_line(row)[:col]
            indent = before[: len(before) - len(before.lstrip())]
            if before.rstrip().endswith(":"):
                indent += " " * self.indent_width
            event.stop()
            event.prevent_default()
            start, end = self.selection
            self._replace_via_keyboard("\n" + indent, start, end)
            return
        await super()._on_key(event)

    def _dedent(self) -> bool:
        """Backspace in leading spaces goes back one indent level, as code editors do."""
        start, end = self.selection
        row, col = end
        if start != end or col == 0:
            return False
        before = self.document.get_line(row)[:col]
        if before.strip(" "):
            return False
        width = (col - 1) % self.indent_width + 1  # to the previous multiple of the indent
        self._replace_via_keyboard("", (row, col - width), (row, col))
        return True
