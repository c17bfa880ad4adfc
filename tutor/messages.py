"""Messages that carry a run's progress from a worker thread to the UI thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


@dataclass
class RunActivity(Message):
    """A batch of output and metrics; posted at most every few tens of milliseconds."""

    output: list[tuple[str, str]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    progress: tuple[int, int] | None = None  # the latest (done, total) from tutor.progress


@dataclass
class RunFinished(Message):
    lesson_id: str
    verdict: Any  # engine.checks.checker.Verdict; typed loosely so this module stays import-light


@dataclass
class RunFailed(Message):
    lesson_id: str
    error: str
