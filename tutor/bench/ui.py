"""`tutor bench ui`: what the app costs while it is left open, and how fast it answers a key.

The app runs as a learner runs it: `tutor` in a pseudo-terminal (120×40),
with its own learner home.  The figures:

- CPU of the app's own process (read from /proc/PID/stat; its children, the
  warm runner and the training worker, are other processes and not counted)
  while idle on home, idle in a workspace, and on the Runs screen while a
  training job runs;
- the time from a key written to the terminal to the frame that answers it,
  during that job: the app, told by KEY_LATENCY_ENV, writes the monotonic
  time of the refresh after each key to a file; monotonic time is one clock
  for every process on the machine.

Last line: `ui_cpu home_pct=… workspace_pct=… runs_pct=… key_p95_ms=…`.
"""

from __future__ import annotations

import fcntl
import os
import pty
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import Callable

from tutor.core.envvars import KEY_LATENCY_ENV

KEYS = {"enter": b"\r", "f3": b"\x1bOR", "up": b"\x1b[A", "down": b"\x1b[B", "tab": b"\t", "shift+tab": b"\x1b[Z",
        "ctrl+q": b"\x11"}  # fmt: skip
TARGETS = {"home_pct": 1.0, "workspace_pct": 1.0, "runs_pct": 5.0, "key_p95_ms": 50.0}
JOB_EPOCHS = "5000"  # long enough to outlast the measurement; cancelled when the app quits


class AppInTerminal:
    """`tutor` on a pty of its own; the screen's bytes are read and dropped so it never blocks."""

    def __init__(self, home: Path, key_log: Path, columns: int = 120, rows: int = 40) -> None:
        self.key_log = key_log
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", TUTOR_HOME=str(home), **{KEY_LATENCY_ENV: str(key_log)})
        self.proc = subprocess.Popen([sys.executable, "-m", "tutor.cli"], stdin=slave, stdout=slave, stderr=slave,
                                     env=env, start_new_session=True, close_fds=True)  # fmt: skip
        os.close(slave)
        self.master = master
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                if not os.read(self.master, 1 << 16):
                    return
            except OSError:
                return

    def press(self, key: str) -> float:
        """Write one key; the monotonic time it was written."""
        sent = time.monotonic()
        os.write(self.master, KEYS.get(key, key.encode()))
        return sent

    def type(self, text: str) -> None:
        for ch in text:
            self.press(ch)
            time.sleep(0.05)

    def log_lines(self) -> list[str]:
        try:
            return self.key_log.read_text().splitlines()
        except OSError:
            return []

    def wait_for_log(self, predicate: Callable[[list[str]], bool], timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.log_lines()):
                return True
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited (status {self.proc.returncode})")
            time.sleep(0.05)
        return False

    def cpu_pct(self, seconds: float) -> float:
        """The app process's CPU over `seconds`, as a percentage of one core."""
        before, start = _cpu_seconds(self.proc.pid), time.monotonic()
        time.sleep(seconds)
        after, end = _cpu_seconds(self.proc.pid), time.monotonic()
        return 100 * (after - before) / (end - start)

    def children(self) -> list[str]:
        """Command lines of the processes under the app (the runner, training workers)."""
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
                if int(stat.rsplit(b")", 1)[1].split()[1]) == self.proc.pid:
                    out.append(Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            except (OSError, ValueError, IndexError):
                continue
        return out

    def close(self) -> None:
        try:
            self.press("ctrl+q")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5), counted after the name
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def _key_latencies(app: AppInTerminal, keys: list[str], gap_s: float = 0.15) -> list[float]:
    latencies = []
    for key in keys:
        seen = len(app.log_lines())
        sent = app.press(key)
        if not app.wait_for_log(lambda lines, n=seen: len(lines) > n, timeout=5):
            raise RuntimeError(f"no frame answered {key!r} within 5 s")
        answered = float(app.log_lines()[seen].split()[-1])
        latencies.append((answered - sent) * 1000)
        time.sleep(gap_s)
    return latencies


def ui_cost(settle_s: float = 3.0, measure_s: float = 5.0, out: Callable[[str], None] = print) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="tutor-bench-ui-"))
    key_log = home / "keys.log"
    app = AppInTerminal(home, key_log)
    try:
        if not app.wait_for_log(lambda lines: any(line.startswith("ready") for line in lines), timeout=120):
            raise RuntimeError("the app never reported its lessons loaded")
        time.sleep(settle_s)  # the warm runner starts in its own process; let the app settle
        result = {"home_pct": app.cpu_pct(measure_s)}
        app.press("enter")  # home opens with "Next" focused: the first lesson's workspace
        time.sleep(settle_s)
        result["workspace_pct"] = app.cpu_pct(measure_s)
        app.press("f3")  # Runs, with a job whose data is here (two moons) preselected
        time.sleep(settle_s)
        app.press("shift+tab")  # from the runs table back to the epochs box
        time.sleep(0.5)
        app.type(JOB_EPOCHS)
        time.sleep(0.5)
        app.press("tab")
        time.sleep(0.5)
        app.press("s")
        deadline = time.monotonic() + 60
        while not any(f'"epochs": {JOB_EPOCHS}' in c for c in app.children()):
            if time.monotonic() > deadline:
                raise RuntimeError("the training job did not start from the Runs screen")
            time.sleep(0.2)
        time.sleep(settle_s)  # the worker imports torch and starts stepping
        result["runs_pct"] = app.cpu_pct(measure_s)
        latencies = _key_latencies(app, ["up", "down"] * 15)
        result["key_p50_ms"] = statistics.median(latencies)
        result["key_p95_ms"] = sorted(latencies)[int(0.95 * (len(latencies) - 1))]
        if not any(f'"epochs": {JOB_EPOCHS}' in c for c in app.children()):
            raise RuntimeError("the training job ended before the measurement did")
    finally:
        app.close()
        shutil.rmtree(home, ignore_errors=True)
    cores = os.cpu_count() or 1
    out(f"the app's own process at 120x40, {measure_s:g} s each; {cores} cores; a moons-mlp job running for the last two")
    for name, target in TARGETS.items():
        verdict = "ok" if result[name] <= target else "OVER TARGET"
        out(f"  {name:<14} {result[name]:7.2f}   target ≤ {target:g}   {verdict}")
    out(
        f"ui_cpu home_pct={result['home_pct']:.2f} workspace_pct={result['workspace_pct']:.2f} "
        f"runs_pct={result['runs_pct']:.2f} key_p95_ms={result['key_p95_ms']:.1f}"
    )
    return result
