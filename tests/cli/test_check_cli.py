"""`tutor check` as a user runs it: exit codes, JSON, the side-by-side failure."""

from __future__ import annotations

import json

from tests.conftest import ROOT, run_cli

tutor = run_cli


def test_check_pass_fail_and_usage_errors(tmp_path):
    good = tmp_path / "good.py"
    good.write_text("import torch\n\ndef grid(n, m):\n    return 2 * torch.arange(n)[:, None] + torch.arange(m)\n")
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\n\ndef grid(n, m):\n    return torch.arange(n)[:, None] + 2 * torch.arange(m)\n")
    looped = tmp_path / "loop.py"
    looped.write_text(
        "import torch\n\ndef grid(n, m):\n    return torch.tensor([[2 * i + j for j in range(m)] for i in range(n)])\n"
    )

    ok = tutor("check", "broadcasting/grid", str(good))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASSED" in ok.stdout

    fail = tutor("check", "broadcasting/grid", str(bad))
    assert fail.returncode == 1
    assert "expected" in fail.stdout and "actual" in fail.stdout
    words = " ".join(fail.stdout.replace("│", " ").split())
    assert "doubled the column index instead of the row index" in words  # the decoy's mistake, named

    report = json.loads(tutor("check", "broadcasting/grid", str(looped), "--json").stdout)
    assert report["passed"] is False
    assert {"passed", "checks", "stdout", "stderr", "duration_ms"} <= set(report)
    rule = report["checks"][0]
    assert rule["passed"] is False and "list comprehension" in rule["message"]

    assert tutor("check", "no/such-lesson", str(good)).returncode == 2
    assert tutor("check", "broadcasting/grid", str(tmp_path / "missing.py")).returncode == 2


def test_check_accepts_a_lesson_file_and_trims_tracebacks(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\n\ndef grid(n, m):\n    return torch.arange(n) @ torch.arange(m).float()\n")
    out = tutor("check", str(ROOT / "lessons" / "broadcasting" / "grid.yaml"), str(broken), "--json")
    report = json.loads(out.stdout)
    tb = report["checks"][0]["traceback"]
    assert "line 4, in grid" in tb and "RuntimeError" in tb
    assert "engine/probe.py" not in tb and "torch/" not in tb


def test_a_check_is_recorded_as_an_attempt(tmp_path):
    good = tmp_path / "good.py"
    good.write_text("import torch\nz = torch.zeros((1, 10), dtype=torch.bool)\n")
    tutor("check", "tensors/zeros", str(good))
    rows = {r["id"]: r for r in json.loads(tutor("list", "--json").stdout)}
    assert rows["tensors/zeros"]["status"] in ("done", "attempted")


def test_a_lesson_whose_dataset_is_missing_says_how_to_get_it_and_nothing_else(tmp_path):
    code = tmp_path / "mlp.py"
    code.write_text("def train(*args):\n    return []\n")
    out = tutor("check", "engine-from-scratch/tensor-mlp", str(code), env={"TUTOR_DATASETS": str(tmp_path / "none")})
    assert out.returncode == 1
    assert "run `tutor data get mnist`" in out.stdout
    assert "Traceback" not in out.stderr  # the sandbox, stopped while it was starting, leaves no trace behind
