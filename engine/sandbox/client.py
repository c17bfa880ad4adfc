"""The client side of the runner: start checks in sandboxed children and read their events.

A `Runner` owns one warm zygote (see engine.sandbox.zygote), started in the
background on first use and restarted if it dies.  `Runner(warm=False)`
spawns a fresh zygote per check; `Runner(spawn=True)` a fresh interpreter per
check (the path for lessons that may use a GPU).

Each started check is a ChildRun (engine.sandbox.childrun), whose `events()`
yields typed events of engine.events.CHECK_EVENTS: what the child sent
(parsed strictly, refused whole when malformed), `Output` for what it printed
and, always last, one `RunEnd` saying how it ended.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from typing import Any

from engine import events, paths
from engine.sandbox.childrun import ChildRun
from engine.sandbox.confine import BWRAP_ENV
from engine.sandbox.request import CheckRequest

ROOT = paths.SOURCE_ROOT


class RunnerError(RuntimeError):
    pass


def bwrap_prefix(work_root: str) -> list[str]:
    """bubblewrap as the outermost layer, where it is installed and works here.

    The whole filesystem is read-only but for the work folder, and the network
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
    return [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--bind", work_root, work_root,
            "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--"]  # fmt: skip


class ZygoteClient:
    """Our end of one zygote process (engine.sandbox.zygote.ZygoteServer is the other)."""

    def __init__(self, outer: bool = True) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.work_root = tempfile.mkdtemp(prefix="tutor-work-")
        env = paths.child_env(TUTOR_WORK_ROOT=self.work_root, TMPDIR=self.work_root)
        prefix = bwrap_prefix(self.work_root) if outer else []
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
        shutil.rmtree(self.work_root, ignore_errors=True)


def spawn_child() -> tuple[dict[str, Any], list[int]]:
    """A fresh interpreter serving one check request, with the same pipes a zygote child has.

    Its exit status reaches the status pipe from a small waiter thread, so a
    `ChildRun` reads a spawned child exactly like a forked one.
    """
    request_r, request_w = os.pipe()
    ev_r, ev_w = os.pipe()
    status_r, status_w = os.pipe()
    work_dir = tempfile.mkdtemp(prefix="tutor-check-")
    env = paths.child_env()
    env.setdefault("USER", getpass.getuser())  # so torch never looks the user up through a socket
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.sandbox.spawned", str(request_r), str(ev_w)],
        pass_fds=[request_r, ev_w], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    os.close(request_r)
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
            shutil.rmtree(work_dir, ignore_errors=True)

    threading.Thread(target=wait, daemon=True).start()
    out_r, err_r = os.dup(proc.stdout.fileno()), os.dup(proc.stderr.fileno())
    proc.stdout.close()
    proc.stderr.close()
    return {"pid": proc.pid, "work_dir": work_dir}, [request_w, out_r, err_r, ev_r, status_r]


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
                with self._lock:  # it died between checks: start afresh once
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
