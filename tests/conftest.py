from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# Datasets are shared by every test (and kept between runs): fetching MNIST once is enough.
DATASETS = ROOT / ".cache" / "datasets"
os.environ["TUTOR_DATASETS"] = str(DATASETS)


def ensure_dataset(name: str) -> None:
    """Fetch a dataset a lesson needs into the shared test cache, once."""
    from engine.jobs import datasets

    try:
        datasets.verify(name)
    except datasets.DatasetError:
        datasets.SOURCES[name](log=lambda *_: None)


@pytest.fixture(autouse=True)
def tutor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own learner state and no extra lesson packs."""
    home = tmp_path / "home"
    monkeypatch.setenv("TUTOR_HOME", str(home))
    monkeypatch.delenv("TUTOR_LESSONS", raising=False)
    return home
