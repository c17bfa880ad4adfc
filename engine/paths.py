"""Where tutor keeps the learner's state, datasets and caches.

TUTOR_HOME overrides everything (tests and portable installs); otherwise
platformdirs picks the platform's user data directory.
"""

from __future__ import annotations

import os
from pathlib import Path

# The folder holding the engine, tutor and lessons packages: spawned processes run from it.
SOURCE_ROOT = Path(__file__).resolve().parent.parent
BUILTIN_LESSONS = SOURCE_ROOT / "lessons"

HOME_ENV = "TUTOR_HOME"
DATASETS_ENV = "TUTOR_DATASETS"


def home() -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        path = Path(override).expanduser()
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("tutor", appauthor=False))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # inside a sandboxed check: read-only, and it exists already
    return path


def state_db() -> Path:
    return home() / "state.sqlite3"


def datasets_dir() -> Path:
    """TUTOR_DATASETS shares one copy of the datasets between homes (tests, several users)."""
    override = os.environ.get(DATASETS_ENV)
    return Path(override).expanduser() if override else home() / "datasets"


def workspace_dir() -> Path:
    """Exercise files for `tutor watch` and the external editor."""
    path = home() / "workspace"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Derived data that can be rebuilt at any time (the parsed-lesson cache)."""
    if os.environ.get(HOME_ENV):
        return home() / "cache"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tutor", appauthor=False))


def read_text(path: str | os.PathLike[str]) -> str:
    """A text file people write (code, lessons, settings): UTF-8, a leading BOM dropped.

    Editors on Windows save UTF-8 with a byte-order mark; Python would read it
    as a stray U+FEFF and refuse the code.
    """
    return Path(path).read_text(encoding="utf-8-sig")


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a process we spawn (a zygote, a sandboxed child, a training worker).

    Ours, with the project importable from wherever the user stands, and an
    empty CUDA_VISIBLE_DEVICES dropped rather than passed on.
    """
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES" or v}
    env["PYTHONPATH"] = os.pathsep.join([str(SOURCE_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env
