"""One press of F5: a check run with an id, a way to stop it from any thread, and its verdict.

The screen that starts a check owns its CheckRun; the worker thread that
decides it only attaches the sandboxed child and fills in the verdict.
Messages about a run carry its id, so a screen drops what an older run
(stopped, or replaced by a time-out's grading) still posts.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.checks.checker import Verdict

_ids = itertools.count(1)


class CheckRun:
    def __init__(self, lesson_id: str, code: str, *, variant: int = 0, mode: str = "practice") -> None:
        self.id = next(_ids)
        self.lesson_id = lesson_id
        self.code = code
        self.variant = variant
        self.mode = mode
        self.verdict: Verdict | None = None
        self._lock = threading.Lock()
        self._child: Any = None  # engine.sandbox.client.ChildRun, once started
        self._cancelled = False

    def attach(self, child: Any) -> None:
        """The sandboxed child now running this check (called from the worker thread)."""
        with self._lock:
            self._child = child
            cancelled = self._cancelled
        if cancelled:  # stopped before its child existed: stop the child as soon as it does
            child.cancel()

    def cancel(self) -> None:
        """Stop the run from any thread; its verdict comes back with `cancelled` set."""
        with self._lock:
            self._cancelled = True
            child = self._child
        if child is not None:
            child.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled
