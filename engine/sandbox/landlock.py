"""Landlock: writes only in the work folder (and the GPU's device files), no TCP, signals scoped.

Each access right is named as in linux/landlock.h, with the ABI that brought
it; the ruleset asks only for what the running kernel knows.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

from engine.sandbox.syscalls import _SYSCALLS, _libc, _syscall

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
