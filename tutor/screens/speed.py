"""Speed mode: pick a timed challenge or a sprint, race the clock, see the score and the history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DataTable, Header, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from tutor.core import timed as speed
from tutor.core.checkrun import CheckRun
from tutor.core.render import constraints_text
from tutor.core.text import plural
from tutor.screens.workspace import WorkspaceScreen
from tutor.widgets.chart import MetricsChart
from tutor.widgets.footer import KeyFooter

TICK_S = 0.2


def clock_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes:02d}:{secs:02d}"


class SpeedMenuScreen(Screen):
    """Challenges with their limits and personal bests; sprints; retry what you missed."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="back")]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="speed-menu"):
            yield Static(
                "From memory, against the clock: hints, solutions and the browser are locked while the clock runs.",
                id="speed-intro",
            )
            yield OptionList(id="speed-list")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Speed"
        self.sub_title = "timed challenges and sprints"
        self.fill()
        self.query_one(OptionList).focus()

    def on_screen_resume(self) -> None:
        self.fill()

    def fill(self) -> None:
        session = self.app.session
        options = self.query_one(OptionList)
        options.clear_options()
        for seconds in speed.SPRINT_SECONDS:
            options.add_option(Option(f"Sprint · {seconds} s of drills, one after another", id=f"sprint:{seconds}"))
        history = session.state.speed_history("sprint")
        if speed.missed_items(history):
            options.add_option(Option("Sprint · retry what you missed or were slowest on", id="retry"))
        for track in speed.placement_tracks(session.catalog):
            title = session.catalog.track_title(track)
            options.add_option(Option(Text(f"Placement · {title}: pass what you know, skip what you don't (10–15 min)"),
                                      id=f"placement:{track}"))  # fmt: skip
        for lesson in speed.challenges(session.catalog):
            best = session.state.personal_best(lesson.id)
            pb = f"best {clock_text(best['time_to_green'])}" if best and best.get("time_to_green") else "no best yet"
            limit = lesson.time_limit or lesson.minutes * 60
            options.add_option(Option(Text(f"{lesson.title} · {clock_text(limit)} · {pb}"), id=f"challenge:{lesson.id}"))
        options.highlighted = 0

    @on(OptionList.OptionSelected)
    def _start(self, event: OptionList.OptionSelected) -> None:
        kind, _, value = (event.option.id or "").partition(":")
        session = self.app.session
        if kind == "sprint":
            attempt = speed.new_sprint(session.catalog, self.app.clock, seconds=int(value))
        elif kind == "placement":
            attempt = speed.new_placement(session.catalog, value, self.app.clock)
        elif kind == "retry":
            items = speed.missed_items(session.state.speed_history("sprint"))
            attempt = speed.new_sprint(session.catalog, self.app.clock, seconds=120, items=items)
        else:
            attempt = speed.new_challenge(session.item(value).lesson, self.app.clock)
        self.app.start_attempt(attempt)


