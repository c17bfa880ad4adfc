"""The warm runner: a process that has imported torch once and forks a child per check.

It is spawned (never forked) by the client, single-threaded, with every
thread pool sized to one, so its forks are safe.  It never touches CUDA and
never sees learner code or reference solutions: it hands the client the
pipes of a child forked ahead of time, and the client writes the check
request straight to that child.  (engine.sandbox.client.ZygoteClient is the
other end.)

Protocol on the control socket (one line each way per request):
  client: {"op": "run"}   ->  zygote: {"pid": N, "work_dir": ...} + fds
          (request_w, stdout_r, stderr_r, events_r, status_r)
  client: {"op": "stop"} or EOF -> the zygote kills its children and exits.
When a child ends, the zygote writes {"status": ..., "signal": ..., "rusage": ...}
to that child's status pipe and closes it, then kills whatever the child
left behind (its process group and any orphan reparented to the zygote).
"""

from __future__ import annotations

import os

THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    # Keep CUDA out of this process even if a GPU is present: GPU work is spawned elsewhere.
    "CUDA_VISIBLE_DEVICES": "",
}
for _k, _v in THREAD_ENV.items():
    os.environ.setdefault(_k, _v)

import ctypes  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import select  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from engine.sandbox.syscalls import PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG  # noqa: E402


@dataclass
class PreforkedChild:
    """A child forked ahead of its request, and our ends of its five pipes."""

    pid: int
    work_dir: str
    request_w: int
    out_r: int
    err_r: int
    ev_r: int
    status_r: int
    status_w: int
    handed_out: bool = False


