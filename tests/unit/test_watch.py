"""`tutor watch` as a user runs it: the exercise file appears, a save is checked, a pass moves on."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from engine.filewatch import FileWatcher
from tests.conftest import ROOT


def wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_watch_checks_each_save_and_moves_on(tutor_home):
    out_path = tutor_home.parent / "watch.out"
    env = dict(os.environ, COLUMNS="120")
    with open(out_path, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tutor.cli", "watch", "tensors/tridiagonal"],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
        )
    try:
        exercise = tutor_home / "workspace" / "tensors" / "tridiagonal.py"
        assert wait_for(exercise.exists), out_path.read_text()
        assert "def tridiagonal(n, center, side):" in exercise.read_text()
        assert wait_for(lambda: "every save is checked" in out_path.read_text())

        exercise.write_text("import torch\n\ndef tridiagonal(n, center, side):\n    return torch.eye(n)\n")
        assert wait_for(lambda: "NOT PASSED" in out_path.read_text()), out_path.read_text()

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
        assert wait_for(nxt.exists), out_path.read_text()
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


def test_file_watcher_sees_in_place_writes_and_renames(tmp_path: Path):
    target = tmp_path / "x.py"
    target.write_text("a")
    watcher = FileWatcher(target, poll_s=0.2)
    assert not watcher.wait(timeout=0.3)
    target.write_text("bb")
    assert watcher.wait(timeout=2)
    tmp = tmp_path / "x.py.swp"
    tmp.write_text("ccc")
    tmp.replace(target)  # how many editors save
    assert watcher.wait(timeout=2)
    watcher.close()
