"""The client side of the runner: start jobs in sandboxed children and read their events.

A `Runner` owns one warm zygote (see engine.sandbox.zygote), started in the
background on first use and restarted if it dies.  `Runner(warm=False)`
spawns a fresh interpreter per job instead: the cold path.

`Run.events()` yields one stream of plain dicts for the app and the CLI:
  output   {stream, text}            the child's stdout/stderr, capped
  metric   {step, values}            from tutor.log(...)
  progress {done, total, label}
  sandbox  {layers}                  which confinement layers took
  violation{kind, detail}            a forbidden action, in words
  result / loaded / module_error / done   the probe's data (checked by token)
  end      {exit, signal, limit, duration_ms, ...}   always last
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from engine import paths

OUTPUT_CAP = 1 << 20
EVENT_LINE_CAP = 64 << 20
EVENT_TOTAL_CAP = 256 << 20
GRACE_S = 1.0
STARTUP_S = 120.0  # a spawned child's interpreter start-up does not count against the time limit

ROOT = paths.SOURCE_ROOT


class RunnerError(RuntimeError):
    pass


@dataclass
class Job:
    code: str
    checks: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    filename: str = "<your code>"
    module_seed: int = 0
    seconds: float = 10.0
    memory_mb: int = 2048
    confine: bool = True
    gpu: bool = False  # spawned, may use CUDA: memory is watched as RSS instead of an address-space limit

    def payload(self, token: str, job_dir: str) -> bytes:
        return json.dumps(
            {
                "code": self.code,
                "checks": self.checks,
                "params": self.params,
                "filename": self.filename,
                "module_seed": self.module_seed,
                "limits": {"seconds": self.seconds, "memory_mb": self.memory_mb},
                "confine": self.confine,
                "gpu": self.gpu,
                "token": token,
                "job_dir": job_dir,
            }
        ).encode()


BWRAP_ENV = "TUTOR_BWRAP"


def bwrap_prefix(jobs_root: str) -> list[str]:
    """bubblewrap as the outermost layer, where it is installed and works here.

    The whole filesystem is read-only but for the jobs folder, and the network
    namespace is empty.  (No tmpfs over /tmp: the project itself may live
    there.)  The pid namespace is shared on purpose: the client signals
    children by the pids the zygote reports.
    """
    if os.environ.get(BWRAP_ENV) == "0":
        return []
    from engine.sandbox.confine import bwrap_usable

    path = bwrap_usable()
    if not path:
        return []
    return [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--bind", jobs_root, jobs_root,
            "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--"]  # fmt: skip


class Zygote:
    """A handle on one zygote process."""

    def __init__(self, outer: bool = True) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.jobs_root = tempfile.mkdtemp(prefix="tutor-jobs-")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env.update(TUTOR_JOBS_ROOT=self.jobs_root, TMPDIR=self.jobs_root)
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
        except (OSError, socket.timeout) as exc:
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
    `Run` reads a spawned child exactly like a forked one.
    """
    job_r, job_w = os.pipe()
    ev_r, ev_w = os.pipe()
    status_r, status_w = os.pipe()
    job_dir = tempfile.mkdtemp(prefix="tutor-job-")
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES" or v}
    env.setdefault("USER", getpass.getuser())  # so torch never looks the user up through a socket
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
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


def _start_zygote() -> Zygote:
    """A zygote inside bubblewrap when that works here; without it when bubblewrap fails to start one."""
    zygote = Zygote()
    if zygote.outer:
        try:
            zygote.wait_ready()
        except RunnerError:
            zygote.stop()
            os.environ[BWRAP_ENV] = "0"  # remember for this process: the kernel layers still confine
            zygote = Zygote(outer=False)
    return zygote


