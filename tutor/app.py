"""The tutor app: a small shell that routes between screens and owns the session.

`make_app()` builds it, for the command line and for every test alike.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, Iterable

from textual import events, work
from textual.app import App
from textual.binding import Binding

from engine import paths
from tutor.core.envvars import FIRST_FRAME_ENV, KEY_LATENCY_ENV
from tutor.core.session import Session
from tutor.messages import CatalogLoaded, JobUpdate
from tutor.palette import LessonCommands


class TutorApp(App):
    CSS_PATH = "tutor.tcss"
    TITLE = "tutor"
    COMMANDS = App.COMMANDS | {LessonCommands}
    BINDINGS = [
        # Shown in the footer by the screens where they matter most; they work everywhere.
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        Binding("f9", "home", "Home", id="home", show=False),
        Binding("f2", "browse", "Lessons", id="browse", show=False),
        Binding("f3", "runs", "Runs", id="runs", show=False),
        Binding("f4", "speed", "Speed", id="speed", show=False),
    ]

    def __init__(self, session: Session, *, start_lesson: str | None = None, blink: bool = True, warm: bool = True,
                 speed: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        super().__init__()
        self.session = session
        self.speed = speed  # "" opens the speed menu; a lesson id starts that challenge
        self.clock = clock
        from engine.jobs.manager import TrainingManager

        # The reader threads post each job event; the Runs screen updates from these messages.
        self.jobs = TrainingManager(listener=lambda run_id: self.post_message(JobUpdate(run_id)))
        self.start_lesson = start_lesson
        self.blink = blink
        self.warm = warm
        self._key_log = os.environ.get(KEY_LATENCY_ENV) or None
        self.in_plan = False  # working through today's plan: ctrl+n moves to its next item

    def on_mount(self) -> None:
        from tutor.screens.home import HomeScreen

        self._load_keymap()
        self.push_screen(HomeScreen())
        if self.session.state.warning:
            self.notify(self.session.state.warning, severity="warning", timeout=10, markup=False)
        if self.start_lesson:
            self.open_lesson(self.start_lesson)
        if self.speed is not None:
            self.action_speed()
            if self.speed:
                from tutor.core import timed as speed

                self.start_attempt(speed.new_challenge(self.session.item(self.speed).lesson, self.clock))
        self.load_catalog()

    @work(thread=True, exit_on_error=False, group="catalog")
    def load_catalog(self) -> None:
        """Read every lesson off the UI thread (pydantic validation of ~150 files), then warm the runner."""
        catalog = self.session.catalog
        self.post_message(CatalogLoaded(list(catalog.errors)))
        if self.warm:
            self.session.warm_up()  # the runner imports torch in its own process

    def on_catalog_loaded(self, message: CatalogLoaded) -> None:
        self._report_to_bench("ready")
        if message.errors:
            packs = " ".join(f"--lessons {p}" for p in self.session.packs)
            first = message.errors[0]
            self.notify(
                f"{len(message.errors)} lesson file(s) could not be loaded and are missing, e.g. {first}. "
                f"Run `tutor lessons validate {packs}`".rstrip() + " for every error.",
                title="Lesson errors", severity="error", timeout=15, markup=False,
            )  # fmt: skip
        for screen in self.screen_stack:
            if hasattr(screen, "catalog_ready"):
                screen.catalog_ready()

    async def on_event(self, event: events.Event) -> None:
        if self._key_log is not None and isinstance(event, events.Key):
            # After the key has gone through the app's queue, the next refresh is the screen's answer.
            key = event.key
            self.call_later(self.call_after_refresh, self._report_to_bench, key)
        await super().on_event(event)

    def _report_to_bench(self, what: str) -> None:
        """`tutor bench ui`: when something happened, on the machine-wide monotonic clock."""
        if self._key_log is not None:
            with open(self._key_log, "a") as log:
                log.write(f"{what} {time.monotonic():.6f}\n")

    def on_job_update(self, message: JobUpdate) -> None:
        # Only the Runs screen shows jobs; on any other screen the manager's state is enough.
        handler = getattr(self.screen, "job_update", None)
        if handler is not None:
            handler(message)

    def report_startup(self, moment: str) -> None:
        """For `tutor bench startup`: print when a start-up moment happened (wall clock)."""
        print(f"{moment} at={time.time():.6f} torch_imported={'torch' in sys.modules}", flush=True)

    def _load_keymap(self) -> None:
        """User key remaps: binding id -> keys, in TUTOR_HOME/keymap.yaml."""
        path = paths.home() / "keymap.yaml"
        if not path.is_file():
            return
        import yaml

        try:
            keymap = yaml.safe_load(paths.read_text(path)) or {}
            self.set_keymap({str(k): str(v) for k, v in keymap.items()})
        except Exception as exc:  # a bad keymap must not stop the app
            self.notify(f"Ignoring {path}: {exc}", severity="warning", markup=False)

    def open_lesson(self, lesson_id: str) -> None:
        from tutor.screens.workspace import WorkspaceScreen

        if self.session.catalog.get(lesson_id) is None:
            self.notify(f"No lesson {lesson_id!r}", severity="error", markup=False)
            return
        self.in_plan = False  # a lesson picked by hand: ctrl+n follows the course again
        self._show_workspace(WorkspaceScreen(lesson_id, self.session.variant(lesson_id)))

    def _show_workspace(self, screen) -> None:
        from tutor.screens.workspace import WorkspaceScreen

        # One workspace at a time: opening another lesson replaces it.
        while isinstance(self.screen, WorkspaceScreen) or self.screen.id == "browser-screen":
            self.pop_screen()
        self.push_screen(screen)

    # --- today's plan ------------------------------------------------------------------------

    def start_today(self) -> None:
        """One key: the first item of today's plan not done yet, and on through the day from there."""
        item = self.session.today().next_item()
        if item is None:
            self.notify("Today's plan is done. Next lesson, w (weakest skills) or m (your mistakes) for more.",
                        title="Done for today", timeout=5)  # fmt: skip
            return
        self.open_plan_item(item)

    def open_plan_item(self, item) -> None:
        """A review opens as a fresh variant from its starter, examples hidden; a new lesson as it is."""
        from tutor.screens.workspace import WorkspaceScreen

        self.in_plan = True
        if item.review and not item.done:
            self.session.start_review(item.lesson_id, item.variant)
        screen = WorkspaceScreen(item.lesson_id, self.session.variant(item.lesson_id), plan_item=item)
        self._show_workspace(screen)

    def next_in_plan(self, after: str) -> bool:
        """Move on to the next item of today's plan; False when the day's plan is done."""
        item = self.session.today().next_item(after=after)
        if item is None or item.lesson_id == after:
            return False
        self.open_plan_item(item)
        return True

    def start_focus(self, kind: str) -> None:
        """A sprint on the weakest skills, or on the lessons of the most frequent mistakes."""
        from tutor.core import review
        from tutor.core import timed as speed

        state, catalog = self.session.state, self.session.catalog
        if kind == "weakest":
            ids = review.weakest_lessons(state, [i.lesson for i in catalog.lessons])
            empty = "Practise a few lessons first: mastery is measured from your reviews."
        else:
            ids = review.mistake_lessons(state)
            empty = "No named mistake yet: when a check names one, it is kept here to drill."
        if not ids:
            self.notify(empty, timeout=4)
            return
        self.start_attempt(speed.new_focus_sprint(catalog, ids, kind, self.clock))

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
        if getattr(self.screen, "locks_lookups", False) and action in ("browse", "command_palette", "runs", "speed", "home"):
            return False
        return True

    def action_home(self) -> None:
        """Back to the home screen from anywhere (the lesson's code is saved as it leaves)."""
        from tutor.screens.home import HomeScreen

        if getattr(self.screen, "locks_lookups", False):
            return
        while len(self.screen_stack) > 2 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()

    async def action_quit(self) -> None:
        """Quit; during a timed attempt, ask first (it would end unscored)."""
        if not getattr(self.screen, "locks_lookups", False):
            self.exit()
            return
        from tutor.screens.modals import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen("Quit now? The timed attempt ends and is not scored."), answered)

    def action_runs(self) -> None:
        from tutor.screens.runs import RunsScreen

        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen())

    def on_unmount(self) -> None:
        self.jobs.cancel_all()
        self.session.close()


def make_app(
    session: Session | None = None,
    lessons: Iterable[str] = (),
    *,
    start_lesson: str | None = None,
    speed: str | None = None,
    warm: bool = True,
    blink: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> TutorApp:
    """The app, as the command line starts it and as every test drives it."""
    return TutorApp(session or Session(lessons), start_lesson=start_lesson, speed=speed, warm=warm, blink=blink,
                    clock=clock)  # fmt: skip


def run_app(lessons: Iterable[str] = (), start_lesson: str | None = None, speed: str | None = None) -> int:
    """Run the app in this terminal; the exit status is non-zero when it crashed."""
    bench = bool(os.environ.get(FIRST_FRAME_ENV))
    app = make_app(lessons=lessons, start_lesson=start_lesson, warm=not bench, speed=speed)
    app.run(headless=bench)
    return app.return_code or 0
