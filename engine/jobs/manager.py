"""Starting training jobs and reading their events, for the CLI and the app alike.

A job is a spawned `python -m engine.jobs.worker` process (never a fork: it
may touch CUDA).  Its events (engine.events.JOB_EVENTS) arrive as lines on a
pipe of their own; `cancel()` asks it to stop at the next step (SIGTERM),
and kills it if it does not within a few seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from engine import events, paths
from engine.jobs.series import Series

CANCEL_GRACE_S = 5.0


def checkpoint_dir(job: str) -> Path:
    return paths.home() / "runs" / job


@dataclass
class TrainingRun:
    """One training job in its own process.  Iterate `events()` once; `cancel()` from any thread."""

    job: str
    device: str | None = None
    epochs: int | None = None
    resume: bool = False
    amp: bool = False
    seed: int = 0
    limit: int | None = None
    checkpoint_every: int = 1
    schedule: str | None = None  # None: the job's own
    proc: subprocess.Popen | None = field(default=None, repr=False)
    summary: events.JobEnd | None = field(default=None, repr=False)

    @property
    def run_name(self) -> str:
        """The job, or the job under another schedule: each keeps its own checkpoints to resume."""
        return self.job if self.schedule is None else f"{self.job}-{self.schedule}"

    def start(self) -> TrainingRun:
        read_fd, write_fd = os.pipe()
        config = {
            "job": self.job, "device": self.device, "resume": self.resume, "amp": self.amp, "seed": self.seed,
            "checkpoint_dir": str(checkpoint_dir(self.run_name)), "checkpoint_every": self.checkpoint_every,
            "events_fd": write_fd, "overrides": {"epochs": self.epochs, "limit": self.limit, "schedule": self.schedule},
        }  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.jobs.worker", json.dumps(config)],
            pass_fds=[write_fd], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=paths.child_env(), cwd=paths.SOURCE_ROOT, start_new_session=True,
        )  # fmt: skip
        os.close(write_fd)
        self._events = os.fdopen(read_fd, "rb")
        return self

    def events(self) -> Iterator[events.Event]:
        """Every event until the job ends; the last one is always a JobEnd."""
        assert self.proc is not None, "start() first"
        bad_line: str | None = None
        for raw in self._events:
            try:
                event = events.decode(raw, events.JOB_EVENTS)
            except events.ProtocolError as exc:
                bad_line = bad_line or str(exc)
                continue
            if isinstance(event, events.JobEnd):
                self.summary = event
            yield event
        self._events.close()
        code = self.proc.wait()
        if self.summary is None:
            err = (self.proc.stderr.read() if self.proc.stderr else b"").decode(errors="replace").strip()
            reason = err.splitlines()[-1] if err else bad_line or f"the worker exited with code {code}"
            self.summary = events.JobEnd(status="failed", error=reason)
            yield self.summary

    def cancel(self) -> None:
        """Ask the job to stop cleanly; kill it if it has not within a few seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)

        def reaper(proc: subprocess.Popen) -> None:
            try:
                proc.wait(timeout=CANCEL_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

        threading.Thread(target=reaper, args=(self.proc,), daemon=True).start()


def run_to_end(run: TrainingRun, timeout: float | None = None) -> list[events.Event]:
    """Start a job and collect its events (for tests and scripts)."""
    run.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    out = []
    for event in run.events():
        out.append(event)
        if deadline and time.monotonic() > deadline:
            run.cancel()
            deadline = None
    return out


@dataclass
class TrackedRun:
    """What the app shows of one job; updated by its reader thread under the manager's lock."""

    id: int
    run: TrainingRun
    status: str = "starting"
    header: events.JobStarted | None = None
    last_step: events.Step | None = None
    epochs: list[events.EpochDone] = field(default_factory=list)
    summary: events.JobEnd | None = None
    series: Series = field(default_factory=Series)
    # News not yet read with `TrainingManager.read`: whether anything changed, and the curves.
    unread: bool = False
    new_points: bool = False

    @property
    def fraction(self) -> float:
        """How much of the job is done, from 0 to 1."""
        if self.summary and self.summary.status == "done":
            return 1.0
        if self.header is None or not self.header.epochs or not self.header.steps_per_epoch:
            return 0.0
        steps = self.header.steps_per_epoch
        epoch = self.last_step.epoch if self.last_step else len(self.epochs)
        step = self.last_step.step + 1 if self.last_step else 0
        return min(1.0, (epoch * steps + step) / (self.header.epochs * steps))

    def take(self, event: events.Event) -> None:
        """Fold one event in (the manager holds its lock)."""
        match event:
            case events.JobStarted():
                self.header = event
                self.status = "running"
            case events.Step():
                self.last_step = event
            case events.EpochDone():
                self.epochs.append(event)
            case events.Metric(step=step, values=values):
                self.series.add({"step": step, **values})
            case events.JobEnd(status=status):
                self.summary = event
                self.status = status
            case events.Checkpoint():
                pass  # the file is on disk; nothing to show until the run ends


# Told, on a run's reader thread, that the run has news: (run id).  Once per batch of news,
# not per event: the next notice waits until the news was read (`TrainingManager.read`).
JobListener = Callable[[int], None]


class TrainingManager:
    """Jobs that run in the background while the learner works elsewhere."""

    def __init__(self, listener: JobListener | None = None) -> None:
        self._lock = threading.Lock()
        self._runs: list[TrackedRun] = []
        self.listener = listener

    def start(self, job: str, **options: Any) -> TrackedRun:
        run = TrainingRun(job, **options)
        with self._lock:
            tracked = TrackedRun(id=len(self._runs) + 1, run=run)
            self._runs.append(tracked)
        run.start()
        threading.Thread(target=self._follow, args=(tracked,), daemon=True, name=f"job-{tracked.id}").start()
        return tracked

    def _follow(self, tracked: TrackedRun) -> None:
        for event in tracked.run.events():
            with self._lock:
                tracked.take(event)
                notify = not tracked.unread  # a short job sends tens of events a second: one notice
                tracked.unread = True
                tracked.new_points |= isinstance(event, events.Metric)
            if notify and self.listener is not None:
                self.listener(tracked.id)

    def snapshot(self, run_id: int | None = None, series: bool = True) -> list[TrackedRun]:
        """Copies safe to read on the UI thread (of one run, or of all); `series=False` skips the curves."""
        with self._lock:
            return [self._copy(t, series) for t in self._runs if run_id is None or t.id == run_id]

    def read(self, run_id: int, series: bool = True) -> TrackedRun | None:
        """A copy of one run with its news, which counts as read: the next event notifies again."""
        with self._lock:
            tracked = next((t for t in self._runs if t.id == run_id), None)
            if tracked is None:
                return None
            copy = self._copy(tracked, series)
            copy.unread, copy.new_points = tracked.unread, tracked.new_points
            tracked.unread = tracked.new_points = False
            return copy

    @staticmethod
    def _copy(t: TrackedRun, series: bool) -> TrackedRun:
        return TrackedRun(t.id, t.run, t.status, t.header, t.last_step, list(t.epochs), t.summary,
                          t.series.copy() if series else Series())  # fmt: skip

    def cancel(self, run_id: int) -> None:
        with self._lock:
            tracked = next((t for t in self._runs if t.id == run_id), None)
        if tracked is not None:
            tracked.run.cancel()

    def cancel_all(self) -> None:
        for tracked in self.snapshot():
            if tracked.status in ("starting", "running"):
                tracked.run.cancel()