class ZygoteServer:
    """Forks children ahead of time and hands their pipes to the client, one per request."""

    def __init__(self, control: socket.socket):
        self.control = control
        self.children: dict[int, PreforkedChild] = {}
        self.spare: PreforkedChild | None = None
        # The client's work folder: the one place bubblewrap leaves writable.
        self.root = tempfile.mkdtemp(prefix="zygote-", dir=os.environ.get("TUTOR_WORK_ROOT"))
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)

    # --- forking -------------------------------------------------------------------

    def prefork(self) -> PreforkedChild:
        request_r, request_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        ev_r, ev_w = os.pipe()
        status_r, status_w = os.pipe()
        work_dir = tempfile.mkdtemp(dir=self.root)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            self._become_child(request_r, out_w, err_w, ev_w, work_dir)
        for fd in (request_r, out_w, err_w, ev_w):
            os.close(fd)
        child = PreforkedChild(pid, work_dir, request_w, out_r, err_r, ev_r, status_r, status_w)
        self.children[pid] = child
        return child

    def _become_child(self, request_r: int, out_w: int, err_w: int, ev_w: int, work_dir: str) -> None:
        """Turn this fresh fork into a child that serves one check request, then exits."""
        try:
            # The zygote's signal plumbing is not ours: a learner's Ctrl-C or a SIGCHLD from
            # its own subprocess attempts must act as they would in a plain interpreter.
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_DFL)
            # A session (and process group) of its own: the client kills the child and
            # everything it started with one killpg, without touching the zygote.
            os.setsid()
            from engine.sandbox import syscalls

            syscalls.die_with_parent()
            # The parent may have died between fork and prctl, in which case the death
            # signal will never come: we were reparented already, so leave now.
            if os.getppid() == 1:
                os._exit(1)
            # Exactly five descriptors survive: stdin from /dev/null, stdout, stderr, the event
            # pipe (3) and the request pipe (4).  Every other one is closed, above all the
            # control socket and the other children's pipes, so learner code cannot reach
            # the zygote or forge events for another run.
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.dup2(ev_w, 3)
            os.dup2(request_r, 4)
            os.closerange(5, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
            sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
            sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
            sys.stdin = open(0, closefd=False)
            from engine.sandbox import probe

            probe.serve(request_fd=4, event_fd=3, work_dir=work_dir)
        finally:
            os._exit(70)  # never return into the zygote's loop

    # --- serving -----------------------------------------------------------------------

    def hand_out(self) -> None:
        child = self.spare or self.prefork()
        self.spare = None
        child.handed_out = True
        reply = json.dumps({"pid": child.pid, "work_dir": child.work_dir}).encode() + b"\n"
        socket.send_fds(self.control, [reply], [child.request_w, child.out_r, child.err_r, child.ev_r, child.status_r])
        for fd in (child.request_w, child.out_r, child.err_r, child.ev_r, child.status_r):
            os.close(fd)

    def reap(self) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            if child is None:
                continue  # an orphan reparented to us: already gone
            if child is self.spare:
                self.spare = None  # it died waiting: hand_out forks a fresh one
            self._cleanup(child, status, usage)

    def _cleanup(self, child: PreforkedChild, status: int, usage: resource.struct_rusage) -> None:
        try:
            os.killpg(child.pid, signal.SIGKILL)  # anything left in its session
        except (ProcessLookupError, PermissionError):
            pass
        report = {
            "exit": os.waitstatus_to_exitcode(status),
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
            "maxrss_kb": usage.ru_maxrss,
        }
        try:
            os.write(child.status_w, json.dumps(report).encode() + b"\n")
        except OSError:
            pass
        os.close(child.status_w)
        self.kill_orphans()  # after the report: the client need not wait for the scan
        if not child.handed_out:
            for fd in (child.request_w, child.out_r, child.err_r, child.ev_r, child.status_r):
                _close(fd)
        shutil.rmtree(child.work_dir, ignore_errors=True)

    def kill_orphans(self) -> None:
        """Kill processes reparented to us that we did not fork (escaped grandchildren)."""
        me = str(os.getpid())
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in self.children:
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if fields[1].decode() == me:
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def serve(self) -> None:
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_w)
        self.spare = self.prefork()
        buf = b""
        try:
            while True:
                ready, _, _ = select.select([self.control, self.wake_r], [], [])
                if self.wake_r in ready:
                    os.read(self.wake_r, 4096)
                    self.reap()
                if self.control in ready:
                    data = self.control.recv(4096)
                    if not data:
                        return
                    buf += data
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        op = json.loads(line).get("op")
                        if op == "stop":
                            return
                        if op == "run":
                            self.hand_out()
                            self.spare = self.prefork()
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        for pid in list(self.children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.kill_orphans()
        shutil.rmtree(self.root, ignore_errors=True)


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def warm_imports() -> None:
    """Import what every check needs, once, before any fork."""
    import getpass

    # torch._dynamo asks who the user is; answer from the environment, never from a socket later.
    os.environ.setdefault("USER", getpass.getuser())
    import numpy  # noqa: F401
    import torch
    import torch.distributions  # noqa: F401
    import torch.nn.functional  # noqa: F401

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    # What each child's set-up touches before the learner's code runs (finding the datasets
    # folder imports platformdirs): about 9 ms a check when left to the child.
    import tempfile  # noqa: F401

    import platformdirs  # noqa: F401

    from engine import paths
    from engine.jobs import toy  # noqa: F401
    from engine.sandbox import codec, confine, helpers, landlock, probe, seccomp  # noqa: F401

    if paths.DATASETS_ENV not in os.environ:
        os.environ[paths.DATASETS_ENV] = str(paths.datasets_dir())  # once, not in every child

    # Pay every lazy first-call cost here, once, instead of in each child.
    modules = helpers.Modules()
    helpers.seed_everything(0, modules)
    helpers.helpers(modules, 0, [])["randn"](2, 2)
    codec.encode(torch.zeros(2))

    # Children then never walk (and copy-on-write) the thousands of objects torch created.
    gc.collect()
    gc.freeze()


M_ARENA_MAX = -8  # glibc's mallopt parameter number


def main() -> None:
    fd = int(sys.argv[1])
    control = socket.socket(fileno=fd)
    libc = ctypes.CDLL(None)
    # Escaped grandchildren are reparented to us, not to init, so kill_orphans can find them.
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # die with the client
    # Each thread that mallocs may get an arena that reserves 64 MiB of address space; a
    # child's memory limit is on address space, so a submission that starts many threads
    # would be told it used memory it never touched. Two arenas are plenty for one check.
    libc.mallopt(M_ARENA_MAX, 2)
    warm_imports()
    try:
        control.sendall(json.dumps({"ready": True, "pid": os.getpid()}).encode() + b"\n")
    except (BrokenPipeError, ConnectionResetError):
        # The client closed while we were importing (a command that had nothing to run after
        # all): nobody to serve, and a traceback on the learner's terminal would only alarm.
        return
    ZygoteServer(control).serve()


if __name__ == "__main__":
    main()
