"""The headless core never imports textual, and `tutor list` never imports torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEADLESS = [
    "engine.lesson",
    "engine.loader",
    "engine.variants",
    "engine.paths",
    "engine.runner",
    "engine.checker",
    "engine.probe",
    "engine.sandbox",
    "engine.wire",
    "engine.compare",
    "engine.static",
    "engine.toy",
    "engine.filewatch",
    "engine.devcheck",
    "engine.bench",
    "engine.zygote",
    "tutor.session",
    "tutor.commands.check",
    "tutor.commands.watch",
    "tutor.commands.dev",
    "tutor.commands.stats",
    "tutor.commands.train",
    "tutor.commands.data",
    "tutor.commands.speed",
    "tutor.speed",
    "engine.training",
    "engine.jobs",
    "engine.datasets",
    "engine.series",
    "tutor.cli",
    "tutor.state",
    "tutor.render",
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
