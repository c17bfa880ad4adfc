"""Home: today's plan and one key to work through it; practice at a glance; tracks; a search."""

from __future__ import annotations

import os

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from tutor.core.envvars import FIRST_FRAME_ENV
from tutor.core.text import bar, item_label, plural, shorten
from tutor.widgets.footer import KeyFooter

WELCOME = (
    "Welcome to tutor. Press [b]t[/] to start today's practice, or pick a lesson; press [b]F5[/] to check your code.\n"
    "[b]F1[/] gives a hint, [b]F2[/] lists every lesson, [b]ctrl+p[/] jumps to one by name.\n"
    "Your code saves itself as you type; [b]ctrl+q[/] quits."
)


class HomeScreen(Screen):
    BINDINGS = [
        Binding("f2", "app.browse", "Lessons", id="browse"),
        Binding("f3", "app.runs", "Runs", id="runs"),
        Binding("f4", "app.speed", "Speed", id="speed"),
        Binding("t", "today", "Today", id="today"),
        Binding("w", "weakest", "Weakest", id="weakest", show=False),
        Binding("m", "mistakes", "Mistakes", id="mistakes", show=False),
        Binding("slash", "search", "Search", id="search", show=False),
    ]

    _filled = False
    _bench = False
    _plan = None

    @property
    def session(self):
        return self.app.session

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="home"):
            yield Static(WELCOME, id="welcome")
            yield Static(id="today-summary")
            with Horizontal(id="home-actions"):
                yield Button("Start today (t)", id="start-today", variant="primary")
                yield Button("Continue", id="continue")
                yield Button("Next lesson", id="next", variant="success")
                yield Button("All lessons (F2)", id="browse")
            yield OptionList(id="plan-list")
            with Horizontal(id="home-stats"):
                with Vertical(classes="home-box", id="calendar-box"):
                    yield Static(id="streak")
                    yield Static(id="calendar")
                with Vertical(classes="home-box", id="forecast-box"):
                    yield Static("Reviews due", classes="box-title", id="forecast-title")
                    yield Static(id="forecast")
                with Vertical(classes="home-box", id="skills-box"):
                    yield Static("Weakest skills · w practises them", classes="box-title")
                    yield Static(id="skills")
            with Vertical(classes="home-box", id="mistakes-box"):
                yield Static("Your most frequent mistakes · m drills them", classes="box-title")
                yield Static(id="mistakes")
            yield Input(placeholder="Search lessons by title, id or skill…", id="search")
            yield OptionList(id="home-list")
            yield Static(id="documents")
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
        self.query_one("#start-today", Button).focus()
        if self._bench:
            self.call_after_refresh(self._lessons_shown)

    def _lessons_shown(self) -> None:
        self.app.report_startup("lessons-shown")
        self.app.exit()

    def on_resize(self, event) -> None:
        self.set_class(event.size.width < 100, "-narrow")  # the practice boxes stack instead of sitting side by side

    def on_screen_resume(self) -> None:
        if self._filled:
            self.call_after_refresh(self.refresh_home)  # after the frame, like the first fill

    def refresh_home(self) -> None:
        session = self.session
        self._show_today()
        self._show_practice()
        first_run = not session.progress()
        self.query_one("#welcome").display = first_run
        cont = session.continue_id()
        button = self.query_one("#continue", Button)
        button.display = cont is not None
        if cont:
            button.label = f"Continue: {shorten(session.item(cont).lesson.title, 24)}"
        nxt = session.next_id(cont)
        self.query_one("#next", Button).label = f"Next: {shorten(session.item(nxt).lesson.title, 24)}" if nxt else "Next lesson"
        self._show_tracks()
        seeds = session.document_progress()
        width = max((len(name) for name in seeds), default=0)
        lines = [f"{name:<{width}}  {bar(d, t, 12)}  {d}/{t}" for name, (d, t) in seeds.items()]
        self.query_one("#documents", Static).update(Text("By course document\n" + "\n".join(lines), style="dim"))

    def _show_today(self) -> None:
        plan = self.session.today()
        self._plan = plan
        left = plan.left
        reviews = sum(1 for i in left if i.review)
        if plan.items and not left:
            summary = Text.assemble(("Today's plan is done. ", "bold green"),
                                    f"{plan.minutes} min of your {plan.goal_minutes}-minute goal. More: Next lesson, or w / m.")  # fmt: skip
        else:
            summary = Text.assemble(
                ("Today: ", "bold"),
                f"{plural(reviews, 'review')} and {plural(len(left) - reviews, 'new lesson')} left, "
                f"about {plan.minutes_left} of {plan.minutes} min (goal {plan.goal_minutes}) · "
                f"{plan.share():.0%} drills, the rest applications",
            )  # fmt: skip
        self.query_one("#today-summary", Static).update(summary)
        options = self.query_one("#plan-list", OptionList)
        options.clear_options()
        catalog = self.session.catalog
        for item in plan.items:
            title = catalog.get(item.lesson_id).lesson.title
            label = Text.assemble(
                ("✔ " if item.done else "· ", "green" if item.done else "dim"),
                (f"{item_label(item):<11}", "yellow" if item.leech else "cyan" if item.review else "magenta"),
                (title, "dim" if item.done else ""),
                (f"  {item.minutes} min", "dim"),
            )
            if item.leech and item.refresher:
                label.append(f"  · revise first: {catalog.get(item.refresher).lesson.title}", style="yellow")
            options.add_option(Option(label, id=f"plan:{item.lesson_id}"))
        button = self.query_one("#start-today", Button)
        started = any(i.done for i in plan.items)
        button.label = "Practise more (t)" if not left else "Continue today (t)" if started else "Start today (t)"

    def _show_practice(self) -> None:
        from tutor.core import clock, plan, practice_view, review

        state = self.session.state
        moment = clock.now()
        today = moment.astimezone().date()
        self.query_one("#streak", Static).update(
            practice_view.streak_line(plan.streak(state, moment), len(state.practice_days()))
        )
        self.query_one("#forecast-title", Static).update(f"Reviews due ({state.reviews_done()} done)")
        self.query_one("#calendar", Static).update(practice_view.calendar(state.practice_counts(), today, weeks=12))
        self.query_one("#forecast", Static).update(practice_view.forecast(review.forecast(state, 7, moment), today))
        lessons = [i.lesson for i in self.session.catalog.lessons]
        self.query_one("#skills", Static).update(practice_view.weakest_skills(review.mastery(state, lessons, moment)))
        titles = {i.lesson.id: i.lesson.title for i in self.session.catalog.lessons}
        self.query_one("#mistakes", Static).update(practice_view.frequent_mistakes(state.mistake_counts(), titles))

    def action_today(self) -> None:
        if self._filled:
            self.app.start_today()

    def action_weakest(self) -> None:
        if self._filled:
            self.app.start_focus("weakest")

    def action_mistakes(self) -> None:
        if self._filled:
            self.app.start_focus("mistakes")

    def _show_tracks(self) -> None:
        options = self.query_one("#home-list", OptionList)
        options.clear_options()
        tracks = self.session.track_progress()
        width = min(max((len(t.title) for t in tracks), default=0), 40)  # bars line up, long titles cut
        for track in tracks:
            title = shorten(track.title, width)
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
        elif kind == "plan":
            item = next((i for i in self._plan.items if i.lesson_id == value), None)
            if item is not None:
                self.app.open_plan_item(item)
        elif kind == "track":
            self.app.action_browse(track=value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if not self._filled:
            return
        session = self.session
        if event.button.id == "start-today":
            self.app.start_today()
        elif event.button.id == "continue" and session.continue_id():
            self.app.open_lesson(session.continue_id())
        elif event.button.id == "next":
            nxt = session.next_id(session.continue_id())
            if nxt:
                self.app.open_lesson(nxt)
        elif event.button.id == "browse":
            self.app.action_browse()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()
