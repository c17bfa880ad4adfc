"""A live chart of whatever metrics a run logs, drawn with plotext.

Points are kept bounded: when a series passes MAX_POINTS it is thinned to
half by keeping every other point, so a flood of metrics neither grows
memory without bound nor slows the redraw.  Redraws happen on a timer,
only when something changed.
"""

from __future__ import annotations

from typing import Any

from textual_plotext import PlotextPlot

MAX_POINTS = 1000
REDRAW_S = 0.25


class MetricsChart(PlotextPlot):
    DEFAULT_CSS = """
    MetricsChart { height: 1fr; min-height: 8; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.series: dict[str, tuple[list[float], list[float]]] = {}
        self._dirty = False
        self._count = 0

    def on_mount(self) -> None:
        self.set_interval(REDRAW_S, self._redraw_if_dirty)
        self._draw()

    def clear(self) -> None:
        self.series.clear()
        self._count = 0
        self._dirty = True

    @property
    def point_count(self) -> int:
        return sum(len(xs) for xs, _ in self.series.values())

    def add(self, entry: dict[str, Any]) -> None:
        step = entry.get("step")
        self._count += 1
        x = float(step) if isinstance(step, (int, float)) else float(self._count)
        for name, value in entry.items():
            if name == "step" or not isinstance(value, (int, float)):
                continue
            xs, ys = self.series.setdefault(name, ([], []))
            xs.append(x)
            ys.append(float(value))
            if len(xs) > MAX_POINTS:
                del xs[1::2]
                del ys[1::2]
        self._dirty = True

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self._dirty = False
            self._draw()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("metrics" if self.series else "metrics: call tutor.log(step=..., loss=...) to plot")
        plt.xlabel("step")
        for name, (xs, ys) in self.series.items():
            finite = [(x, y) for x, y in zip(xs, ys) if y == y and abs(y) != float("inf")]
            if finite:
                plt.plot([p[0] for p in finite], [p[1] for p in finite], label=name, marker="braille")
        self.refresh()
