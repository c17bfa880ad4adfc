"""The architecture holds: import contracts, no textual in the headless code, ruff clean."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import engine
import tutor
import tutor.commands
import tutor.core
from tests.conftest import ROOT

BIN = Path(sys.executable).parent


def _modules(package) -> list[str]:
    return [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]


# Found by walking the packages, so a new module is covered the day it is written.
HEADLESS = _modules(engine) + _modules(tutor.core) + _modules(tutor.commands) + ["tutor.cli"]


def fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_the_import_contracts_hold():
    """engine ↛ tutor/textual; core and commands ↛ UI; lessons ↛ sandbox/checks; no cycles (pyproject.toml)."""
    out = subprocess.run([BIN / "lint-imports"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_the_walk_finds_every_headless_module():
    assert {"engine.events", "engine.sandbox.probe", "engine.jobs.worker", "tutor.core.session", "tutor.commands.check"} <= set(
        HEADLESS
    )


def test_no_headless_module_imports_textual():
    imports = "\n".join(f"import {name}" for name in HEADLESS)
    out = fresh(
        f"import sys\n{imports}\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_plotext')))"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"textual imported by one of {HEADLESS}"


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


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_is_clean(command):
    out = subprocess.run([BIN / "ruff", *command, "."], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
