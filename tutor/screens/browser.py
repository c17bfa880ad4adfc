"""The lesson browser: lessons grouped by track, marked done, attempted or new, filterable."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Select, Tree

from tutor.widgets.footer import KeyFooter

MARKS = {"done": "[green]✔[/]", "attempted": "[yellow]…[/]", "new": "[dim]·[/]"}
KINDS = ["drill", "application", "challenge", "project"]
STATUSES = ["new", "attempted", "done"]


class BrowserScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="back")]

    def __init__(self, track: str | None = None) -> None:
        super().__init__()
        self.focus_track = track

    @property
    def session(self):
        return self.app.session

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="browser"):
            with Horizontal(id="filters"):
                yield Select([(k, k) for k in KINDS], prompt="any kind", id="kind")
                yield Select([(s, s) for s in STATUSES], prompt="any status", id="status")
            yield Tree("Lessons", id="lesson-tree")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Lessons"
        self.sub_title = "Enter opens a lesson"
        self.fill()
        self.query_one(Tree).focus()

    def on_screen_resume(self) -> None:
        self.fill()

    @on(Select.Changed)
    def _filtered(self) -> None:
        self.fill()

    def fill(self) -> None:
        kind = self.query_one("#kind", Select).value
        status = self.query_one("#status", Select).value
        progress = self.session.progress()
        tree = self.query_one(Tree)
        tree.clear()
        tree.root.expand()
        for track in self.session.track_progress():
            items = []
            for item in self.session.catalog.in_track(track.track):
                lesson = item.lesson
                state = progress[lesson.id].status if lesson.id in progress else "new"
                if kind not in (Select.NULL, lesson.kind) or status not in (Select.NULL, state):
                    continue
                items.append((lesson, state))
            if not items:
                continue
            node = tree.root.add(
                f"[b]{track.title}[/]  {track.done}/{track.total}", expand=self.focus_track in (None, track.track)
            )
            for lesson, state in items:
                node.add_leaf(
                    f"{MARKS[state]} {escape(lesson.title)}  [dim]{lesson.kind} · {lesson.minutes} min[/]", data=lesson.id
                )

    @on(Tree.NodeSelected)
    def _open(self, event: Tree.NodeSelected) -> None:
        if event.node.data:
            self.app.open_lesson(event.node.data)