class SpeedWorkspaceScreen(WorkspaceScreen):
    """The workspace against the clock: a countdown, splits beside the best's, locked help."""

    mode = "speed"
    locks_lookups = True  # the app keeps the browser, palette and runs shut while the clock runs
    LOCKED = {"hint", "solution", "browse", "external", "versions", "next", "reset", "sheet"}
    BINDINGS = [
        Binding("f5", "run", "Run & check", id="run", priority=True),
        Binding("escape,ctrl+c", "stop", "Stop", id="stop", priority=True),
        Binding("ctrl+g", "give_up", "Finish now", id="give-up", priority=True),
        Binding("ctrl+k", "skip", "Skip drill", id="skip", priority=True),
    ]

    def __init__(self, attempt: speed.Attempt) -> None:
        item = attempt.item
        super().__init__(item.lesson_id, item.variant)
        self.attempt = attempt
        self.ghost: dict[str, float] = {}
        self._grading: tuple[float, bool] | None = None  # (graded at, timed out) once the end is called

    @property
    def save_key(self) -> str:
        return f"speed:{self.lesson_id}"

    def initial_code(self) -> str:
        return self.lesson.starter

    def compose_task(self) -> ComposeResult:
        yield Static("", id="countdown")
        yield Markdown(self._task_markdown(self.lesson), id="task")
        yield DataTable(id="splits", cursor_type="none", show_cursor=False)

    def _task_markdown(self, lesson: Any) -> str:
        position = f"Drill {self.attempt.current + 1} of {len(self.attempt.items)} · " if self.attempt.kind == "sprint" else ""
        rules = constraints_text(lesson)  # every rule the checker enforces, shown even from memory
        shown = "\n\n**Rules**\n\n" + "\n".join(f"- {r}" for r in rules) if rules else ""
        return f"# {lesson.title}\n\n*{position}from memory*\n\n" + speed.strip_code_examples(lesson.task) + shown

    def on_mount(self) -> None:
        super().on_mount()
        best = self.session.state.personal_best(self.attempt.challenge)
        self.ghost = (best or {}).get("splits", {})  # the best attempt's splits, run beside yours
        self.sub_title = f"speed · {self.attempt.challenge}"
        table = self.query_one("#splits", DataTable)
        table.add_columns("split", "best", "check")
        self.set_interval(TICK_S, self.tick)
        self.tick()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.LOCKED:
            return False
        if action == "give_up":
            return not self.attempt.done and self._grading is None
        if action == "skip":
            return self.attempt.kind == "sprint" and not self.attempt.done and self._grading is None
        return super().check_action(action, parameters)

    # --- the clock ---------------------------------------------------------------------------

    def tick(self) -> None:
        now = self.app.clock()
        remaining = self.attempt.remaining(now)
        label = self.query_one("#countdown", Static)
        label.update(Text(f"⏱ {clock_text(remaining)} left", style="bold"))
        label.set_class(self.attempt.warning(now), "warning")
        self.show_splits()
        if self.attempt.expired(now) and self._grading is None:
            self.time_up()

    def show_splits(self) -> None:
        table = self.query_one("#splits", DataTable)
        table.clear()
        names = self.attempt.check_names or [c.name for c in self.lesson.checks]
        for name in names:
            split = self.attempt.splits.get(name)
            ghost = self.ghost.get(name)
            style = (
                "green" if split is not None and (ghost is None or split <= ghost) else "yellow" if split is not None else "dim"
            )
            table.add_row(Text(clock_text(split), style=style), Text(clock_text(ghost), style="dim"), name)

    def time_up(self) -> None:
        """Time is out: grade the code as it stands at the limit."""
        self.notify("Time is up: grading your code as it stands.", severity="warning", timeout=4)
        self._grade_final(self.attempt.started + self.attempt.limit_s, timed_out=True)

    def action_give_up(self) -> None:
        """Finish now: grade the code as it stands, and end the attempt."""
        self._grade_final(self.app.clock(), timed_out=False)

    def _grade_final(self, at: float, timed_out: bool) -> None:
        """Stop any run in flight (its verdict will be dropped) and check the code one last time."""
        self._grading = (at, timed_out)
        if self.check_run is not None:
            self.check_run.cancel()
            self.check_run = None
        self.refresh_bindings()
        self.action_run()

    def action_skip(self) -> None:
        """Leave this drill unsolved (a placement is for what you know) and go on."""
        if self.check_run is not None:
            self.check_run.cancel()
            self.check_run = None
        self.attempt.code[self.attempt.current] = self.editor.text
        self.attempt.skip(self.app.clock())
        if self.attempt.done:
            self.end_attempt()
        else:
            self.app.switch_screen(SpeedWorkspaceScreen(self.attempt))

    # --- checks ---------------------------------------------------------------------------------

    def action_run(self) -> None:
        self.attempt.code[self.attempt.current] = self.editor.text
        super().action_run()

    def verdict_arrived(self, run: CheckRun, verdict: Any) -> None:
        super().verdict_arrived(run, verdict)
        if self._grading is not None:
            at, timed_out = self._grading
            self.attempt.record(verdict, at, final=True)
            self.attempt.finish(at, timed_out=timed_out)
            self.end_attempt()
            return
        now = self.app.clock()
        if self.attempt.expired(now):
            return  # the clock ran out while this run was in flight: time_up grades afresh
        before = self.attempt.current
        self.attempt.record(verdict, now)
        self.show_splits()
        if self.attempt.done:
            self.end_attempt()
        elif self.attempt.current != before:
            self.app.switch_screen(SpeedWorkspaceScreen(self.attempt))

    def end_attempt(self) -> None:
        self.session.state.record_speed(self.attempt.to_record())
        self.app.switch_screen(SpeedResultScreen(self.attempt))


