"""A live chart of whatever metrics a run logs, drawn with plotext.

Data lives in a bounded `engine.jobs.series.Series`; redraws happen on a timer,
a few times a second at most, and only when something changed.  Drawing is
not cheap (plotext builds braille curves in Python: about 75 ms for four
lines of 100 points), so each line is thinned to DRAWN_POINTS for drawing,
the next redraw waits long enough that charts take at most BUSY_SHARE of the
UI thread, and the drawn figure is kept: PlotextPlot builds the whole plot on
every paint, and a screen repaints a chart whenever anything near it moves.
"""

from __future__ import annotations

import math
import time
from typing import Any

from textual_plotext import PlotextPlot

from engine.jobs.series import Series

REDRAW_S = 0.25
DRAWN_POINTS = 100  # per line: more adds cost (plotext draws braille in Python), not detail
BUSY_SHARE = 0.03  # a chart may keep the UI thread busy this share of the time, at most


class MetricsChart(PlotextPlot):
    DEFAULT_CSS = """
    MetricsChart { height: 1fr; min-height: 8; }
    """

    def __init__(
        self,
        title: str = "metrics",
        empty: str = "nothing logged yet (tutor.log(step=..., loss=...))",
        x_label: str = "step",
        redraw_s: float = REDRAW_S,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.chart_title = title
        self.empty = empty
        self.x_label = x_label
        self.data = Series()
        self._dirty = True
        self.redraw_s = redraw_s
        self._version = 0  # bumped by each _draw: the kept figure is good while it and the size hold
        self._kept: tuple[tuple[int, Any, str], Any] | None = None
        self._next_draw = 0.0  # monotonic time before which a redraw waits

    _timer: Any = None  # the pending redraw, if one is scheduled: an idle chart wakes nobody

    def on_mount(self) -> None:
        self._draw()

    @property
    def series(self) -> dict[str, tuple[list[float], list[float]]]:
        return self.data.lines

    def clear(self) -> None:
        self.data.clear()
        self._changed()

    def add(self, entry: dict[str, Any]) -> None:
        self.data.add(entry)
        self._changed()

    def show(self, data: Series) -> None:
        """Replace what is drawn (the Runs screen hands over a job's series)."""
        self.data = data
        self._changed()

    def _changed(self) -> None:
        """Schedule one redraw: after `redraw_s`, and no sooner than the last draw's cost allows."""
        self._dirty = True
        if self._timer is None and self.is_mounted:
            delay = max(self.redraw_s, self._next_draw - time.monotonic())
            self._timer = self.set_timer(delay, self._redraw)

    def _redraw(self) -> None:
        self._timer = None
        if self._dirty:
            self._dirty = False
            self._draw()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.chart_title if self.data.lines else f"{self.chart_title}: {self.empty}")
        plt.xlabel(self.x_label)
        for name, (xs, ys) in self.data.lines.items():
            points = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
            points = points[:: max(1, math.ceil(len(points) / DRAWN_POINTS))] + points[-1:]  # the newest always
            if points:
                plt.plot([p[0] for p in points], [p[1] for p in points], label=name, marker="braille")
        self._version += 1
        self.refresh()

    def render(self) -> Any:
        key = (self._version, self.size, self.app.theme)
        if self._kept is None or self._kept[0] != key:
            started = time.monotonic()
            self._kept = (key, super().render())
            cost = time.monotonic() - started
            self._next_draw = started + max(self.redraw_s, cost / BUSY_SHARE)
        return self._kept[1]
