"""The headless core never imports textual, and `tutor list` never imports torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEADLESS = [
    "engine.lessons.format",
    "engine.lessons.loader",
    "engine.lessons.variants",
    "engine.paths",
    "engine.sandbox.client",
    "engine.checks.checker",
    "engine.sandbox.probe",
    "engine.sandbox.confine",
    "engine.sandbox.codec",
    "engine.checks.compare",
    "engine.checks.static",
    "engine.jobs.toy",
    "engine.checks.selftest",
    "engine.bench",
    "engine.sandbox.zygote",
    "tutor.core.session",
    "tutor.commands.check",
    "tutor.commands.watch",
    "tutor.commands.dev",
    "tutor.commands.stats",
    "tutor.commands.train",
    "tutor.commands.data",
    "tutor.commands.speed",
    "tutor.core.timed",
    "engine.jobs.worker",
    "engine.jobs.manager",
    "engine.jobs.datasets",
    "engine.jobs.series",
    "tutor.cli",
    "tutor.core.state",
    "tutor.core.render",
    "tutor.commands.browse",
    "tutor.commands.authoring",
    "tutor.commands.doctor",
]


def fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_module_does_not_import_textual(module):
    out = fresh(f"import sys, {module}; print('textual' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_tutor_list_does_not_import_torch_or_textual():
    code = (
        "import sys, io, contextlib\n"
        "from tutor.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['list'])\n"
        "print(code, 'torch' in sys.modules, 'textual' in sys.modules)"
    )
    out = fresh(code)
    assert out.stdout.split() == ["0", "False", "False"], out.stderr
