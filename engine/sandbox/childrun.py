"""One check request in one sandboxed child, read to its end: the child's events, its output, how it ended.

The client (engine.sandbox.client) starts the child, by a fork of the warm
zygote or a fresh interpreter, and hands its pipes to a ChildRun, which
writes the request, enforces the time limit (and, for a GPU child, the
memory limit, as resident size), and yields typed events: what the child
sent, parsed strictly; `Output` for what it printed, capped; and always last,
one `RunEnd`.
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from engine import events
from engine.sandbox.request import CheckRequest

OUTPUT_CAP = 1 << 20  # per stream; RunEnd.truncated says when a stream was cut here
EVENT_LINE_CAP = 64 << 20
EVENT_TOTAL_CAP = 256 << 20
GRACE_S = 1.0
STARTUP_S = 120.0  # a spawned child's interpreter start-up does not count against the time limit


class ChildRun:
    """One check request in one child.  Iterate `events()` once; `cancel()` from any thread."""

    def __init__(self, request: CheckRequest, info: dict[str, Any], fds: list[int], on_finish: Any = None):
        self.pid: int = info["pid"]
        self.token = secrets.token_hex(16)
        # The secret token and the one writable folder are the client's to choose.
        self.request = request = replace(request, token=self.token, work_dir=info["work_dir"])
        request_w, self.out_r, self.err_r, self.ev_r, self.status_r = fds
        self.started = time.monotonic()
        self.deadline = self.started + request.seconds + STARTUP_S
        self.began: float | None = None  # when the child said it started: the learner's clock
        self.rss_base = 1 << 62  # no memory watch until the child has started
        self.cancelled = False
        self.limit: str | None = None
        self._on_finish = on_finish
        try:
            os.write(request_w, request.to_json())
        except OSError:
            pass  # the child died before reading: its status says why
        finally:
            os.close(request_w)

    def cancel(self) -> None:
        self.cancelled = True
        self._kill()

    def _kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _watch_limits(self, now: float) -> bool:
        """Kill on time or (for a GPU child) resident memory; False once killed and still silent."""
        if now >= self.deadline and self.limit is None and not self.cancelled:
            self.limit = "time"
            self._kill()
            self.deadline = now + GRACE_S
        elif now >= self.deadline:
            return False  # killed and still silent: give up on the pipes
        gpu = self.request.gpu
        if gpu and self.limit is None and _resident_bytes(self.pid) > self.rss_base + (self.request.memory_mb << 20):
            self.limit = "memory"
            self._kill()
        return True

    def _on_child_event(self, event: events.Event) -> None:
        if isinstance(event, events.Started) and self.began is None:
            self.began = time.monotonic()
            self.deadline = self.began + self.request.seconds
            # The budget is on top of what the interpreter and torch already hold.
            self.rss_base = _resident_bytes(self.pid) if self.request.gpu else 0

    def events(self) -> Iterator[events.Event]:
        sel = selectors.DefaultSelector()
        names = {self.out_r: "stdout", self.err_r: "stderr", self.ev_r: "events", self.status_r: "status"}
        for fd in names:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        output = _OutputCap()
        lines = _EventLines()
        status_buf = b""
        finished = False
        child_ms = 0.0
        try:
            while sel.get_map() and not finished:
                now = time.monotonic()
                if not self._watch_limits(now):
                    break
                timeout = max(0.0, min(self.deadline - now, 0.25 if self.request.gpu else 3600))
                for key, _ in sel.select(timeout=timeout):
                    fd = key.fd
                    try:
                        chunk = os.read(fd, 1 << 16)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        sel.unregister(fd)
                        continue
                    name = names[fd]
                    if name in ("stdout", "stderr"):
                        yield from output.take(name, chunk)
                    elif name == "status":
                        status_buf += chunk
                    else:
                        for event in lines.feed(chunk):
                            self._on_child_event(event)
                            if isinstance(event, events.Done) and event.token == self.token:
                                finished = True
                                child_ms = event.elapsed_ms
                            yield event
                        if lines.error and lines.overflowed:
                            self._kill()
                            sel.unregister(fd)
            if finished:
                # The probe flushed its output before `done`: what is in the pipes is all there is.
                for fd in (self.out_r, self.err_r):
                    yield from output.take(names[fd], _drain(fd))
        finally:
            # Measured from when the child started running the request: a spawned interpreter's
            # start-up is reported apart, as it is not the learner's code.
            began = self.began or self.started
            # The child's own clock when it finished: events read in one chunk would read as 0 ms here.
            duration_ms = child_ms if finished and child_ms else round((time.monotonic() - began) * 1000, 2)
            startup_ms = round((began - self.started) * 1000, 2)
            sel.close()
            for fd in names:
                try:
                    os.close(fd)
                except OSError:
                    pass
            if self._on_finish:
                self._on_finish()
        status = _read_status(status_buf)
        yield events.RunEnd(
            exit=status.get("exit"),
            signal=status.get("signal"),
            cpu_s=status.get("cpu_s"),
            maxrss_kb=status.get("maxrss_kb"),
            limit=self.limit,
            cancelled=self.cancelled,
            finished=finished,
            runner_lost=not status and not finished and not self.cancelled and self.limit is None,
            truncated=dict(output.truncated),
            protocol_error=lines.error,
            duration_ms=duration_ms,
            startup_ms=startup_ms,
        )


class _OutputCap:
    """The child's printed output as Output events, at most OUTPUT_CAP bytes per stream."""

    def __init__(self) -> None:
        self.kept = {"stdout": 0, "stderr": 0}
        self.truncated = {"stdout": False, "stderr": False}

    def take(self, stream: str, data: bytes) -> Iterator[events.Output]:
        room = OUTPUT_CAP - self.kept[stream]
        if room > 0 and data:
            self.kept[stream] += min(room, len(data))
            yield events.Output(stream=stream, text=data[:room].decode("utf-8", errors="replace"))
        if len(data) > max(room, 0):
            self.truncated[stream] = True


class _EventLines:
    """Splits the event pipe into lines and parses each strictly; remembers the first fault."""

    def __init__(self) -> None:
        self.buf = b""
        self.total = 0
        self.error: str | None = None
        self.overflowed = False

    def feed(self, chunk: bytes) -> Iterator[events.Event]:
        self.total += len(chunk)
        self.buf += chunk
        if self.total > EVENT_TOTAL_CAP or (b"\n" not in self.buf and len(self.buf) > EVENT_LINE_CAP):
            self.error = "the run sent more event data than allowed"
            self.overflowed = True
            return
        *complete, self.buf = self.buf.split(b"\n")
        for line in complete:
            if not line.strip():
                continue
            try:
                yield events.decode(line, events.CHILD_EVENTS)
            except events.ProtocolError as exc:
                self.error = self.error or f"unreadable data on the event channel ({exc})"


def _read_status(raw: bytes) -> dict[str, Any]:
    """The child's exit report from the status pipe; empty when it never came."""
    if not raw.strip():
        return {}
    try:
        status = json.loads(raw.splitlines()[0])
    except ValueError:
        return {}
    return status if isinstance(status, dict) else {}


def _resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _drain(fd: int) -> bytes:
    """What is left in a pipe now, without waiting."""
    out = b""
    while len(out) <= OUTPUT_CAP:
        try:
            chunk = os.read(fd, 1 << 16)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        out += chunk
    return out
