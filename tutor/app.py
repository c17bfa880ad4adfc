"""The tutor app: a small shell that routes between screens and owns the session."""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, Iterable

from textual import work
from textual.app import App
from textual.binding import Binding

from engine import paths
from tutor.palette import LessonCommands
from tutor.core.session import Session


FIRST_FRAME_ENV = "TUTOR_BENCH_FIRST_FRAME"


class TutorApp(App):
    CSS_PATH = "tutor.tcss"
    TITLE = "tutor"
    COMMANDS = App.COMMANDS | {LessonCommands}
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        Binding("f2", "browse", "Lessons", id="browse"),
        Binding("f3", "runs", "Runs", id="runs"),
        Binding("f4", "speed", "Speed", id="speed"),
    ]

    def __init__(self, session: Session | None = None, lessons: Iterable[str] = (), *,
                 start_lesson: str | None = None, blink: bool = True, warm: bool = True,
                 speed: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.session = session or Session(lessons)
        self.speed = speed  # "" opens the speed menu; a lesson id starts that challenge
        self.clock = clock
        from engine.jobs.manager import JobManager

        self.jobs = JobManager()
        self.start_lesson = start_lesson
        self.blink = blink
        self.warm = warm

    def on_mount(self) -> None:
        from tutor.screens.home import HomeScreen

        self._load_keymap()
        self.push_screen(HomeScreen())
        if self.session.state.warning:
            self.notify(self.session.state.warning, severity="warning", timeout=10)
        if self.start_lesson:
            self.open_lesson(self.start_lesson)
        if self.speed is not None:
            self.action_speed()
            if self.speed:
                from tutor.core import timed as speed

                self.start_attempt(speed.new_challenge(self.session.item(self.speed).lesson, self.clock))
        if self.warm:
            self.warm_up()

    def report_startup(self, moment: str) -> None:
        """For `tutor bench startup`: print when a start-up moment happened (wall clock)."""
        print(f"{moment} at={time.time():.6f} torch_imported={'torch' in sys.modules}", flush=True)

    @work(thread=True, exit_on_error=False)
    def warm_up(self) -> None:
        """Start the runner in the background so the first check is quick."""
        self.session.warm_up()

    def _load_keymap(self) -> None:
        """User key remaps: binding id -> keys, in TUTOR_HOME/keymap.yaml."""
        path = paths.home() / "keymap.yaml"
        if not path.is_file():
            return
        import yaml

        try:
            keymap = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            self.set_keymap({str(k): str(v) for k, v in keymap.items()})
        except Exception as exc:  # a bad keymap must not stop the app
            self.notify(f"Ignoring {path}: {exc}", severity="warning")

    def open_lesson(self, lesson_id: str) -> None:
        from tutor.screens.workspace import WorkspaceScreen

        if self.session.catalog.get(lesson_id) is None:
            self.notify(f"No lesson {lesson_id!r}", severity="error")
            return
        # One workspace at a time: opening another lesson replaces it.
        while isinstance(self.screen, WorkspaceScreen) or self.screen.id == "browser-screen":
            self.pop_screen()
        self.push_screen(WorkspaceScreen(lesson_id))

    def action_browse(self, track: str | None = None) -> None:
        from tutor.screens.browser import BrowserScreen

        if isinstance(self.screen, BrowserScreen):
            return
        screen = BrowserScreen(track)
        screen.id = "browser-screen"
        self.push_screen(screen)

    def action_speed(self) -> None:
        from tutor.screens.speed import SpeedMenuScreen

        self.push_screen(SpeedMenuScreen())

    def start_attempt(self, attempt) -> None:
        from tutor.screens.speed import SpeedWorkspaceScreen

        self.push_screen(SpeedWorkspaceScreen(attempt))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # During a timed attempt, the ways to look things up stay shut.  (An attribute, not
        # an isinstance: this runs at start-up, before the speed screens are worth importing.)
        if getattr(self.screen, "locks_lookups", False) and action in ("browse", "command_palette", "runs", "speed"):
            return False
        return True

    def action_runs(self) -> None:
        from tutor.screens.runs import RunsScreen

        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen())

    def on_unmount(self) -> None:
        self.jobs.cancel_all()
        self.session.close()


def run_app(lessons: Iterable[str] = (), start_lesson: str | None = None, speed: str | None = None) -> int:
    bench = bool(os.environ.get(FIRST_FRAME_ENV))
    TutorApp(lessons=lessons, start_lesson=start_lesson, warm=not bench, speed=speed).run(headless=bench)
    return 0
