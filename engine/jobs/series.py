"""Metric series kept to a bounded size: the live chart's data, for checks and jobs alike.

When a series passes `limit` points it is thinned to half by keeping every
other point, so a flood of metrics neither grows memory without bound nor
slows the redraw, while the curve's shape stays.
"""

from __future__ import annotations

from typing import Any

MAX_POINTS = 1000


class Series:
    def __init__(self, limit: int = MAX_POINTS) -> None:
        self.limit = limit
        self.lines: dict[str, tuple[list[float], list[float]]] = {}
        self._count = 0

    def clear(self) -> None:
        self.lines.clear()
        self._count = 0

    def __len__(self) -> int:
        return sum(len(xs) for xs, _ in self.lines.values())

    def add(self, entry: dict[str, Any]) -> None:
        """One metrics entry: {"step": 3, "loss": 0.2, "acc": 0.9}; a missing step counts entries."""
        self._count += 1
        step = entry.get("step")
        x = float(step) if isinstance(step, (int, float)) else float(self._count)
        for name, value in entry.items():
            if name == "step" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            xs, ys = self.lines.setdefault(name, ([], []))
            xs.append(x)
            ys.append(float(value))
            if len(xs) > self.limit:
                del xs[1::2]
                del ys[1::2]

    def copy(self) -> Series:
        out = Series(self.limit)
        out.lines = {k: (list(xs), list(ys)) for k, (xs, ys) in self.lines.items()}
        out._count = self._count
        return out
