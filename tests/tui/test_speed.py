"""Speed mode driven with Pilot and a controllable clock: countdown, splits, ghosts, time-outs, locks."""

from __future__ import annotations

from tests.tui.conftest import SIZE
from tutor.core import timed as speed
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
        {"challenge": "extra/challenge", "kind": "challenge", "score": 120, "time_to_green": 30.0,
         "splits": {"double doubles": 12.0, "halve halves": 30.0}}  # fmt: skip
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
