"""The seccomp filter: no new processes, exec, sockets, ptrace, mounts or signals to other pids.

A classic BPF program, assembled by `_Filter` with labelled jumps (offsets
computed, never hand-counted) and installed with prctl(PR_SET_SECCOMP).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

from engine.sandbox.syscalls import _ARCH, _SYSCALLS, CLONE_THREAD, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, _libc

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
