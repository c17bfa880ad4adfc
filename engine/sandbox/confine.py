"""Confinement layers applied inside a child just before the learner's code runs.

Layers, outermost first, none needing root or docker:

- resource limits: CPU seconds, address space, file size, open files, no core;
- Landlock (Linux 5.13+): no writes outside the work folder, no TCP, and
  (ABI 6+) no signals to processes outside the sandbox;
- seccomp: no new processes, no exec, no sockets, no ptrace or mounts, no
  signals to other pids: enforced by the kernel, whatever ctypes tries;
- a Python audit hook, which turns the same attempts into plain messages
  before the kernel ever sees them.

Each layer is tried and reported; a kernel without one falls back cleanly.
The kernel layers live in their own modules (engine.sandbox.syscalls,
seccomp, landlock); this one holds the limits, the audit hook, bubblewrap and
the report of what this machine can apply.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from dataclasses import dataclass
from typing import Callable

from engine.sandbox.landlock import install_landlock, landlock_abi
from engine.sandbox.seccomp import install_seccomp
from engine.sandbox.syscalls import no_new_privs

# --- messages the parent shows for each kind of breach -----------------------------

VIOLATIONS = {
    "network": "tried to open a network connection",
    "process": "tried to start another process",
    "signal": "tried to signal another process",
    "write": "tried to write outside its working folder",
    "files": "created too many files",
}

MAX_FILES = 256
# Threads a checked submission may ask torch for: more only spend its CPU-time budget
# faster, and each reserves stack that counts against its address-space limit.
MAX_TORCH_THREADS = 4
# "1" inside a zygote started under bubblewrap, "0" where bubblewrap is off or failed to start.
BWRAP_ENV = "TUTOR_BWRAP"


@dataclass(frozen=True)
class ResourceLimits:
    seconds: float
    memory_bytes: int
    file_bytes: int = 64 << 20
    open_files: int = 256


# --- resource limits ---------------------------------------------------------------


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def apply_rlimits(limits: ResourceLimits, address_space: bool = True) -> None:
    """CPU, memory, file size, open files, no core dumps.

    `address_space=False` for GPU runs: CUDA reserves far more virtual memory
    than it uses, so there the parent watches resident memory instead.
    """
    # CPU time counts from process start: a spawned child has already spent some importing torch.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(usage.ru_utime + usage.ru_stime + limits.seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if address_space:
        # The warm runner already maps torch's libraries; the budget is on top of that.
        base = _vm_size() if sys.platform.startswith("linux") else 0
        resource.setrlimit(resource.RLIMIT_AS, (base + limits.memory_bytes, base + limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # An oversized write then fails with EFBIG instead of killing silently.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def cap_torch_threads(most: int = MAX_TORCH_THREADS) -> None:
    """Make `torch.set_num_threads(n)` give min(n, most) threads, so the code still runs."""
    import torch

    if getattr(torch.set_num_threads, "capped", False):
        return
    uncapped = torch.set_num_threads

    def set_num_threads(n: int) -> None:
        uncapped(max(1, min(int(n), most)))

    set_num_threads.capped = True  # type: ignore[attr-defined]
    set_num_threads.__doc__ = uncapped.__doc__
    torch.set_num_threads = set_num_threads


# --- audit hook ----------------------------------------------------------------------


class SandboxViolation(PermissionError):
    """Raised inside the child when the learner's code reaches for something forbidden."""


def install_audit_hook(work_dir: str, report: Callable[[str, str], None]) -> None:
    """Turn forbidden actions into a clear exception and a `violation` event.

    Audit hooks cannot be removed once added, and they fire before the kernel
    layers are consulted, so the learner gets a sentence instead of EPERM.
    """
    created = [0]
    work_dir = os.path.realpath(work_dir)
    pid = os.getpid()
    process_events = {
        "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen",
        "os.startfile", "pty.spawn",
    }  # fmt: skip

    def deny(kind: str, detail: str) -> None:
        report(kind, detail)
        raise SandboxViolation(f"{VIOLATIONS[kind]} ({detail}): not allowed while checking")

    def hook(event: str, args: tuple) -> None:
        if event in process_events:
            deny("process", event)
        elif event.startswith("socket.") and event != "socket.getservbyname":
            deny("network", event)
        elif event == "os.kill" and args and args[0] not in (pid, 0):
            deny("signal", f"os.kill({args[0]})")
        elif event == "os.killpg":
            deny("signal", "os.killpg")
        elif event == "open" and len(args) >= 2 and _writes(args[1], args[2] if len(args) > 2 else 0):
            path = args[0]
            if isinstance(path, int):
                return
            full = os.path.realpath(os.fsdecode(path))
            if full != os.devnull and not full.startswith(work_dir + os.sep) and full != work_dir:
                deny("write", full)
            created[0] += 1
            if created[0] > MAX_FILES:
                deny("files", f"more than {MAX_FILES}")

    sys.addaudithook(hook)


def _writes(mode: object, flags: object) -> bool:
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    if isinstance(flags, int):
        return bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND))
    return False


def gpu_devices() -> list[str]:
    """Device files a GPU driver opens for writing (NVIDIA and DRM render nodes)."""
    import glob

    return sorted(p for p in glob.glob("/dev/nvidia*") + glob.glob("/dev/dri/renderD*") if os.path.exists(p))


# --- bubblewrap, the optional outer layer ---------------------------------------------------

_BWRAP: list[str | None] = []


def bwrap_usable() -> str | None:
    """The bwrap binary if it is installed and can build a sandbox here (tried once)."""
    if not _BWRAP:
        import shutil
        import subprocess

        path = shutil.which("bwrap")
        ok = False
        if path:
            try:
                ok = (
                    subprocess.run(
                        [
                            path,
                            "--ro-bind",
                            "/",
                            "/",
                            "--dev",
                            "/dev",
                            "--proc",
                            "/proc",
                            "--tmpfs",
                            "/tmp",
                            "--unshare-net",
                            "--die-with-parent",
                            "--",
                            "true",
                        ],
                        capture_output=True,
                        timeout=10,
                    ).returncode
                    == 0
                )
            except (OSError, subprocess.SubprocessError):
                ok = False
        _BWRAP.append(path if ok else None)
    return _BWRAP[0]


# --- what is available here -------------------------------------------------------------


def available_layers() -> dict[str, str]:
    """Which layers this machine can apply, found by trying each in a throwaway child."""
    import tempfile

    result: dict[str, str] = {"rlimits": "active", "audit hook": "active"}
    with tempfile.TemporaryDirectory() as tmp:
        for name, attempt in (
            ("seccomp", lambda: (no_new_privs(), install_seccomp())),
            ("landlock", lambda: (no_new_privs(), install_landlock(tmp))),
        ):
            result[name] = _try_in_child(attempt)
    abi = landlock_abi()
    if result["landlock"] == "active":
        extras = ["writes confined"] + (["TCP denied"] if abi >= 4 else []) + (["signals scoped"] if abi >= 6 else [])
        result["landlock"] = f"active (ABI {abi}: {', '.join(extras)})"
    return result


def _try_in_child(attempt: Callable[[], object]) -> str:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the throwaway child
        os.close(r)
        try:
            attempt()
            os.write(w, b"active")
        except Exception as exc:
            os.write(w, f"unavailable: {exc}".encode()[:200])
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode(errors="replace")
    os.waitpid(pid, 0)
    return out or "unavailable: the probe died"
