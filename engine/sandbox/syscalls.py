"""The kernel's side of the sandbox: syscall numbers by architecture, prctl and its options.

Shared by the seccomp filter, Landlock and the child's start-up (no_new_privs,
the parent-death signal).  Only Linux has them; elsewhere `_libc` is None and
every layer reports itself unavailable.
"""

from __future__ import annotations

import ctypes
import platform
import signal
import sys

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
