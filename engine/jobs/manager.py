"""Starting training jobs and reading their events, for the CLI and the app alike.

A job is a spawned `python -m engine.jobs.worker` process (never a fork: it
may touch CUDA).  Its events arrive as JSON lines on a pipe of their own;
`cancel()` asks it to stop at the next step (SIGTERM), and kills it if it
does not within a few seconds.
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
from typing import Any, Iterator

from engine import paths
from engine.sandbox.client import ROOT

CANCEL_GRACE_S = 5.0


def checkpoint_dir(job: str) -> Path:
    return paths.home() / "runs" / job


@dataclass
class JobRun:
    job: str
    device: str | None = None
    epochs: int | None = None
    resume: bool = False
    amp: bool = False
    seed: int = 0
    limit: int | None = None
    checkpoint_every: int = 1
    proc: subprocess.Popen | None = field(default=None, repr=False)
    events_seen: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def start(self) -> "JobRun":
        read_fd, write_fd = os.pipe()
        config = {
            "job": self.job, "device": self.device, "resume": self.resume, "amp": self.amp, "seed": self.seed,
            "checkpoint_dir": str(checkpoint_dir(self.job)), "checkpoint_every": self.checkpoint_every,
            "events_fd": write_fd, "overrides": {"epochs": self.epochs, "limit": self.limit},
        }  # fmt: skip
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.jobs.worker", json.dumps(config)],
            pass_fds=[write_fd], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        os.close(write_fd)
        self._events = os.fdopen(read_fd, "rb")
        return self

    def events(self) -> Iterator[dict[str, Any]]:
        """Every event until the job ends; the last one is always `end`."""
        assert self.proc is not None, "start() first"
        ended = False
        for raw in self._events:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            self.events_seen.append(event)
            ended = ended or event.get("type") == "end"
            yield event
        self._events.close()
        code = self.proc.wait()
        if not ended:
            err = (self.proc.stderr.read() if self.proc.stderr else b"").decode(errors="replace").strip()
            event = {"type": "end", "status": "failed", "error": err.splitlines()[-1] if err else f"exit code {code}"}
            self.events_seen.append(event)
            yield event

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

    @property
    def summary(self) -> dict[str, Any] | None:
        return next((e for e in reversed(self.events_seen) if e.get("type") == "end"), None)


def run_to_end(run: JobRun, timeout: float | None = None) -> list[dict[str, Any]]:
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
    run: JobRun
    status: str = "starting"
    header: dict[str, Any] = field(default_factory=dict)
    last_step: dict[str, Any] = field(default_factory=dict)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    series: Any = None

    @property
    def fraction(self) -> float:
        """How much of the job is done, from 0 to 1."""
        if self.summary and self.summary.get("status") == "done":
            return 1.0
        total_epochs = self.header.get("epochs") or 0
        steps = self.header.get("steps_per_epoch") or 0
        if not total_epochs or not steps:
            return 0.0
        epoch = self.last_step.get("epoch", len(self.epochs))
        step = self.last_step.get("step", 0) + 1 if self.last_step else 0
        return min(1.0, (epoch * steps + step) / (total_epochs * steps))


class JobManager:
    """Jobs that run in the background while the learner works elsewhere."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: list[TrackedRun] = []

    def start(self, job: str, **options: Any) -> TrackedRun:
        from engine.jobs.series import Series

        run = JobRun(job, **options)
        tracked = TrackedRun(id=len(self._runs) + 1, run=run, series=Series())
        with self._lock:
            self._runs.append(tracked)
        run.start()
        threading.Thread(target=self._follow, args=(tracked,), daemon=True).start()
        return tracked

    def _follow(self, tracked: TrackedRun) -> None:
        for event in tracked.run.events():
            with self._lock:
                kind = event.get("type")
                if kind == "job":
                    tracked.header = event
                    tracked.status = "running"
                elif kind == "step":
                    tracked.last_step = event
                elif kind == "epoch":
                    tracked.epochs.append(event)
                elif kind == "metric":
                    tracked.series.add({"step": event.get("step"), **(event.get("values") or {})})
                elif kind == "end":
                    tracked.summary = event
                    tracked.status = event.get("status", "failed")

    def snapshot(self) -> list[TrackedRun]:
        """Copies safe to read on the UI thread."""
        with self._lock:
            return [
                TrackedRun(t.id, t.run, t.status, dict(t.header), dict(t.last_step), list(t.epochs),
                           dict(t.summary) if t.summary else None, t.series.copy())
                for t in self._runs
            ]  # fmt: skip

    def cancel(self, run_id: int) -> None:
        with self._lock:
            tracked = next((t for t in self._runs if t.id == run_id), None)
        if tracked is not None:
            tracked.run.cancel()

    def cancel_all(self) -> None:
        for tracked in self.snapshot():
            if tracked.status in ("starting", "running"):
                tracked.run.cancel()
