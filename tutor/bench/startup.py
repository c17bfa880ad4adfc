"""`tutor bench startup`: time from launching `tutor` to its first frame, and to the lessons shown."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time

from tutor.core.envvars import FIRST_FRAME_ENV


def startup(runs: int = 10, out=print) -> dict[str, float]:
    """Wall time from launching `tutor` (headless, a fresh process each run) to its first
    drawn frame, and to the frame that shows the learner's tracks and progress."""
    env = dict(os.environ, **{FIRST_FRAME_ENV: "1"})
    frames, shown = [], []
    for _ in range(runs):
        start = time.time()
        proc = subprocess.run([sys.executable, "-m", "tutor.cli"], capture_output=True, text=True, env=env, timeout=60)
        moments = dict(re.findall(r"^([a-z-]+) at=([0-9.]+)", proc.stdout, re.M))
        if set(moments) != {"first-frame", "lessons-shown"}:
            raise RuntimeError(f"the app did not report its start-up: {proc.stdout}{proc.stderr}")
        if "torch_imported=True" in proc.stdout:
            raise RuntimeError("torch was imported on the UI's path")
        frames.append((float(moments["first-frame"]) - start) * 1000)
        shown.append((float(moments["lessons-shown"]) - start) * 1000)
    result = {"p50_ms": statistics.median(frames), "max_ms": max(frames), "lessons_p50_ms": statistics.median(shown)}
    out(f"{runs} fresh starts of `tutor`, headless; torch not imported")
    out(
        f"first_frame p50_ms={result['p50_ms']:.0f} max_ms={result['max_ms']:.0f} "
        f"lessons_shown_p50_ms={result['lessons_p50_ms']:.0f}"
    )
    return result
