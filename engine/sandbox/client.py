"""The client side of the runner: start checks in sandboxed children and read their events.

A `Runner` owns one warm zygote (see engine.sandbox.zygote), started in the
background on first use and restarted if it dies.  `Runner(warm=False)`
spawns a fresh zygote per check; `Runner(spawn=True)` a fresh interpreter per
check (the path for lessons that may use a GPU).

`ChildRun.events()` yields typed events of engine.events.CHECK_EVENTS: what
the child sent (parsed strictly, refused whole when malformed), `Output` for
what it printed and, always last, one `RunEnd` saying how it ended.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from engine import events, paths
from engine.sandbox.confine import BWRAP_ENV
from engine.sandbox.request import CheckRequest

OUTPUT_CAP = 1 << 20  # per stream; RunEnd.truncated says when a stream was cut here
EVENT_LINE_CAP = 64 << 20
EVENT_TOTAL_CAP = 256 << 20
GRACE_S = 1.0
STARTUP_S = 120.0  # a spawned child's interpreter start-up does not count against the time limit

ROOT = paths.SOURCE_ROOT


class RunnerError(RuntimeError):
    pass


def bwrap_prefix(jobs_root: str) -> list[str]:
    """bubblewrap as the outermost layer, where it is installed and works here.

    The whole filesystem is read-only but for the jobs folder, and the network
    namespace is empty.  (No tmpfs over /tmp: the project itself may live
    there.)  The pid namespace is shared on purpose: the client signals
    children by the pids the zygote reports.
    """
    if os.environ.get(BWRAP_ENV) == "0":
        return []
    from engine.sandbox.confine import bwrap_usable  # lazily: it probes the system once

    path = bwrap_usable()
    if not path:
        return []
    return [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--bind", jobs_root, jobs_root,
            "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--"]  # fmt: skip


class ZygoteClient:
    """Our end of one zygote process (engine.sandbox.zygote.ZygoteServer is the other)."""

    def __init__(self, outer: bool = True) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.jobs_root = tempfile.mkdtemp(prefix="tutor-jobs-")
        env = paths.child_env(TUTOR_JOBS_ROOT=self.jobs_root, TMPDIR=self.jobs_root)
        prefix = bwrap_prefix(self.jobs_root) if outer else []
        self.outer = bool(prefix)
        env[BWRAP_ENV] = "1" if prefix else "0"
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "engine.sandbox.zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()
        self._ready = False
        self.pid = self.proc.pid

    def wait_ready(self, timeout: float = 120.0) -> None:
        if self._ready:
            return
        self.sock.settimeout(timeout)
        try:
            line = self._recv_line()
        except (TimeoutError, OSError) as exc:
            raise RunnerError(f"the runner did not start: {exc}") from exc
        finally:
            self.sock.settimeout(None)
        if not line:
            raise RunnerError("the runner exited while starting")
        # Under bubblewrap the process we started is bwrap; this is the zygote itself.
        self.pid = int(json.loads(line).get("pid") or self.proc.pid)
        self._ready = True

    def _recv_line(self) -> bytes:
        data = b""
        while not data.endswith(b"\n"):
            chunk = self.sock.recv(4096)
            if not chunk:
                return data
            data += chunk
        return data

    def alive(self) -> bool:
        return self.proc.poll() is None

    def take_child(self) -> tuple[dict[str, Any], list[int]]:
        with self.lock:
            self.wait_ready()
            self.sock.sendall(b'{"op": "run"}\n')
            msg, fds, _flags, _addr = socket.recv_fds(self.sock, 4096, 5)
        if not msg or len(fds) != 5:
            for fd in fds:
                os.close(fd)
            raise RunnerError("the runner stopped unexpectedly")
        return json.loads(msg), fds

    def stop(self) -> None:
        try:
            self.sock.sendall(b'{"op": "stop"}\n')
        except OSError:
            pass
        self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.jobs_root, ignore_errors=True)


def spawn_child() -> tuple[dict[str, Any], list[int]]:
    """A fresh interpreter serving one job, with the same pipes a zygote child has.

    Its exit status reaches the status pipe from a small waiter thread, so a
    `ChildRun` reads a spawned child exactly like a forked one.
    """
    job_r, job_w = os.pipe()
    ev_r, ev_w = os.pipe()
    status_r, status_w = os.pipe()
    job_dir = tempfile.mkdtemp(prefix="tutor-job-")
    env = paths.child_env()
    env.setdefault("USER", getpass.getuser())  # so torch never looks the user up through a socket
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.sandbox.spawned", str(job_r), str(ev_w)],
        pass_fds=[job_r, ev_w], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    os.close(job_r)
    os.close(ev_w)

    def wait() -> None:
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        report = {
            "exit": proc.returncode,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
            "maxrss_kb": usage.ru_maxrss,
        }
        try:
            os.write(status_w, json.dumps(report).encode() + b"\n")
        except OSError:
            pass  # the client finished with this run already
        finally:
            os.close(status_w)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            shutil.rmtree(job_dir, ignore_errors=True)

    threading.Thread(target=wait, daemon=True).start()
    out_r, err_r = os.dup(proc.stdout.fileno()), os.dup(proc.stderr.fileno())
    proc.stdout.close()
    proc.stderr.close()
    return {"pid": proc.pid, "job_dir": job_dir}, [job_w, out_r, err_r, ev_r, status_r]


def _start_zygote() -> ZygoteClient:
    """A zygote inside bubblewrap when that works here; without it when bubblewrap fails to start one."""
    zygote = ZygoteClient()
    if zygote.outer:
        try:
            zygote.wait_ready()
        except RunnerError:
            zygote.stop()
            os.environ[BWRAP_ENV] = "0"  # remember for this process: the kernel layers still confine
            zygote = ZygoteClient(outer=False)
    return zygote


class Runner:
    """Runs check requests; warm by default.  Thread-safe; several runs may be in flight.

    `spawn=True` starts a fresh interpreter per request instead of forking: the
    path for lessons that may use a GPU (CUDA is never initialised in a
    process that forks).
    """

    def __init__(self, warm: bool = True, spawn: bool = False):
        self.warm = warm and not spawn
        self.spawn = spawn
        self._zygote: ZygoteClient | None = None
        self._lock = threading.Lock()

    def start_background(self) -> None:
        """Start the zygote now (it imports torch in its own process); returns at once."""
        if self.warm:
            self._ensure()

    def _ensure(self) -> ZygoteClient:
        with self._lock:
            if self._zygote is None or not self._zygote.alive():
                if self._zygote is not None:
                    self._zygote.stop()
                self._zygote = _start_zygote()
            return self._zygote

    def start(self, request: CheckRequest) -> ChildRun:
        if self.spawn:
            info, fds = spawn_child()
            return ChildRun(request, info, fds)
        if self.warm:
            zygote = self._ensure()
            try:
                info, fds = zygote.take_child()
            except (RunnerError, OSError):
                with self._lock:  # it died between jobs: start afresh once
                    self._zygote = None
                zygote = self._ensure()
                info, fds = zygote.take_child()
            return ChildRun(request, info, fds)
        zygote = _start_zygote()
        info, fds = zygote.take_child()
        return ChildRun(request, info, fds, on_finish=zygote.stop)

    def run(self, request: CheckRequest) -> list[events.Event]:
        return list(self.start(request).events())

    def close(self) -> None:
        with self._lock:
            if self._zygote is not None:
                self._zygote.stop()
                self._zygote = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ChildRun:
    """One check request in one child.  Iterate `events()` once; `cancel()` from any thread."""

    def __init__(self, request: CheckRequest, info: dict[str, Any], fds: list[int], on_finish: Any = None):
        self.pid: int = info["pid"]
        self.token = secrets.token_hex(16)
        # The secret token and the one writable folder are the client's to choose.
        self.request = request = replace(request, token=self.token, job_dir=info["job_dir"])
        job_w, self.out_r, self.err_r, self.ev_r, self.status_r = fds
        self.started = time.monotonic()
        self.deadline = self.started + request.seconds + STARTUP_S
        self.began: float | None = None  # when the child said it started: the learner's clock
        self.rss_base = 1 << 62  # no memory watch until the child has started
        self.cancelled = False
        self.limit: str | None = None
        self._on_finish = on_finish
        try:
            os.write(job_w, request.to_json())
        except OSError:
            pass  # the child died before reading: its status says why
        finally:
            os.close(job_w)

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