class SpeedResultScreen(Screen):
    BINDINGS = [Binding("escape", "back", "Back", id="back"), Binding("r", "again", "Again", id="again")]

    def __init__(self, attempt: speed.Attempt) -> None:
        super().__init__()
        self.attempt = attempt

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="speed-result"):
            yield Static(id="result-summary")
            with Horizontal(id="result-body"):
                yield DataTable(id="result-splits", cursor_type="none")
                yield MetricsChart(title="time to all-green, attempt by attempt (s)", empty="no all-green attempt yet",
                                   x_label="attempt", id="history-chart")  # fmt: skip
            with Horizontal(id="result-actions"):
                yield Button("Again (r)", id="again", variant="primary")
                yield Button("Back to speed (Esc)", id="back")
        yield KeyFooter()

    def on_mount(self) -> None:
        attempt = self.attempt
        session = self.app.session
        self.title = "Result"
        history = session.state.speed_history(attempt.challenge)
        best = session.state.personal_best(attempt.challenge)
        previous = [r for r in history[:-1] if r.get("time_to_green") is not None]
        new_best = attempt.time_to_green is not None and all(attempt.time_to_green < r["time_to_green"] for r in previous)
        lines = [
            Text.assemble(
                ("Score ", "bold"),
                (str(attempt.score()), "bold cyan"),
                ("  ★ new personal best" if new_best else "", "bold yellow"),
            ),  # fmt: skip
            Text(
                self._progress_text(attempt) + " · "
                f"time to all-green {clock_text(attempt.time_to_green)} · {attempt.runs} runs, {attempt.failed_runs} failed"
                + (" · time ran out: graded as it stood" if attempt.timed_out else "")
            ),  # fmt: skip
            Text(
                f"personal best: {clock_text(best.get('time_to_green'))} (score {best['score']})" if best else "first attempt",
                style="dim",
            ),
            Text(
                f"score = 100 × share of {'drills solved' if attempt.kind == 'sprint' else 'checks green'}"
                " + up to 50 for time left − 5 per failed run",
                style="dim",
            ),  # fmt: skip
        ]
        self.query_one("#result-summary", Static).update(Text("\n").join(lines))
        table = self.query_one("#result-splits", DataTable)
        table.add_columns("split", "best", "check")  # times first: check names are long
        ghost = (best or {}).get("splits", {}) if not new_best else {}
        for name in attempt.check_names:
            table.add_row(clock_text(attempt.splits.get(name)), clock_text(ghost.get(name)), name)
        for number, item in enumerate(attempt.items[attempt.current + 1 :], start=attempt.current + 2):
            if attempt.kind == "sprint" and not item.passed:  # drills the clock never reached, or skipped
                table.add_row("—", "—", f"{number}. {session.item(item.lesson_id).lesson.title} (not reached)")
        chart = self.query_one(MetricsChart)
        for index, record in enumerate(history, start=1):
            if record.get("time_to_green") is not None:
                chart.add({"step": index, "time to green": record["time_to_green"]})
        days = sorted({dt.date.fromtimestamp(r["at"]).isoformat() for r in history})
        self.sub_title = f"{plural(len(history), 'attempt')} over {plural(len(days), 'day')}"

    @staticmethod
    def _progress_text(attempt: speed.Attempt) -> str:
        checks = f"{attempt.passed_checks} of {len(attempt.check_names)} checks green"
        if attempt.kind != "sprint":
            return checks
        return f"{attempt.solved_items} of {len(attempt.items)} drills solved ({checks})"

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_again() if event.button.id == "again" else self.action_back()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_again(self) -> None:
        attempt = speed.again(self.attempt, self.app.session.catalog, self.app.clock)
        self.app.pop_screen()
        self.app.start_attempt(attempt)
