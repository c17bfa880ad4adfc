"""The outcome of one run, read strictly from its events: what a verdict rests on.

`collect` folds a run's events (engine.events) into an Outcome: values only
with the run's token, once each and before `done`; `problem()` says in a
sentence why a run ended badly, never blaming the learner for the checker's
own failure.
"""

from __future__ import annotations

import errno
import signal as signals
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from engine import events
from engine.sandbox.confine import VIOLATIONS
from engine.sandbox.request import CheckRequest

# Receives, as they arrive, the events a screen shows live: Output, Metric, Progress, Violation.
EventSink = Callable[[events.Event], None]
LIVE_EVENTS = (events.Output, events.Metric, events.Progress, events.Violation)


@dataclass
class Outcome:
    results: dict[tuple[int, int], events.Result] = field(default_factory=dict)
    module_error: dict[str, Any] | None = None
    probe_error: str | None = None
    loaded: bool = False
    done: bool = False
    tampered: str | None = None
    violations: list[str] = field(default_factory=list)
    layers: dict[str, str] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    metrics: list[dict[str, Any]] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    timing: events.Timing | None = None
    end: events.RunEnd = field(default_factory=events.RunEnd)

    def problem(self, request: CheckRequest) -> str | None:
        """Why the run ended badly, in a sentence, or None (a cancelled run says so by its flag)."""
        end = self.end
        if end.cancelled:
            return None
        if self.probe_error:
            return f"the checker itself failed, not your code: {self.probe_error} (run `tutor doctor`)"
        if self.violations:
            return "your code " + self.violations[0]
        if end.limit == "time":
            return f"your code ran longer than {request.seconds:g} s"
        if end.limit == "memory":
            return f"your code used more than {_mib(request.memory_mb)} of memory"
        by_signal = _signal_problem(end.signal, request)
        if by_signal:
            return by_signal
        err = self.module_error or {}
        if err and _is_memory_error(err):
            return f"your code used more than {_mib(request.memory_mb)} of memory"
        if err.get("errno") == errno.EFBIG:
            return "your code wrote a file larger than 64 MiB"
        if err.get("errno") == errno.EMFILE:
            return "your code opened too many files at once"
        if end.protocol_error:
            return f"the check could not be trusted: {end.protocol_error}"
        if self.tampered:
            return f"the check could not be trusted: {self.tampered}"
        if end.runner_lost:
            return "the runner stopped unexpectedly (did your code kill it?)"
        if not self.done and not self.module_error:
            return f"your code exited before the checks finished (exit code {end.exit})"
        return None


def _signal_problem(sig: int | None, request: CheckRequest) -> str | None:
    if not sig:
        return None
    known = {
        signals.SIGXCPU: f"your code used more than {request.seconds:g} s of CPU time",
        signals.SIGSEGV: "your code crashed the interpreter (segmentation fault)",
        signals.SIGXFSZ: "your code wrote a file larger than 64 MiB",
        signals.SIGSYS: "your code made a system call the sandbox forbids (a new process, a socket or a signal to another process)",
    }
    return known.get(sig) or f"your code was killed by {signals.Signals(sig).name}"


def _mib(mb: int) -> str:
    return f"{mb / 1024:g} GiB" if mb >= 1024 else f"{mb} MiB"


def _is_memory_error(err: dict[str, Any]) -> bool:
    text = f"{err.get('type')} {err.get('message')}"
    return "MemoryError" in text or "can't allocate memory" in text or "Cannot allocate memory" in text


def collect(stream: Iterable[events.Event], token: str, sink: EventSink | None = None) -> Outcome:
    """Fold one run's events into an Outcome; every event type of a check is handled here."""
    out = Outcome()
    stdout: list[str] = []
    stderr: list[str] = []
    for event in stream:
        if sink and isinstance(event, LIVE_EVENTS):
            sink(event)
        match event:
            case events.Output(stream="stdout", text=text):
                stdout.append(text)
            case events.Output(text=text):
                stderr.append(text)
            case events.Metric(step=step, values=values):
                if len(out.metrics) < 100_000:
                    out.metrics.append({"step": step, **values})
            case events.SandboxLayers(layers=layers):
                out.layers = {str(k): str(v) for k, v in layers.items()}
            case events.Violation(kind=kind):
                out.violations.append(VIOLATIONS.get(kind, "did something forbidden"))
            case events.Timing():
                out.timing = event
            case events.Trace(entries=entries):
                out.trace = entries[:500]  # advice only: what the learner's lines made
            case events.ProbeError(error=error):
                out.probe_error = out.probe_error or error
            case events.RunEnd():
                out.end = event
            case events.Loaded() | events.ModuleError() | events.Result() | events.Done():
                _take_secured(out, event, token)
            case events.Started() | events.Progress():
                pass  # the client's clock and the live progress bar: nothing to decide
    out.stdout = "".join(stdout)
    out.stderr = "".join(stderr)
    return out


def _take_secured(out: Outcome, event: Any, token: str) -> None:
    """An event a verdict rests on: only with the run's token, once, and before `done`."""
    if event.token != token:
        out.tampered = "a message on the checker's channel was forged"
    elif out.done:
        out.tampered = "messages arrived after the run finished"
    elif isinstance(event, events.Result):
        key = (event.check, event.case)
        if key in out.results:
            out.tampered = "a result arrived twice"
        out.results[key] = event
    elif isinstance(event, events.ModuleError):
        out.module_error = event.error
    elif isinstance(event, events.Loaded):
        out.loaded = True
    else:
        out.done = True
