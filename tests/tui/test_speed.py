"""Speed mode driven with Pilot and a controllable clock: countdown, splits, ghosts, time-outs, locks."""

from __future__ import annotations

import asyncio

from tests.tui.conftest import SIZE
from tutor.core import timed as speed
from tutor.screens.modals import ConfirmScreen
from tutor.screens.speed import SpeedResultScreen, SpeedWorkspaceScreen


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def countdown(app) -> str:
    return str(app.screen.query_one("#countdown").render())


def split_cells(app) -> list[tuple[str, str, str]]:
    table = app.screen.query_one("#splits")
    return [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


async def start_challenge(pilot, clock: FakeClock):
    """Open the one-minute test challenge and return its workspace."""
    app = pilot.app
    app.start_attempt(speed.new_challenge(app.session.item("extra/challenge").lesson, clock))
    await pilot.pause()
    return app.screen


async def check_now(pilot) -> None:
    await pilot.press("f5")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def solve_current(pilot, clock: FakeClock, at: float) -> None:
    screen = pilot.app.screen
    clock.now = screen.attempt.started + at
    screen.editor.load_text(screen.lesson.solution)
    await check_now(pilot)


async def test_a_sprint_run_to_the_end_records_a_time_and_a_personal_best(make_app):
    clock = FakeClock()
    app = make_app(clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        attempt = speed.new_sprint(app.session.catalog, clock, seconds=120,
                                   items=[speed.Item("broadcasting/grid"), speed.Item("tensors/zeros", 7)])  # fmt: skip
        app.start_attempt(attempt)
        await pilot.pause()
        assert isinstance(app.screen, SpeedWorkspaceScreen)
        await solve_current(pilot, clock, 21.0)
        assert app.screen.attempt.current == 1  # moved on to the second drill
        await pilot.pause()
        assert "zeros" in app.screen.lesson_id and app.screen.variant == 7
        await solve_current(pilot, clock, 47.5)
        await pilot.pause()
        assert isinstance(app.screen, SpeedResultScreen)
        (record,) = app.session.state.speed_history("sprint")
        assert record["time_to_green"] == 47.5 and record["failed_runs"] == 0
        assert record["items"][0]["split_s"] == 21.0
        assert app.session.state.personal_best("sprint")["time_to_green"] == 47.5
        summary = str(app.screen.query_one("#result-summary").render())
        assert "new personal best" in summary and "00:48" in summary
        table = app.screen.query_one("#result-splits")
        first = [str(cell) for cell in table.get_row_at(0)]
        assert first[0] == "00:21" and first[2].startswith("1. ")  # the time is in view, the long name last


async def test_countdown_and_ghost_splits_are_right_to_the_second(make_app):
    clock = FakeClock()
    app = make_app(clock=clock)
    app.session.state.record_speed(
        {
            "challenge": "extra/challenge",
            "kind": "challenge",
            "skills": ["creation"],
            "score": 120,
            "time_to_green": 30.0,
            "splits": {"double doubles": 12.0, "halve halves": 30.0},
        }  # fmt: skip
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_challenge(pilot, clock)
        assert "01:00 left" in countdown(app)
        clock.now += 13.4
        screen.tick()
        assert "00:47 left" in countdown(app) and not screen.query_one("#countdown").has_class("warning")
        assert split_cells(app) == [("—", "00:12", "double doubles"), ("—", "00:30", "halve halves")]
        code = "def double(x):\n    return 2 * x\n\ndef halve(x):\n    return x\n"
        screen.editor.load_text(code)
        await check_now(pilot)  # one check green at 13.4 s, one failed run
        screen.tick()
        assert split_cells(app)[0] == ("00:13", "00:12", "double doubles")
        assert split_cells(app)[1][0] == "—"
        assert screen.attempt.failed_runs == 1 and screen.attempt.runs == 1


async def test_a_challenge_left_to_time_out_is_graded_and_its_code_saved(make_app):
    clock = FakeClock()
    app = make_app(clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_challenge(pilot, clock)
        code = "def double(x):\n    return 2 * x\n\ndef halve(x):\n    return x // 2\n"
        screen.editor.load_text(code)
        await pilot.pause()
        clock.now += 59.0
        screen.tick()
        assert screen.query_one("#countdown").has_class("warning")  # the last minute
        clock.now += 5.0  # past the limit, never pressed F5
        screen.tick()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, SpeedResultScreen)
        (record,) = app.session.state.speed_history("extra/challenge")
        assert record["timed_out"] is True and record["time_to_green"] is None
        assert record["passed_checks"] == 1 and record["splits"] == {"double doubles": 60.0}
        assert record["code"]["0"] == code
        assert app.session.state.code("speed:extra/challenge") == code


async def test_hints_solutions_browser_and_palette_stay_locked(make_app):
    clock = FakeClock()
    app = make_app(clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_challenge(pilot, clock)
        for key in ("f1", "f8", "f2", "f6", "f7", "ctrl+n", "ctrl+p", "f3"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen, f"{key} left the attempt"
        assert app.session.state.progress("extra/challenge").hints_used == 0
        task = str(screen.query_one("#task").source if hasattr(screen.query_one("#task"), "source") else "")
        assert "double(torch.ones(2))" not in task  # the task's code example is hidden
        assert "from memory" in task


async def wait_for_child(screen) -> None:
    for _ in range(200):  # until the sandboxed child is really running
        await asyncio.sleep(0.05)
        if screen.check_run is not None and screen.check_run._child is not None:
            return
    raise AssertionError("the check never started")


async def test_time_out_during_a_check_grades_the_final_code_without_a_penalty(make_app):
    clock = FakeClock()
    app = make_app(clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_challenge(pilot, clock)
        screen.editor.load_text("import time\ntime.sleep(30)\n")
        await pilot.press("f5")
        await wait_for_child(screen)
        screen.editor.load_text(screen.lesson.solution)  # fixed while the slow run was still going
        clock.now += 61.0
        screen.tick()
        await app.workers.wait_for_complete()
        for _ in range(5):
            await pilot.pause()
        assert isinstance(app.screen, SpeedResultScreen)
        (record,) = app.session.state.speed_history("extra/challenge")
        assert record["timed_out"] is True
        assert record["passed_checks"] == 2  # the final code was graded, not the killed run
        assert record["failed_runs"] == 0 and record["runs"] == 0  # grading is not one of the learner's runs


async def test_finish_now_grades_the_code_as_it_stands(make_app):
    clock = FakeClock()
    app = make_app(clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_challenge(pilot, clock)
        screen.editor.load_text("def double(x):\n    return 2 * x\n")
        clock.now += 20.0
        await pilot.press("ctrl+g")
        await app.workers.wait_for_complete()
        for _ in range(5):
            await pilot.pause()
        assert isinstance(app.screen, SpeedResultScreen)
        (record,) = app.session.state.speed_history("extra/challenge")
        assert record["timed_out"] is False and record["splits"] == {"double doubles": 20.0}
        assert record["failed_runs"] == 0


async def test_locked_keys_never_reach_the_editor(make_app):
    """F7 is locked in a timed attempt; it must not fall through to select-all (the next key would replace all)."""
    clock = FakeClock()
    app = make_app(clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_challenge(pilot, clock)
        screen.editor.focus()
        before = screen.editor.text
        for key in ("f6", "f7"):
            await pilot.press(key)
            await pilot.press("z")
        assert screen.editor.text.count("z") == 2 and len(screen.editor.text) == len(before) + 2


async def test_every_enforced_rule_is_shown_in_a_timed_task(make_app):
    clock = FakeClock()
    app = make_app(clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        lesson = app.session.item("broadcasting/grid").lesson  # a drill with a no-loops rule
        assert lesson.constraints.no_loops
        app.start_attempt(speed.new_challenge(lesson, clock))
        await pilot.pause()
        task = app.screen.query_one("#task").source
        assert "Rules" in task and "loop" in task


async def test_quitting_during_a_timed_attempt_asks_first(make_app):
    clock = FakeClock()
    app = make_app(clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_challenge(pilot, clock)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and app.is_running
