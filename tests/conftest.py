"""Shared by every test: an own learner home, the dataset cache, one way to run the CLI, one wait_until."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# Datasets are shared by every test (and kept between runs): fetching MNIST once is enough.
DATASETS = ROOT / ".cache" / "datasets"
os.environ["TUTOR_DATASETS"] = str(DATASETS)
# One compute thread for torch in every test process and everything it starts. With two pytest
# workers on two cores, a torch process with a thread per core oversubscribes them, and torch's
# spinning workers then slow the single-threaded sandbox children next door three- to fourfold
# (a real-MNIST lesson's self-test: 56 s alone, 210 s beside one such process, 94 s beside it
# when it had one thread). Set before anything imports torch; children inherit it.
for _threads in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")


def ensure_dataset(name: str) -> None:
    """Fetch a dataset a lesson needs into the shared test cache, once, even with several workers."""
    from filelock import FileLock

    from engine.jobs import datasets

    DATASETS.mkdir(parents=True, exist_ok=True)
    with FileLock(str(DATASETS / f".{name}.lock")):
        try:
            datasets.verify(name)
        except datasets.DatasetError:
            datasets.SOURCES[name](log=lambda *_: None)


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180, columns: int = 120,
            cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """`tutor ARGS...` in a fresh interpreter, as a user runs it; output captured as text."""
    full_env = dict(os.environ, COLUMNS=str(columns), **(env or {}))
    return subprocess.run([sys.executable, "-m", "tutor.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=full_env, timeout=timeout)  # fmt: skip


def wait_until(predicate: Callable[[], object], timeout: float = 60.0, interval: float = 0.05) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass; the last answer, as a bool."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


@pytest.fixture(autouse=True)
def tutor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own learner state and no extra lesson packs."""
    home = tmp_path / "home"
    monkeypatch.setenv("TUTOR_HOME", str(home))
    monkeypatch.delenv("TUTOR_LESSONS", raising=False)
    return home


@pytest.fixture(scope="module")
def checker() -> Iterator[object]:
    """A checker on one warm runner, shared by a module's tests."""
    from engine.checks.checker import Checker
    from engine.sandbox.client import Runner

    with Runner() as runner:
        yield Checker(runner)
