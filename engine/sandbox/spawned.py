"""A sandboxed child started fresh (spawned), for checks that may use a GPU.

The warm runner forks, and a forked process must never touch CUDA, so a
lesson that prefers a GPU runs its learner code here instead: a new
interpreter that imports torch itself, then serves exactly one check request with
the same probe and the same confinement as a forked child.
"""

from __future__ import annotations

import fcntl
import os
import sys


def main() -> None:
    request_fd, event_fd = int(sys.argv[1]), int(sys.argv[2])
    from engine.sandbox import syscalls

    syscalls.die_with_parent()
    # Move both out of the way first: either may already sit on 3 or 4.
    request_hi, event_hi = fcntl.fcntl(request_fd, fcntl.F_DUPFD, 10), fcntl.fcntl(event_fd, fcntl.F_DUPFD, 10)
    os.close(request_fd)
    os.close(event_fd)
    os.dup2(event_hi, 3)
    os.dup2(request_hi, 4)
    os.close(request_hi)
    os.close(event_hi)
    from engine.sandbox import probe

    probe.serve(request_fd=4, event_fd=3)


if __name__ == "__main__":
    main()
