"""Waiting for a file to be saved: inotify where the kernel has it, polling always as a net.

Editors save in different ways (write in place, or write a new file and
rename it over the old), so the folder is watched and events are filtered
by name.  Whatever inotify says, the file's mtime and size are compared on
every wake-up, so a save is noticed even where events never arrive.
"""

from __future__ import annotations

import ctypes
import os
import select
import struct
import sys
import time
from pathlib import Path

IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x2, 0x8, 0x80, 0x100
_EVENT = struct.Struct("iIII")


class FileWatcher:
    def __init__(self, path: Path, poll_s: float = 0.5):
        self.path = path
        self.poll_s = poll_s
        self._stamp = self._stat()
        self._fd = self._inotify(path.parent)

    @property
    def uses_events(self) -> bool:
        return self._fd is not None

    def _inotify(self, folder: Path) -> int | None:
        if not sys.platform.startswith("linux"):
            return None
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            if fd < 0:
                return None
            mask = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
            if libc.inotify_add_watch(fd, str(folder).encode(), mask) < 0:
                os.close(fd)
                return None
            return fd
        except (OSError, AttributeError):
            return None

    def _stat(self) -> tuple[float, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def reset(self) -> None:
        """Forget changes so far (after we wrote the file ourselves)."""
        self._stamp = self._stat()
        self._drain()

    def _drain(self) -> None:
        if self._fd is None:
            return
        try:
            while os.read(self._fd, 65536):
                pass
        except (BlockingIOError, OSError):
            pass

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the file changes (True) or the timeout passes (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = self.poll_s if deadline is None else max(0.0, min(self.poll_s, deadline - time.monotonic()))
            if self._fd is not None:
                ready, _, _ = select.select([self._fd], [], [], wait)
                if ready:
                    self._drain()
                    time.sleep(0.05)  # let an editor finish its rename-and-write dance
            else:
                time.sleep(wait)
            stamp = self._stat()
            if stamp is not None and stamp != self._stamp:
                self._stamp = stamp
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
