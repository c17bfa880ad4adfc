"""Home: tracks with progress, continue where you left off, the next lesson, a search."""

from __future__ import annotations

import os

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from tutor.core.envvars import FIRST_FRAME_ENV
from tutor.core.text import bar
from tutor.widgets.footer import KeyFooter

WELCOME = (
    "Welcome to tutor. Pick a lesson, write code in the editor, press [b]F5[/] to check it.\n"
    "[b]F1[/] gives a hint, [b]F2[/] lists every lesson, [b]ctrl+p[/] jumps to one by name.\n"
    "Your code saves itself as you type; [b]ctrl+q[/] quits."
)


class HomeScreen(Screen):
    BINDINGS = [
        Binding("f2", "app.browse", "Lessons", id="browse"),
        Binding("f3", "app.runs", "Runs", id="runs"),
        Binding("f4", "app.speed", "Speed", id="speed"),
        Binding("slash", "search", "Search", id="search", show=False),
    ]

    _filled = False
    _bench = False

    @property
    def session(self):
        return self.app.session

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="home"):
            yield Static(WELCOME, id="welcome")
            with Horizontal(id="home-actions"):
                yield Button("Continue", id="continue", variant="primary")
                yield Button("Next lesson", id="next", variant="success")
                yield Button("All lessons (F2)", id="browse")
            yield Input(placeholder="Search lessons by title, id or skill…", id="search")
            yield OptionList(id="home-list")
            yield Static(id="seeds")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "tutor"
        self.sub_title = "PyTorch fluency, checked"
        # Paint first, then read the lessons: the first frame must not wait for the catalog.
        bench = bool(os.environ.get(FIRST_FRAME_ENV))  # `tutor bench startup`
        self._bench = bench
        if bench:
            self.call_after_refresh(self.app.report_startup, "first-frame")
        if self.session.catalog_loaded:
            self.call_after_refresh(self.catalog_ready)
        else:
            self.query_one("#next", Button).label = "Loading lessons…"

    def catalog_ready(self) -> None:
        """The app read the lessons off the UI thread: fill the screen now."""
        if self._filled:
            return
        self._filled = True
        self.refresh_home()
        self.query_one("#continue" if self.session.continue_id() else "#next", Button).focus()
        if self._bench:
            self.call_after_refresh(self._lessons_shown)

    def _lessons_shown(self) -> None:
        self.app.report_startup("lessons-shown")
        self.app.exit()

    def on_screen_resume(self) -> None:
        if self._filled:
            self.call_after_refresh(self.refresh_home)  # after the frame, like the first fill

    def refresh_home(self) -> None:
        session = self.session
        first_run = not session.progress()
        self.query_one("#welcome").display = first_run
        cont = session.continue_id()
        button = self.query_one("#continue", Button)
        button.display = cont is not None
        if cont:
            button.label = f"Continue: {session.item(cont).lesson.title}"
        nxt = session.next_id(cont)
        self.query_one("#next", Button).label = f"Next: {session.item(nxt).lesson.title}" if nxt else "Next lesson"
        self._show_tracks()
        seeds = session.seed_progress()
        lines = [f"{seed.split('_')[0]}  {bar(d, t, 12)}  {d}/{t}" for seed, (d, t) in seeds.items()]
        self.query_one("#seeds", Static).update(Text("By syllabus seed\n" + "\n".join(lines), style="dim"))

    def _show_tracks(self) -> None:
        options = self.query_one("#home-list", OptionList)
        options.clear_options()
        tracks = self.session.track_progress()
        width = min(max((len(t.title) for t in tracks), default=0), 40)  # bars line up, long titles cut
        for track in tracks:
            title = track.title if len(track.title) <= width else track.title[: width - 1] + "…"
            label = Text.assemble(
                (f"{title:<{width}}", "bold"), f" {bar(track.done, track.total)} ", (f"{track.done}/{track.total}", "cyan")
            )
            options.add_option(Option(label, id=f"track:{track.track}"))

    @on(Input.Changed, "#search")
    def _search(self, event: Input.Changed) -> None:
        if not self._filled:
            return  # the lessons are still being read; catalog_ready fills the list
        if not event.value.strip():
            self._show_tracks()
            return
        options = self.query_one("#home-list", OptionList)
        options.clear_options()
        progress = self.session.progress()
        for item in self.session.search(event.value)[:50]:
            status = progress.get(item.lesson.id)
            mark = "✔" if status and status.status == "done" else "·"
            # A Text, never a markup string: titles and ids are lesson text, brackets included.
            label = Text.assemble(f"{mark} {item.lesson.title}  ", (f"[{item.lesson.id}]", "dim"))
            options.add_option(Option(label, id=f"lesson:{item.lesson.id}"))

    @on(Input.Submitted, "#search")
    def _first_result(self) -> None:
        options = self.query_one("#home-list", OptionList)
        if options.option_count:
            options.focus()
            options.highlighted = 0

    @on(OptionList.OptionSelected, "#home-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        kind, _, value = (event.option.id or "").partition(":")
        if kind == "lesson":
            self.app.open_lesson(value)
        elif kind == "track":
            self.app.action_browse(track=value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if not self._filled:
            return
        session = self.session
        if event.button.id == "continue" and session.continue_id():
            self.app.open_lesson(session.continue_id())
        elif event.button.id == "next":
            nxt = session.next_id(session.continue_id())
            if nxt:
                self.app.open_lesson(nxt)
        elif event.button.id == "browse":
            self.app.action_browse()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()
