"""A live chart of whatever metrics a run logs, drawn with plotext.

Data lives in a bounded `engine.jobs.series.Series`; redraws happen on a timer,
a few times a second at most, and only when something changed.
"""

from __future__ import annotations

import math
from typing import Any

from textual_plotext import PlotextPlot

from engine.jobs.series import Series

REDRAW_S = 0.25


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

    def on_mount(self) -> None:
        self.set_interval(self.redraw_s, self._redraw_if_dirty)
        self._draw()

    @property
    def series(self) -> dict[str, tuple[list[float], list[float]]]:
        return self.data.lines

    def clear(self) -> None:
        self.data.clear()
        self._dirty = True

    def add(self, entry: dict[str, Any]) -> None:
        self.data.add(entry)
        self._dirty = True

    def show(self, data: Series) -> None:
        """Replace what is drawn (the Runs screen hands over a job's series)."""
        self.data = data
        self._dirty = True

    def _redraw_if_dirty(self) -> None:
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
            if points:
                plt.plot([p[0] for p in points], [p[1] for p in points], label=name, marker="braille")
        self.refresh()
