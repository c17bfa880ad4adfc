"""What a person sees: home, the lesson browser and the workspace, as SVG snapshots."""

from __future__ import annotations

import pytest

from engine.lessons.loader import load_paths
from tests.conftest import DATA
from tutor.app import TutorApp, make_app
from tutor.core import clock
from tutor.core.session import Session

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def fixed_day(monkeypatch):
    """Home draws today's plan and a calendar that ends today: draw them on one fixed day."""
    monkeypatch.setenv(clock.NOW_ENV, "2026-12-01T09:00:00+00:00")
    monkeypatch.setenv("TZ", "UTC")


def app() -> TutorApp:
    # A fixed pack, not the growing curriculum: what is drawn changes only when the app does.
    catalog = load_paths([DATA / "snapshot-pack"])
    tutor = make_app(Session(catalog=catalog), blink=False, warm=False)
    tutor.animation_level = "none"
    return tutor


def test_home(snap_compare):
    assert snap_compare(app(), terminal_size=SIZE)


def test_browser(snap_compare):
    async def browse(pilot):
        await pilot.press("f2")
        await pilot.pause()

    assert snap_compare(app(), terminal_size=SIZE, run_before=browse)


def test_workspace(snap_compare):
    async def open_lesson(pilot):
        pilot.app.open_lesson("broadcasting/grid")
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(app(), terminal_size=SIZE, run_before=open_lesson)


def test_workspace_narrow(snap_compare):
    async def open_lesson(pilot):
        pilot.app.open_lesson("tensors/zeros")
        await pilot.pause()

    assert snap_compare(app(), terminal_size=(100, 30), run_before=open_lesson)
