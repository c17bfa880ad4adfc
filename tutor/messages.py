"""Messages that carry a check run's progress from a worker thread to the UI thread.

Each carries the id of the CheckRun (tutor.core.checkrun) it is about: the
screen drops messages from a run that is no longer its current one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


@dataclass
class RunActivity(Message):
    """A batch of output and metrics; posted at most every few tens of milliseconds."""

    run_id: int = 0
    output: list[tuple[str, str]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    progress: tuple[int, int] | None = None  # the latest (done, total) from tutor.progress


@dataclass
class RunFinished(Message):
    run_id: int
    lesson_id: str
    verdict: Any  # engine.checks.checker.Verdict; typed loosely so this module stays import-light


@dataclass
class SpeedReady(Message):
    """After a pass: the learner's code timed against the reference on the lesson's larger input."""

    run_id: int
    lesson_id: str
    speed: dict[str, Any]


@dataclass
class RunFailed(Message):
    run_id: int
    lesson_id: str
    error: str


@dataclass
class JobUpdate(Message):
    """A background training job has news, from its reader thread.

    One message per batch of news, however many events: the manager sends
    the next only once the Runs screen has read this batch (TrainingManager.read).
    """

    run_id: int


@dataclass
class CatalogLoaded(Message):
    """The lessons are read (off the UI thread); `errors` are the packs' authoring errors."""

    errors: list[Any]


@dataclass
class AnswerReady(Message):
    """A quiz's answer, computed on a worker (the truth runs once, in the sandbox): show it."""

    lesson_id: str
    text: str
