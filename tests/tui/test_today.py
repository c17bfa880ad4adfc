"""Today's plan in the app: one key starts it, ctrl+n carries on, reviews come back from memory."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from textual.widgets import OptionList

from tests.tui.conftest import SIZE, run_and_wait
from tutor.core import clock
from tutor.screens.home import HomeScreen
from tutor.screens.workspace import WorkspaceScreen

pytestmark = pytest.mark.slow

DAY1 = datetime(2026, 12, 1, 9, 0).astimezone()


async def _home_ready(pilot) -> HomeScreen:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(pilot.app.screen, HomeScreen)
    return pilot.app.screen


async def _solve(pilot) -> bool:
    """Type the reference in, press F5: did the check pass?"""
    screen = pilot.app.screen
    screen.editor.load_text(screen.lesson.solution)
    await run_and_wait(pilot)
    return screen.query_one("VerdictView").verdict.passed


def _plan_rows(home: HomeScreen) -> list[str]:
    options = home.query_one("#plan-list", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_t_starts_today_and_ctrl_n_carries_on_through_the_plan(make_app, monkeypatch):
    monkeypatch.setenv(clock.NOW_ENV, DAY1.isoformat())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        home = await _home_ready(pilot)
        plan = app.session.today()
        first, second = plan.items[0], plan.items[1]
        assert _plan_rows(home)[0].startswith("· new") and app.session.item(first.lesson_id).lesson.title in _plan_rows(home)[0]
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, WorkspaceScreen) and app.screen.lesson_id == first.lesson_id
        assert await _solve(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.lesson_id == second.lesson_id  # the plan's next item, not the course's
        await pilot.press("f9")
        await pilot.pause()
        rows = _plan_rows(app.screen)
        assert rows[0].startswith("✔") and rows[1].startswith("·")
        assert [i.lesson_id for i in app.session.today().items] == [i.lesson_id for i in plan.items]


async def test_a_due_review_opens_as_a_fresh_variant_from_memory_keeping_the_old_code(make_app, monkeypatch):
    monkeypatch.setenv(clock.NOW_ENV, DAY1.isoformat())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _home_ready(pilot)
        app.open_lesson("tensors/linspace")
        await pilot.pause()
        assert await _solve(pilot)
        passed_code = app.screen.editor.text
    monkeypatch.setenv(clock.NOW_ENV, (DAY1 + timedelta(days=40)).isoformat())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        home = await _home_ready(pilot)
        assert "review" in _plan_rows(home)[0] and "linspace" in _plan_rows(home)[0].lower()
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert screen.lesson_id == "tensors/linspace" and screen.variant == 1 and screen.from_memory
        assert screen.editor.text == screen.lesson.starter  # a fresh start, not the answer from last time
        assert passed_code in [v.text for v in app.session.state.versions("tensors/linspace")]
        assert "from memory" in str(screen.sub_title)
        assert await _solve(pilot)
        log = app.session.state.review_log("tensors/linspace")
        assert [day for day, _rating, _t in log] == [DAY1.date().isoformat(), (DAY1 + timedelta(days=40)).date().isoformat()]
