"""The workspace: read the task, write code, run it, see the verdict, output and chart."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Log, Markdown, ProgressBar, TabbedContent, TabPane, TextArea

from tutor.messages import RunActivity, RunFailed, RunFinished
from tutor.core.render import constraints_text
from tutor.screens.modals import ConfirmScreen, SolutionScreen, VersionsScreen
from tutor.widgets.chart import MetricsChart
from tutor.widgets.editor import CodeEditor
from tutor.widgets.verdict import VerdictView

AUTOSAVE_S = 0.5
BATCH_S = 0.05
WATCH_S = 0.5
OUTPUT_LINES = 5000


class WorkspaceScreen(Screen):
    BINDINGS = [
        Binding("f5", "run", "Run & check", id="run", priority=True),
        Binding("escape,ctrl+c", "stop", "Stop", id="stop", priority=True),
        Binding("f1", "hint", "Hint", id="hint", priority=True),
        Binding("f2", "app.browse", "Lessons", id="browse", priority=True),
        Binding("f6", "reset", "Reset", id="reset", priority=True),
        Binding("f7", "external", "$EDITOR", id="external", priority=True),
        Binding("f8", "solution", "Solution", id="solution", priority=True),
        Binding("ctrl+r", "versions", "Versions", id="versions", show=False, priority=True),
        Binding("ctrl+n", "next", "Next lesson", id="next", priority=True),
    ]

    mode = "practice"

    def __init__(self, lesson_id: str, variant: int = 0) -> None:
        super().__init__()
        self.lesson_id = lesson_id
        self.variant = variant
        self.hints_shown = 0
        self._save_timer: Any = None
        self._watched: tuple[Path, float] | None = None
        self._text: str | None = None

    @property
    def session(self):
        return self.app.session

    # --- layout ------------------------------------------------------------------------

    @property
    def lesson(self):
        return self.session.lesson(self.lesson_id, self.variant)

    @property
    def save_key(self) -> str:
        """Where the code is kept in the learner's state."""
        return self.lesson_id

    def initial_code(self) -> str:
        return self.session.code(self.lesson_id)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="workspace"):
            with VerticalScroll(id="task-pane"):
                yield from self.compose_task()
            with Vertical(id="work-pane"):
                editor = CodeEditor.code_editor(self.initial_code(), language="python", id="editor")
                editor.cursor_blink = self.app.blink
                yield editor
                yield ProgressBar(id="run-progress", show_eta=True)
                with Horizontal(id="results"):
                    yield VerdictView(id="verdict")
                    with TabbedContent(id="tabs"):
                        with TabPane("Output", id="tab-output"):
                            yield Log(id="output", max_lines=OUTPUT_LINES, auto_scroll=True)
                        with TabPane("Chart", id="tab-chart"):
                            yield MetricsChart(id="chart")
        yield Footer()

    def compose_task(self) -> ComposeResult:
        yield Markdown(self._task_markdown(self.lesson), id="task")
        yield Markdown("", id="hints")

    def _task_markdown(self, lesson: Any) -> str:
        rules = constraints_text(lesson)
        meta = f"*{lesson.kind} · about {lesson.minutes} min · {lesson.source.seed.split('_')[0]} {lesson.source.section}*"
        parts = [f"# {lesson.title}", meta, lesson.task]
        if rules:
            parts.append("**Rules**\n\n" + "\n".join(f"- {r}" for r in rules))
        parts.append("**Checks**\n\n" + "\n".join(f"- {c.name}" for c in lesson.checks))
        return "\n\n".join(parts)

    def on_mount(self) -> None:
        self.title = self.lesson.title
        self.sub_title = self.lesson_id
        self.session.open(self.lesson_id)
        self.query_one("#editor", TextArea).focus()
        self.query_one("#run-progress").display = False
        self.set_interval(WATCH_S, self._poll_external)

    @property
    def editor(self) -> TextArea:
        return self.query_one("#editor", TextArea)

    # --- autosave ---------------------------------------------------------------------------

    @on(TextArea.Changed, "#editor")
    def _schedule_save(self, event: TextArea.Changed) -> None:
        self._text = event.text_area.text
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(AUTOSAVE_S, self.save_now)

    def save_now(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = None
        if self._text is not None:
            self.session.save(self.save_key, self._text)

    def on_unmount(self) -> None:
        # The widgets are gone by now; the last text seen is kept in _text.
        self.save_now()

    # --- running -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            # Disabled when idle, so Esc and ctrl+c keep their editor meaning.
            return self.session.running
        if action == "run":
            return None if self.session.running else True
        return True

    def action_run(self) -> None:
        self.save_now()
        self.query_one("#run-progress").display = False
        self.query_one(VerdictView).show_running()
        self.query_one("#output", Log).clear()
        self.query_one(MetricsChart).clear()
        self.run_check(self.editor.text)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, exit_on_error=False, group="check")
    def run_check(self, code: str) -> None:
        batch = _Batcher(self.post_message)
        try:
            verdict = self.session.check(self.lesson_id, code, sink=batch.add, mode=self.mode, variant=self.variant)
        except Exception as exc:  # an authoring or runner failure: say so, keep the app
            batch.flush()
            self.post_message(RunFailed(self.lesson_id, f"{type(exc).__name__}: {exc}"))
            return
        batch.flush()
        self.post_message(RunFinished(self.lesson_id, verdict))

    @on(RunActivity)
    def _show_activity(self, message: RunActivity) -> None:
        log = self.query_one("#output", Log)
        for _stream, text in message.output:
            log.write(text)
        chart = self.query_one(MetricsChart)
        for entry in message.metrics:
            chart.add(entry)
        if message.metrics and self.query_one(TabbedContent).active != "tab-chart":
            self.query_one(TabbedContent).active = "tab-chart"
        if message.progress:
            bar = self.query_one("#run-progress", ProgressBar)
            bar.display = True
            done, total = message.progress
            bar.update(total=max(total, 1), progress=min(done, total))

    @on(RunFinished)
    def _show_verdict(self, message: RunFinished) -> None:
        verdict = message.verdict
        self.query_one(VerdictView).show_verdict(verdict)
        self.refresh_bindings()
        if verdict.passed and self.mode == "practice":
            self.notify("All checks passed. ctrl+n for the next lesson.", title="Passed", timeout=4)

    @on(RunFailed)
    def _show_failure(self, message: RunFailed) -> None:
        self.query_one(VerdictView).show_error(f"The check could not run: {message.error}")
        self.refresh_bindings()

    def action_stop(self) -> None:
        if self.session.stop():
            self.notify("Run stopped.", timeout=2)

    # --- hints, reset, solution, versions -----------------------------------------------------

    def action_hint(self) -> None:
        lesson = self.lesson
        if self.hints_shown >= len(lesson.hints):
            self.notify("No more hints: F8 shows the reference solution.", timeout=3)
            return
        self.hints_shown += 1
        self.session.hint(self.lesson_id, self.hints_shown)
        text = "\n\n".join(f"**Hint {i}.** {h}" for i, h in enumerate(lesson.hints[: self.hints_shown], start=1))
        self.query_one("#hints", Markdown).update(text)
        self.query_one("#task-pane").scroll_end(animate=False)

    def action_reset(self) -> None:
        starter = self.session.reset(self.lesson_id, self.editor.text)
        self._replace_text(starter)
        self.notify("Back to the starter. Your code was kept: ctrl+r lists versions (ctrl+z undoes).", timeout=4)

    def _replace_text(self, text: str) -> None:
        editor = self.editor
        # Through the edit history, so ctrl+z brings the old text back too.
        editor.replace(text, editor.document.start, editor.document.end)

    def action_versions(self) -> None:
        versions = self.session.state.versions(self.lesson_id)
        if not versions:
            self.notify("No earlier versions of this lesson's code yet.", timeout=3)
            return

        def restore(text: str | None) -> None:
            if text is not None:
                self.session.state.keep_version(self.lesson_id, self.editor.text, "before restoring a version")
                self._replace_text(text)
                self.save_now()

        self.app.push_screen(VersionsScreen(versions), restore)

    def action_solution(self) -> None:
        lesson = self.lesson
        done = self.session.state.progress(self.lesson_id).status == "done"
        if done:
            self.app.push_screen(SolutionScreen(lesson.solution))
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.app.push_screen(SolutionScreen(lesson.solution))

        self.app.push_screen(
            ConfirmScreen("You have not passed this lesson yet. Show the reference solution anyway?"), confirmed
        )

    def action_next(self) -> None:
        nxt = self.session.next_id(self.lesson_id)
        if nxt and nxt != self.lesson_id:
            self.app.open_lesson(nxt)

    # --- external editor ---------------------------------------------------------------------

    def action_external(self) -> None:
        self.save_now()
        path = self.session.exercise_file(self.lesson_id)
        path.write_text(self.editor.text, encoding="utf-8")
        self._watched = (path, path.stat().st_mtime)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.notify(f"No $EDITOR set. Edit {path} anywhere: tutor re-checks on every save.", timeout=6)
            return
        try:
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), str(path)], check=False)
        except Exception as exc:
            self.notify(f"Could not start {editor}: {exc}", severity="error")
        self._poll_external()

    def _poll_external(self) -> None:
        """Pick up saves made in the external editor and re-check them."""
        if self._watched is None:
            return
        path, seen = self._watched
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return
        if mtime == seen:
            return
        self._watched = (path, mtime)
        text = path.read_text(encoding="utf-8")
        if text != self.editor.text:
            self.save_now()
            self.session.load_external(self.lesson_id, text)
            self._replace_text(text)
            if not self.session.running:
                self.action_run()


class _Batcher:
    """Collects events from the run's thread and posts them in batches."""

    def __init__(self, post: Any) -> None:
        self.post = post
        self.pending = RunActivity()
        self.last = time.monotonic()

    def add(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "output":
            self.pending.output.append((event.get("stream", "stdout"), event.get("text", "")))
        elif kind == "metric":
            self.pending.metrics.append({"step": event.get("step"), **(event.get("values") or {})})
        elif kind == "violation":
            self.pending.violations.append(str(event.get("kind")))
        elif kind == "progress":
            self.pending.progress = (int(event.get("done", 0)), int(event.get("total", 0)))
        now = time.monotonic()
        if now - self.last >= BATCH_S:
            self.flush()

    def flush(self) -> None:
        pending = self.pending
        if pending.output or pending.metrics or pending.violations or pending.progress:
            self.post(pending)
            self.pending = RunActivity()
        self.last = time.monotonic()
