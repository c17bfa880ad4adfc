"""The output pane: what the learner's code printed, the latest lines kept."""

from __future__ import annotations

from textual.geometry import Size
from textual.widgets import Log

OUTPUT_LINES = 5000


class OutputLog(Log):
    """Textual's Log, with its line cap that keeps the view on the text.

    Log.write sets the scrollable height before it drops the oldest lines
    past `max_lines`, and never after, so once a run printed more than the
    cap the view scrolled past the end of the text and showed a blank pane.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_lines", OUTPUT_LINES)
        super().__init__(**kwargs)

    def _prune_max_lines(self) -> None:
        super()._prune_max_lines()
        self.virtual_size = Size(self._width, self.line_count)
