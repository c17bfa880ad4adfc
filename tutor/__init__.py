"""tutor: a terminal tutor for PyTorch fluency.

Learner code may `import tutor` and call `tutor.log(step=..., loss=...)`,
`tutor.progress(done, total)` and use `tutor.data.<generator>`.  Inside a
check these go to the live chart; run as a plain script they print a line
(log) or do nothing (progress), so the same file works in both places.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def log(step: int | None = None, **metrics: float) -> None:
    """Outside tutor's runner: print the metrics, so plain `python file.py` shows them."""
    shown = " ".join(f"{k}={float(v):.4g}" for k, v in metrics.items())
    print(f"[tutor.log] step={step} {shown}")


def progress(done: int, total: int, label: str = "") -> None:
    """Outside tutor's runner there is no progress bar to move."""


def __getattr__(name: str) -> Any:
    if name == "data":
        from engine.jobs import toy

        return toy
    raise AttributeError(name)
