"""A quiz in the app: the snippet shows even from memory, a typed answer is decided, a mistake named."""

from __future__ import annotations

import pytest

from tests.tui.conftest import SIZE, run_and_wait
from tests.tui.test_speed import FakeClock
from tutor.core import timed as speed
from tutor.screens.speed import SpeedResultScreen, SpeedWorkspaceScreen
from tutor.screens.workspace import WorkspaceScreen

pytestmark = pytest.mark.slow

QUIZ = "broadcasting/quiz-sum-shape"  # variant 3: ones((1, 4)) + ones((3, 1)); variant 2: (2, 3) + (6,) raises


async def _answer(pilot, text: str):
    screen = pilot.app.screen
    screen.editor.load_text(text)
    await run_and_wait(pilot)
    return screen.query_one("VerdictView").verdict


async def test_a_quiz_answered_in_the_workspace_and_reviewed_from_memory(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.app.workers.wait_for_complete()
        app.session.state.set_lesson_variant(QUIZ, 3)
        app.open_lesson(QUIZ)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, WorkspaceScreen) and "torch.ones((3, 1))" in screen._task_markdown(screen.lesson)
        assert "Type your prediction" in str(screen.query_one("VerdictView").last_shown)  # not "run your code"
        wrong = await _answer(pilot, "(1, 4)")
        assert not wrong.passed and wrong.checks[0].mistake == "took the first operand's shape for the result"
        assert wrong.checks[0].expected == "(3, 4)"
        assert (await _answer(pilot, "3, 4")).passed
        assert app.session.state.progress(QUIZ).status == "done" and QUIZ in app.session.state.cards()
        screen.from_memory = True  # a review hides the task's code examples, never the quiz's snippet
        assert "torch.ones((3, 1))" in screen._task_markdown(screen.lesson)


async def test_a_quiz_in_a_sprint_takes_an_error_for_an_answer(make_app):
    clock = FakeClock()
    app = make_app(clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.app.workers.wait_for_complete()
        app.start_attempt(speed.new_sprint(app.session.catalog, clock, seconds=120, items=[speed.Item(QUIZ, 2)]))
        await pilot.pause()
        assert isinstance(app.screen, SpeedWorkspaceScreen)
        assert not (await _answer(pilot, "(2, 6)")).passed
        clock.now += 10
        app.screen.editor.load_text("error: RuntimeError")
        await pilot.press("f5")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, SpeedResultScreen) and app.screen.attempt.solved_items == 1
