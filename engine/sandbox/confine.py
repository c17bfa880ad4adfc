"""Confinement layers applied inside a child just before the learner's code runs.

Layers, outermost first, none needing root or docker:

- resource limits: CPU seconds, address space, file size, open files, no core;
- Landlock (Linux 5.13+): no writes outside the job directory, no TCP, and
  (ABI 6+) no signals to processes outside the sandbox;
- seccomp: no new processes, no exec, no sockets, no ptrace or mounts, no
  signals to other pids: enforced by the kernel, whatever ctypes tries;
- a Python audit hook, which turns the same attempts into plain messages
  before the kernel ever sees them.

Each layer is tried and reported; a kernel without one falls back cleanly.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import signal
import struct
import sys
from dataclasses import dataclass
from typing import Callable

# --- messages the parent shows for each kind of breach -----------------------------

VIOLATIONS = {
    "network": "tried to open a network connection",
    "process": "tried to start another process",
    "signal": "tried to signal another process",
    "write": "tried to write outside its working folder",
    "files": "created too many files",
}

MAX_FILES = 256
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


# --- syscalls by architecture ---------------------------------------------------------

_ARCH = platform.machine()
_SYSCALLS = {
    "x86_64": dict(
        audit_arch=0xC000003E,
        landlock_create_ruleset=444,
        landlock_add_rule=445,
        landlock_restrict_self=446,
        socket=41,
        socketpair=53,
        clone=56,
        fork=57,
        vfork=58,
        execve=59,
        kill=62,
        ptrace=101,
        tkill=200,
        tgkill=234,
        clone3=435,
        execveat=322,
        process_vm_readv=310,
        process_vm_writev=311,
        mount=165,
        umount2=166,
        unshare=272,
        setns=308,
        chroot=161,
        pivot_root=155,
        bpf=321,
        perf_event_open=298,
        kexec_load=246,
        init_module=175,
        finit_module=313,
        delete_module=176,
        reboot=169,
        setsid=112,
        setpgid=109,
        keyctl=250,
        add_key=248,
        request_key=249,
        io_uring_setup=425,
    ),
    "aarch64": dict(
        audit_arch=0xC00000B7,
        landlock_create_ruleset=444,
        landlock_add_rule=445,
        landlock_restrict_self=446,
        socket=198,
        socketpair=199,
        clone=220,
        execve=221,
        kill=129,
        ptrace=117,
        tkill=130,
        tgkill=131,
        clone3=435,
        execveat=281,
        process_vm_readv=270,
        process_vm_writev=271,
        mount=40,
        umount2=39,
        unshare=97,
        setns=268,
        chroot=51,
        pivot_root=41,
        bpf=280,
        perf_event_open=241,
        kexec_load=104,
        init_module=105,
        finit_module=273,
        delete_module=106,
        reboot=142,
        setsid=157,
        setpgid=154,
        keyctl=219,
        add_key=217,
        request_key=218,
        io_uring_setup=425,
    ),
}.get(_ARCH)

_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None

# prctl(2) options.
PR_SET_PDEATHSIG = 1
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
SECCOMP_MODE_FILTER = 2
CLONE_THREAD = 0x00010000  # clone(2): a new thread of this process, not a new process


def _syscall(nr: int, *args: object) -> int:
    assert _libc is not None
    _libc.syscall.restype = ctypes.c_long
    return _libc.syscall(ctypes.c_long(nr), *args)


def no_new_privs() -> None:
    """No setuid gains from here on; the kernel requires it before an unprivileged seccomp filter."""
    if _libc is not None and _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")


def die_with_parent() -> None:
    """The kernel sends SIGKILL to this process when its parent dies."""
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# --- seccomp ---------------------------------------------------------------------------

# Classic BPF opcodes (linux/filter.h): class | size | mode, or class | op | source.
BPF_LD_W_ABS = 0x00 | 0x00 | 0x20  # BPF_LD | BPF_W | BPF_ABS: load a 32-bit word of seccomp_data
BPF_JEQ_K = 0x05 | 0x10 | 0x00  # BPF_JMP | BPF_JEQ | BPF_K: jump if A == k
BPF_JSET_K = 0x05 | 0x40 | 0x00  # BPF_JMP | BPF_JSET | BPF_K: jump if A & k
BPF_RET_K = 0x06 | 0x00  # BPF_RET | BPF_K: return k
# Offsets in struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6].
SECCOMP_DATA_NR = 0
SECCOMP_DATA_ARCH = 4
SECCOMP_DATA_ARGS = 16
# Filter return values (linux/seccomp.h).
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000


def _errno(code: int) -> int:
    return SECCOMP_RET_ERRNO | (code & 0xFFFF)


class _Filter:
    """A tiny assembler for a seccomp BPF program, with labels for jump targets.

    A jump names the label it goes to ("next" for the following instruction);
    `program()` turns labels into the relative offsets BPF wants, so adding an
    instruction never silently breaks a hand-counted jump.
    """

    def __init__(self) -> None:
        self.ops: list[tuple[int, object, object, int]] = []
        self.labels: dict[str, int] = {}

    def op(self, code: int, k: int, jt: object = "next", jf: object = "next") -> None:
        self.ops.append((code, jt, jf, k))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.ops)

    def load_nr(self) -> None:
        self.op(BPF_LD_W_ABS, SECCOMP_DATA_NR)

    def load_arg(self, i: int) -> None:
        self.op(BPF_LD_W_ABS, SECCOMP_DATA_ARGS + 8 * i)  # the low 32 bits, little-endian

    def ret(self, action: int) -> None:
        self.op(BPF_RET_K, action)

    def deny(self, nr: int, action: int) -> None:
        """If the syscall is `nr`, return `action`; else fall through."""
        skip = f"after-deny-{len(self.ops)}"
        self.op(BPF_JEQ_K, nr, "next", skip)
        self.ret(action)
        self.label(skip)

    def program(self) -> bytes:
        out = []
        for index, (code, jt, jf, k) in enumerate(self.ops):
            out.append(struct.pack("HBBI", code, self._offset(index, jt), self._offset(index, jf), k))
        return b"".join(out)

    def _offset(self, index: int, target: object) -> int:
        if target == "next":
            return 0
        offset = self.labels[str(target)] - index - 1
        if not 0 <= offset <= 255:
            raise ValueError(f"seccomp jump to {target} out of range ({offset})")
        return offset


DENIED_SYSCALLS = (
    "socket", "socketpair", "fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv",
    "process_vm_writev", "mount", "umount2", "unshare", "setns", "chroot", "pivot_root", "bpf",
    "perf_event_open", "kexec_load", "init_module", "finit_module", "delete_module", "reboot",
    "setsid", "setpgid", "keyctl", "add_key", "request_key", "tkill", "io_uring_setup",
)  # fmt: skip


def _seccomp_program(gpu: bool) -> bytes:
    assert _SYSCALLS is not None
    s = _SYSCALLS
    pid = os.getpid()
    # A forbidden call that slipped past the audit hook (ctypes, a C library) ends
    # the run at once: a learner must not be able to catch it and carry on.
    kill = SECCOMP_RET_KILL_PROCESS
    f = _Filter()
    f.op(BPF_LD_W_ABS, SECCOMP_DATA_ARCH)  # a syscall made through another ABI is killed outright
    f.op(BPF_JEQ_K, s["audit_arch"], "arch-ok", "next")
    f.ret(kill)
    f.label("arch-ok")
    f.load_nr()
    if gpu:  # a GPU driver may probe a local daemon's socket: that must fail, not kill the check
        for name in ("socket", "socketpair"):
            f.deny(s[name], _errno(errno.EACCES))
    for name in DENIED_SYSCALLS:
        if name in s:
            f.deny(s[name], kill)
    # clone3 passes its flags in memory a filter cannot read; ENOSYS makes glibc fall back to clone.
    f.deny(s["clone3"], _errno(errno.ENOSYS))
    # clone: threads only.
    f.op(BPF_JEQ_K, s["clone"], "next", "not-clone")
    f.load_arg(0)  # the flags, on both architectures
    f.op(BPF_JSET_K, CLONE_THREAD, "allow", "next")
    f.ret(kill)
    f.label("not-clone")
    # kill(pid, sig): only this process, or its own group (which holds only it).
    f.op(BPF_JEQ_K, s["kill"], "next", "not-kill")
    f.load_arg(0)
    f.op(BPF_JEQ_K, pid, "allow", "next")
    f.op(BPF_JEQ_K, 0, "allow", "next")
    f.ret(kill)
    f.label("not-kill")
    # tgkill(tgid, tid, sig): threads of this process only.
    f.op(BPF_JEQ_K, s["tgkill"], "next", "allow")
    f.load_arg(0)
    f.op(BPF_JEQ_K, pid, "allow", "next")
    f.ret(kill)
    f.label("allow")
    f.ret(SECCOMP_RET_ALLOW)
    return f.program()


def install_seccomp(gpu: bool = False) -> None:
    """The filter: no new processes, exec, sockets, ptrace, mounts or signals to other pids.

    With `gpu`, sockets fail with EACCES instead of ending the run."""
    if _SYSCALLS is None or _libc is None:
        raise OSError(errno.ENOSYS, f"seccomp filter not written for {_ARCH}")
    prog = _seccomp_program(gpu)
    buf = ctypes.create_string_buffer(prog, len(prog))
    fprog = struct.pack("HL", len(prog) // 8, ctypes.addressof(buf))  # struct sock_fprog
    fbuf = ctypes.create_string_buffer(fprog, len(fprog))
    ulong = ctypes.c_ulong
    rc = _libc.prctl(PR_SET_SECCOMP, ulong(SECCOMP_MODE_FILTER), ctypes.c_void_p(ctypes.addressof(fbuf)), ulong(0), ulong(0))
    if rc != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter refused")


# --- Landlock -------------------------------------------------------------------------

# Filesystem access rights (linux/landlock.h), with the ABI that introduced them.
LANDLOCK_ACCESS_FS_EXECUTE = 1 << 0
LANDLOCK_ACCESS_FS_WRITE_FILE = 1 << 1
LANDLOCK_ACCESS_FS_READ_FILE = 1 << 2
LANDLOCK_ACCESS_FS_REMOVE_DIR = 1 << 4
LANDLOCK_ACCESS_FS_REMOVE_FILE = 1 << 5
LANDLOCK_ACCESS_FS_MAKE_CHAR = 1 << 6
LANDLOCK_ACCESS_FS_MAKE_DIR = 1 << 7
LANDLOCK_ACCESS_FS_MAKE_REG = 1 << 8
LANDLOCK_ACCESS_FS_MAKE_SOCK = 1 << 9
LANDLOCK_ACCESS_FS_MAKE_FIFO = 1 << 10
LANDLOCK_ACCESS_FS_MAKE_BLOCK = 1 << 11
LANDLOCK_ACCESS_FS_MAKE_SYM = 1 << 12
LANDLOCK_ACCESS_FS_REFER = 1 << 13  # ABI 2
LANDLOCK_ACCESS_FS_TRUNCATE = 1 << 14  # ABI 3
LANDLOCK_ACCESS_NET_BIND_TCP = 1 << 0  # ABI 4
LANDLOCK_ACCESS_NET_CONNECT_TCP = 1 << 1  # ABI 4
LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
LANDLOCK_SCOPE_SIGNAL = 1 << 1  # ABI 6
LANDLOCK_CREATE_RULESET_VERSION = 1 << 0  # landlock_create_ruleset flag: ask for the ABI
LANDLOCK_RULE_PATH_BENEATH = 1

# Writes handled (so forbidden but where allowed), by the ABI that knows them.
_FS_WRITE = {
    1: LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE
    | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG
    | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK
    | LANDLOCK_ACCESS_FS_MAKE_SYM,
    2: LANDLOCK_ACCESS_FS_REFER,
    3: LANDLOCK_ACCESS_FS_TRUNCATE,
}  # fmt: skip
# Rights that make sense on a single file (a device node), not a folder.
_FILE_ONLY = (
    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE
    | LANDLOCK_ACCESS_FS_TRUNCATE
)  # fmt: skip
_NET_TCP = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP
_SCOPE = LANDLOCK_SCOPE_SIGNAL | LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET


def landlock_abi() -> int:
    if _SYSCALLS is None or _libc is None:
        return 0
    abi = _syscall(
        _SYSCALLS["landlock_create_ruleset"], None, ctypes.c_size_t(0), ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION)
    )
    return max(int(abi), 0)


def install_landlock(writable_dir: str, devices: list[str] | None = None) -> int:
    """Forbid writes outside `writable_dir` (and /dev/null, and the given device files), TCP,
    and signals out. Returns the ABI."""
    abi = landlock_abi()
    if abi < 1:
        raise OSError(errno.ENOSYS, "Landlock is not available")
    assert _SYSCALLS is not None
    handled = LANDLOCK_ACCESS_FS_EXECUTE
    for level, bits in _FS_WRITE.items():
        if abi >= level:
            handled |= bits
    net = _NET_TCP if abi >= 4 else 0
    scoped = _SCOPE if abi >= 6 else 0
    if abi >= 6:
        attr = struct.pack("QQQ", handled, net, scoped)
    elif abi >= 4:
        attr = struct.pack("QQ", handled, net)
    else:
        attr = struct.pack("Q", handled)
    abuf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _syscall(_SYSCALLS["landlock_create_ruleset"], abuf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        _allow_path(ruleset, writable_dir, handled & ~LANDLOCK_ACCESS_FS_EXECUTE)
        for device in ["/dev/null", *(devices or [])]:
            _allow_path(ruleset, device, handled & _FILE_ONLY & ~LANDLOCK_ACCESS_FS_EXECUTE)
        # Reading is not handled at all; executing is allowed nowhere new (exec is also seccomp-blocked).
        if _syscall(_SYSCALLS["landlock_restrict_self"], ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return abi


def _allow_path(ruleset: int, path: str, access: int) -> None:
    assert _SYSCALLS is not None
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        attr = struct.pack("=Qi", access, fd)  # struct landlock_path_beneath_attr
        buf = ctypes.create_string_buffer(attr, len(attr))
        rc = _syscall(
            _SYSCALLS["landlock_add_rule"],
            ctypes.c_int(ruleset),
            ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH),
            buf,
            ctypes.c_uint32(0),
        )
        if rc != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule({path}) failed")
    finally:
        os.close(fd)


# --- audit hook ----------------------------------------------------------------------


class SandboxViolation(PermissionError):
    """Raised inside the child when the learner's code reaches for something forbidden."""


def install_audit_hook(job_dir: str, report: Callable[[str, str], None]) -> None:
    """Turn forbidden actions into a clear exception and a `violation` event.

    Audit hooks cannot be removed once added, and they fire before the kernel
    layers are consulted, so the learner gets a sentence instead of EPERM.
    """
    created = [0]
    job_dir = os.path.realpath(job_dir)
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
            if full != os.devnull and not full.startswith(job_dir + os.sep) and full != job_dir:
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
