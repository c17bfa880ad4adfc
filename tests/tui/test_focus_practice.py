"""Placement, weakest skills and your mistakes, driven from the app's keys."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from tests.tui.conftest import SIZE
from tests.tui.test_speed import FakeClock, solve_current
from tutor.core import review
from tutor.screens.home import HomeScreen
from tutor.screens.speed import SpeedMenuScreen, SpeedResultScreen, SpeedWorkspaceScreen

pytestmark = pytest.mark.slow


async def _home(pilot) -> HomeScreen:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return pilot.app.screen


async def test_a_placement_marks_what_you_pass_as_learned_and_lets_you_skip_the_rest(make_app):
    clock = FakeClock()
    app = make_app(clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await _home(pilot)
        await pilot.press("f4")
        await pilot.pause()
        assert isinstance(app.screen, SpeedMenuScreen)
        options = app.screen.query_one(OptionList)
        index = next(i for i in range(options.option_count) if options.get_option_at_index(i).id == "placement:tensors")
        options.highlighted = index
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SpeedWorkspaceScreen) and screen.attempt.challenge == "placement:tensors"
        first = screen.attempt.items[0].lesson_id
        await solve_current(pilot, clock, at=20)
        assert app.screen.attempt.current == 1  # passed: on to the next drill
        while isinstance(app.screen, SpeedWorkspaceScreen):
            await pilot.press("ctrl+k")  # the rest: not known, skipped without a failed run
            await pilot.pause()
        assert isinstance(app.screen, SpeedResultScreen)
        assert app.screen.attempt.failed_runs == 0 and app.screen.attempt.solved_items == 1
        state = app.session.state
        assert first in state.cards() and state.progress(first).status == "done"
        assert first not in [i.lesson_id for i in app.session.today().left]  # learned: not offered as new today


async def test_m_drills_the_lessons_of_your_most_frequent_mistakes(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _home(pilot)
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)  # nothing recorded yet: a message, no empty sprint
        state = app.session.state
        state.record_mistakes("broadcasting/grid", ["swapped i and j"], ["broadcasting"])
        state.record_mistakes("broadcasting/grid", ["swapped i and j"], ["broadcasting"])
        state.record_mistakes("tensors/linspace", ["off by one"], ["creation"])
        app.screen.refresh_home()
        await pilot.pause()
        assert "2× swapped i and j" in str(app.screen.query_one("#mistakes").render())
        await pilot.press("m")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SpeedWorkspaceScreen) and screen.attempt.challenge == "mistakes"
        assert [i.lesson_id for i in screen.attempt.items] == ["broadcasting/grid", "tensors/linspace"]


async def test_w_practises_the_weakest_skills(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _home(pilot)
        state, catalog = app.session.state, app.session.catalog
        state.record_attempt("tensors/linspace", passed=False, checks_passed=0, checks_total=1, duration_ms=5)
        review.record(state, catalog.get("tensors/linspace").lesson)
        app.screen.refresh_home()
        await pilot.pause()
        weakest = review.mastery(state, [i.lesson for i in catalog.lessons])[0]
        assert weakest.skill in str(app.screen.query_one("#skills").render())
        await pilot.press("w")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SpeedWorkspaceScreen) and screen.attempt.challenge == "weakest"
        assert screen.attempt.items[0].lesson_id == "tensors/linspace"  # practised and fading: first
        practised = {m.skill for m in review.mastery(state, [i.lesson for i in catalog.lessons]) if m.practised}
        assert all(practised & set(catalog.get(i.lesson_id).lesson.skills) for i in screen.attempt.items)
