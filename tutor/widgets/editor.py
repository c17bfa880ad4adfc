"""The code editor: Textual's TextArea with Python highlighting and auto-indent.

Highlighting is limited to the lines around the view.  TextArea rebuilds the
highlight map of the whole document on every edit (a tree-sitter query over
every node), which in a 5,000-line file cost 0.4 s a key; a window of a few
hundred lines costs a few milliseconds whatever the file's length.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import TextArea

HIGHLIGHT_MARGIN = 150  # lines highlighted above and below the view, so scrolling a little needs no rebuild


class CodeEditor(TextArea):
    """Enter keeps the line's indentation, and indents one level more after a colon."""

    _window: tuple[int, int] = (0, 0)  # the document rows whose highlights are built
    _marks: dict[int, str] = {}  # document row -> what that line made on the failing case (the shape trace)

    # TextArea selects the line on F6 and all on F7; the workspace gives those keys to
    # reset and $EDITOR.  When the screen locks them (a timed attempt) they must do
    # nothing here, not fall through and select the whole solution so that the next
    # key replaces it.  ctrl+a is what people reach for to select all.
    BINDINGS = [Binding("ctrl+a", "select_everything", "Select all", id="select-all", show=False)]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("select_line", "select_all"):  # only ever reached by F6 and F7
            return False
        return super().check_action(action, parameters)

    def action_select_everything(self) -> None:
        self.select_all()

    # --- the shape trace beside the code ------------------------------------------------------

    def show_marks(self, marks: dict[int, str]) -> None:
        """Show, after each traced line (1-based), what it made; cleared by the next edit."""
        self._marks = {line - 1: text for line, text in marks.items()}
        self._line_cache.clear()
        self.refresh()

    def clear_marks(self) -> None:
        if self._marks:
            self.show_marks({})

    def get_line(self, line_index: int) -> Text:
        line = super().get_line(line_index)
        mark = self._marks.get(line_index)
        if mark:  # virtual text: drawn after the code, never part of the document
            line.append(f"   ◂ {mark}", style="italic #7f8c98")
        return line

    def _build_highlight_map(self) -> None:
        """Highlights for the rows around the view only (see the module's docstring)."""
        self._line_cache.clear()
        highlights = self._highlights
        highlights.clear()
        if not self._highlight_query:
            return
        top = int(self.scroll_offset.y)
        # Visual rows are never fewer than document rows, so this window covers the view.
        start, end = max(0, top - HIGHLIGHT_MARGIN), top + self.size.height + HIGHLIGHT_MARGIN
        self._window = (start, end)
        captures = self.document.query_syntax_tree(self._highlight_query, start_point=(start, 0), end_point=(end, 0))
        for name, nodes in captures.items():
            for node in nodes:
                (row, column), (end_row, end_column) = node.start_point, node.end_point
                if row == end_row:
                    highlights[row].append((column, end_column, name))
                    continue
                highlights[row].append((column, None, name))
                for middle in range(max(row + 1, start), min(end_row, end + 1)):
                    highlights[middle].append((0, None, name))
                highlights[end_row].append((0, end_column, name))

    def _watch_scroll_y(self) -> None:
        super()._watch_scroll_y()
        start, end = self._window
        top = int(self.scroll_offset.y)
        if top < start or top + self.size.height > end:  # scrolled out of the highlighted rows
            self._build_highlight_map()
            self.refresh()

    def _on_resize(self) -> None:
        super()._on_resize()
        self._build_highlight_map()

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
