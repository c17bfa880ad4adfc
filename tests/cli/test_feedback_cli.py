"""Feedback on the command line: the shape trace in `check --json`, and the reference beside your code once passed."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow

GOOD = "import torch\n\ndef grid(n, m):\n    rows = torch.arange(n)[:, None]\n    return 2 * rows + torch.arange(m)\n"
FLAT = "import torch\n\ndef grid(n, m):\n    rows = torch.arange(n)\n    cols = torch.arange(m)\n    return 2 * rows + cols\n"


def test_a_wrong_shape_is_traced_in_check_json(tmp_path):
    flat = tmp_path / "flat.py"
    flat.write_text(FLAT)
    report = json.loads(run_cli("check", "broadcasting/grid", str(flat), "--json", env={"TUTOR_HOME": str(tmp_path)}).stdout)
    assert report["passed"] is False and report["trace"]
    made = {e["name"]: e for e in report["trace"]}
    assert made["rows"]["line"] == 4 and made["cols"]["line"] == 5
    assert len(made["rows"]["shape"]) == 1 and len(made["cols"]["shape"]) == 1  # the 1-D aranges that never broadcast
    assert made.get("return", made.get("raises"))["line"] == 6


def test_the_reference_is_compared_only_after_a_pass(tmp_path):
    env = {"TUTOR_HOME": str(tmp_path)}
    good = tmp_path / "good.py"
    good.write_text(GOOD)
    early = run_cli("show", "broadcasting/grid", "--solution", env=env)
    assert early.returncode == 1 and "pass broadcasting/grid first" in early.stderr
    forced = run_cli("show", "broadcasting/grid", "--solution", "--force", env=env)
    assert forced.returncode == 0 and "reference" in forced.stdout and "torch.arange(n).view(-1, 1)" in forced.stdout

    assert run_cli("check", "broadcasting/grid", str(good), env=env).returncode == 0
    shown = run_cli("show", "broadcasting/grid", "--solution", "--file", str(good), "--json", env=env)
    data = json.loads(shown.stdout)
    assert data["passed"] is True and data["mine"] == GOOD and "def grid" in data["reference"]
    assert data["why"] and "broadcast" in data["why"]
    side = run_cli("show", "broadcasting/grid", "--solution", "--file", str(good), env=env, columns=140)
    first = next(line for line in side.stdout.splitlines() if "your code" in line)
    assert "reference" in first  # side by side on a wide terminal
    assert "Why the reference is written this way" in side.stdout
