"""`tutor watch` as a user runs it: the exercise file appears, a save is checked, a pass moves on."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, wait_until


def test_watch_checks_each_save_and_moves_on(tutor_home):
    out_path = tutor_home.parent / "watch.out"
    env = dict(os.environ, COLUMNS="120")
    with open(out_path, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tutor.cli", "watch", "tensors/tridiagonal"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env,
        )
    try:
        exercise = tutor_home / "workspace" / "tensors" / "tridiagonal.py"
        assert wait_until(exercise.exists), out_path.read_text()
        assert "def tridiagonal(n, center, side):" in exercise.read_text()
        assert wait_until(lambda: "every save is checked" in out_path.read_text())

        exercise.write_text("import torch\n\ndef tridiagonal(n, center, side):\n    return torch.eye(n)\n")
        assert wait_until(lambda: "NOT PASSED" in out_path.read_text()), out_path.read_text()

        solution = (
            "import torch\n\ndef tridiagonal(n, center, side):\n"
            "    off = torch.full((n - 1,), float(side))\n"
            "    return torch.diag(torch.full((n,), float(center))) + torch.diag(off, 1) + torch.diag(off, -1)\n"
        )
        exercise.write_text(solution)
        from tutor.core.session import Session

        next_id = Session().next_id("tensors/tridiagonal")
        track, _, name = next_id.partition("/")
        nxt = tutor_home / "workspace" / track / f"{name}.py"
        assert wait_until(nxt.exists), out_path.read_text()
        text = out_path.read_text()
        assert "PASSED" in text.replace("NOT PASSED", "") and f"Next: {next_id}" in text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    from tutor.core.state import State

    state = State()
    assert state.progress("tensors/tridiagonal").status == "done"
    assert state.code("tensors/tridiagonal") == solution
    assert any("torch.eye(n)" in v.text for v in state.versions("tensors/tridiagonal"))


def test_saves_are_seen_whether_written_in_place_or_renamed_over(tmp_path: Path):
    import queue
    import threading

    from tutor.commands.watch import _saves

    target = tmp_path / "x.py"
    target.write_text("a")
    seen: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [seen.put(t) for t in _saves(target, "a")], daemon=True).start()
    time.sleep(0.5)  # the watch is in place
    target.write_text("bb")
    assert seen.get(timeout=5) == "bb"
    tmp = tmp_path / "x.py.swp"
    tmp.write_text("\ufeffccc", encoding="utf-8")  # how many editors save: a new file renamed over; with a BOM
    tmp.replace(target)
    assert seen.get(timeout=5) == "ccc"