class Runner:
    """Runs jobs; warm by default.  Thread-safe; several runs may be in flight.

    `spawn=True` starts a fresh interpreter per job instead of forking: the
    path for lessons that may use a GPU (CUDA is never initialised in a
    process that forks).
    """

    def __init__(self, warm: bool = True, spawn: bool = False):
        self.warm = warm and not spawn
        self.spawn = spawn
        self._zygote: Zygote | None = None
        self._lock = threading.Lock()

    def start_background(self) -> None:
        """Start the zygote now (it imports torch in its own process); returns at once."""
        if self.warm:
            self._ensure()

    def _ensure(self) -> Zygote:
        with self._lock:
            if self._zygote is None or not self._zygote.alive():
                if self._zygote is not None:
                    self._zygote.stop()
                self._zygote = _start_zygote()
            return self._zygote

    def start(self, job: Job) -> "Run":
        if self.spawn:
            info, fds = spawn_child()
            return Run(job, info, fds)
        if self.warm:
            zygote = self._ensure()
            try:
                info, fds = zygote.take_child()
            except (RunnerError, OSError):
                with self._lock:  # it died between jobs: start afresh once
                    self._zygote = None
                zygote = self._ensure()
                info, fds = zygote.take_child()
            return Run(job, info, fds)
        zygote = _start_zygote()
        info, fds = zygote.take_child()
        return Run(job, info, fds, on_finish=zygote.stop)

    def run(self, job: Job) -> list[dict[str, Any]]:
        run = self.start(job)
        return list(run.events())

    def close(self) -> None:
        with self._lock:
            if self._zygote is not None:
                self._zygote.stop()
                self._zygote = None

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Run:
    """One job in one child.  Iterate `events()` once; `cancel()` from any thread."""

    def __init__(self, job: Job, info: dict[str, Any], fds: list[int], on_finish: Any = None):
        self.job = job
        self.pid: int = info["pid"]
        self.job_dir: str = info["job_dir"]
        self.token = secrets.token_hex(16)
        job_w, self.out_r, self.err_r, self.ev_r, self.status_r = fds
        self.started = time.monotonic()
        self.deadline = self.started + job.seconds + STARTUP_S
        self.clock_started = False
        self.began: float | None = None
        self.rss_base = 1 << 62  # no memory watch until the child has started
        self.cancelled = False
        self.limit: str | None = None
        self._on_finish = on_finish
        try:
            os.write(job_w, job.payload(self.token, self.job_dir))
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

    def events(self) -> Iterator[dict[str, Any]]:
        sel = selectors.DefaultSelector()
        names = {self.out_r: "stdout", self.err_r: "stderr", self.ev_r: "events", self.status_r: "status"}
        for fd in names:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        kept = {"stdout": 0, "stderr": 0}
        truncated = {"stdout": False, "stderr": False}
        ev_buf = b""
        ev_total = 0
        status: dict[str, Any] | None = None
        status_buf = b""
        protocol_error: str | None = None
        finished = False
        try:
            while sel.get_map() and not finished:
                now = time.monotonic()
                if now >= self.deadline and self.limit is None and not self.cancelled:
                    self.limit = "time"
                    self._kill()
                    self.deadline = now + GRACE_S
                elif now >= self.deadline:
                    break  # killed and still silent: give up on the pipes
                if self.job.gpu and self.limit is None and _resident_bytes(self.pid) > self.rss_base + (self.job.memory_mb << 20):
                    self.limit = "memory"
                    self._kill()
                for key, _ in sel.select(timeout=max(0.0, min(self.deadline - now, 0.25 if self.job.gpu else 3600))):
                    fd = key.fd
                    try:
                        chunk = os.read(fd, 1 << 16)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        sel.unregister(fd)
                        continue
                    name = names[fd]
                    if name in kept:
                        room = OUTPUT_CAP - kept[name]
                        if room > 0:
                            text = chunk[:room].decode("utf-8", errors="replace")
                            kept[name] += min(room, len(chunk))
                            yield {"type": "output", "stream": name, "text": text}
                        if len(chunk) > room:
                            truncated[name] = True
                    elif name == "status":
                        status_buf += chunk
                    else:
                        ev_total += len(chunk)
                        ev_buf += chunk
                        if ev_total > EVENT_TOTAL_CAP or (b"\n" not in ev_buf and len(ev_buf) > EVENT_LINE_CAP):
                            protocol_error = "the run sent more event data than allowed"
                            self._kill()
                            sel.unregister(fd)
                            continue
                        *lines, ev_buf = ev_buf.split(b"\n")
                        for line in lines:
                            event = _parse_event(line)
                            if event is None:
                                protocol_error = "unreadable data on the event channel"
                                continue
                            if event["type"] == "done" and event.get("token") == self.token:
                                finished = True
                            elif event["type"] == "started" and not self.clock_started:
                                self.clock_started = True
                                self.began = time.monotonic()
                                self.deadline = self.began + self.job.seconds
                                # The budget is on top of what the interpreter and torch already hold.
                                self.rss_base = _resident_bytes(self.pid) if self.job.gpu else 0
                            yield event
            if finished:
                # The probe flushed its output before `done`: what is in the pipes is all there is.
                for fd in (self.out_r, self.err_r):
                    name = names[fd]
                    for text in _drain(fd, OUTPUT_CAP - kept[name]):
                        yield {"type": "output", "stream": name, "text": text}
        finally:
            # Measured from when the child started running the job: a spawned interpreter's
            # start-up is reported apart, as it is not the learner's code.
            began = self.began or self.started
            duration_ms = round((time.monotonic() - began) * 1000, 2)
            startup_ms = round((began - self.started) * 1000, 2)
            sel.close()
            for fd in names:
                try:
                    os.close(fd)
                except OSError:
                    pass
            if self._on_finish:
                self._on_finish()
        if status_buf.strip():
            try:
                status = json.loads(status_buf.splitlines()[0])
            except ValueError:
                status = None
        yield {
            "type": "end",
            "exit": status.get("exit") if status else None,
            "signal": status.get("signal") if status else None,
            "cpu_s": status.get("cpu_s") if status else None,
            "maxrss_kb": status.get("maxrss_kb") if status else None,
            "limit": self.limit,
            "cancelled": self.cancelled,
            "finished": finished,
            "runner_lost": status is None and not finished and not self.cancelled and self.limit is None,
            "truncated": truncated,
            "protocol_error": protocol_error,
            "duration_ms": duration_ms,
            "startup_ms": startup_ms,
        }


def _resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _drain(fd: int, room: int) -> Iterator[str]:
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except (BlockingIOError, OSError):
            return
        if not chunk:
            return
        if room > 0:
            yield chunk[:room].decode("utf-8", errors="replace")
            room -= len(chunk)


def _parse_event(line: bytes) -> dict[str, Any] | None:
    if not line.strip():
        return {"type": "noise"}
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return None
    return event
