"""The workspace: read the task, write code, run it, see the verdict, output and chart."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Log, Markdown, ProgressBar, Static, TabbedContent, TabPane, TextArea

from engine import events, paths
from engine.feedback.trace import line_marks
from tutor.core.checkrun import CheckRun
from tutor.core.render import constraints_text, quiz_markdown
from tutor.core.text import document_name, plural
from tutor.core.timed import strip_code_examples
from tutor.messages import AnswerReady, RunActivity, RunFailed, RunFinished, SpeedReady
from tutor.screens.modals import CompareScreen, ConfirmScreen, SheetScreen, SolutionScreen, VersionsScreen
from tutor.widgets.chart import MetricsChart
from tutor.widgets.editor import CodeEditor
from tutor.widgets.footer import KeyFooter
from tutor.widgets.output import OutputLog
from tutor.widgets.verdict import VerdictView

AUTOSAVE_S = 0.5
BATCH_S = 0.05
WATCH_S = 0.5


class WorkspaceScreen(Screen):
    BINDINGS = [
        Binding("f5", "run", "Run", id="run", priority=True),
        Binding("escape,ctrl+c", "stop", "Stop", id="stop", priority=True),
        Binding("f1", "hint", "Hint", id="hint", priority=True),
        Binding("f2", "app.browse", "Lessons", id="browse", show=False, priority=True),
        Binding("f6", "reset", "Reset", id="reset", priority=True),
        Binding("f7", "external", "Editor", id="external", priority=True),
        Binding("f8", "solution", "Solution", id="solution", priority=True),  # once passed: compare with it
        Binding("ctrl+r", "versions", "Versions", id="versions", show=False, priority=True),
        Binding("ctrl+n", "next", "Next", id="next", priority=True),
        Binding("f9", "app.home", "Home", id="home"),
        Binding("ctrl+o", "toggle_output", "Output", id="output", priority=True),
        Binding("f10", "sheet", "Sheet", id="sheet", show=False, priority=True),  # named in the task pane
    ]
    SHORT = 30  # below this many rows the results get more of the height than the editor
    NARROW = 110  # below this many columns the output tabs hide behind ctrl+o, for a verdict that can be read

    mode = "practice"
    passed_here = False  # a check passed on this screen (a review compares only outside review)

    def __init__(self, lesson_id: str, variant: int = 0, plan_item: Any = None) -> None:
        super().__init__()
        self.lesson_id = lesson_id
        self.variant = variant
        self.plan_item = plan_item  # opened from today's plan (tutor.core.plan.Item)
        self.from_memory = bool(plan_item and plan_item.review)  # a review: the task's code examples hidden
        self.hints_shown = 0
        self._save_timer: Any = None
        self._watched: tuple[Path, float] | None = None
        self._text: str | None = None
        self.check_run: CheckRun | None = None  # the check in flight, if any: this screen owns it

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
                yield ProgressBar(total=1, id="run-progress", show_eta=True)  # a total: no indeterminate animation
                with Horizontal(id="results"):
                    yield VerdictView(self._placeholder(), id="verdict")
                    with TabbedContent(id="tabs"):
                        with TabPane("Output", id="tab-output"):
                            yield OutputLog(id="output", auto_scroll=True)
                        with TabPane("Chart", id="tab-chart"):
                            yield MetricsChart(id="chart")
        yield KeyFooter()

    def _placeholder(self) -> str:
        if self.lesson.quiz is not None:
            return "Type your prediction in the editor (a shape, a dtype, a value, or error: TypeName) and press F5."
        return "Press F5 to run your code and check it."

    def compose_task(self) -> ComposeResult:
        item = self.plan_item
        if item is not None and item.leech:
            refresher = self.session.catalog.get(item.refresher) if item.refresher else None
            also = f" Revise “{refresher.lesson.title}” first ({item.refresher})." if refresher else ""
            yield Static(Text(f"This one keeps slipping away in review.{also} F1 shows the hints one by one; "
                              "reading them is better than guessing again.", style="yellow"), id="leech-help")  # fmt: skip
        yield Markdown(self._task_markdown(self.lesson), id="task")
        yield Vertical(id="hints")

    def _task_markdown(self, lesson: Any) -> str:
        rules = constraints_text(lesson)
        meta = f"*{lesson.kind} · about {lesson.minutes} min · {document_name(lesson.source.seed)}: {lesson.source.section}*"
        if not self.from_memory and self.mode == "practice":
            meta += "  \n*F10: the track's syntax sheet*"
        if self.from_memory:
            meta = f"*review · from memory · variant {self.variant}*  \n" + meta
        task = strip_code_examples(lesson.task) if self.from_memory else lesson.task
        parts = [f"# {lesson.title}", meta, task]
        if lesson.quiz is not None:  # the snippet is the question, never hidden
            parts.append(quiz_markdown(lesson))
            return "\n\n".join(parts)
        if rules:
            parts.append("**Rules**\n\n" + "\n".join(f"- {r}" for r in rules))
        parts.append("**Checks**\n\n" + "\n".join(f"- {c.name}" for c in lesson.checks))
        return "\n\n".join(parts)

    def on_resize(self, event: Any) -> None:
        self.set_class(event.size.height < self.SHORT, "-short")
        narrow = event.size.width < self.NARROW
        if narrow != self.has_class("-narrow"):
            self.set_class(narrow, "-narrow")
            self.refresh_bindings()  # ctrl+o shows in the footer only when narrow

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_output":
            return self.has_class("-narrow")
        if action == "sheet" and self.from_memory:
            return False  # a review is from memory: the sheet stays shut
        return self.check_run_action(action)

    def action_toggle_output(self) -> None:
        """On a narrow terminal, the output and chart take the verdict's place, and back."""
        self.toggle_class("-show-output")

    def on_mount(self) -> None:
        self.title = self.lesson.title
        self.sub_title = self.lesson_id + (" · review, from memory" if self.from_memory else "")
        self.session.open(self.lesson_id)
        self.query_one("#editor", TextArea).focus()
        self.query_one("#run-progress").display = False

    @property
    def editor(self) -> CodeEditor:
        return self.query_one("#editor", CodeEditor)

    # --- autosave ---------------------------------------------------------------------------

    @on(TextArea.Changed, "#editor")
    def _schedule_save(self, event: TextArea.Changed) -> None:
        self.editor.clear_marks()  # an edit moves lines: the trace's marks no longer fit
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

    @property
    def running(self) -> bool:
        return self.check_run is not None

    def check_run_action(self, action: str) -> bool | None:
        if action == "stop":
            # Disabled when idle, so Esc and ctrl+c keep their editor meaning.
            return self.running
        if action == "run":
            return None if self.running else True
        return True

    def action_run(self) -> None:
        if self.running:
            return  # a second F5 before the bindings refresh: one check at a time
        run = CheckRun(self.lesson_id, self.editor.text, variant=self.variant, mode=self.mode)
        self.check_run = run
        try:
            self.save_now()
            self.query_one("#run-progress").display = False
            self.query_one(VerdictView).show_running()
            self.query_one("#output", Log).clear()
            self.query_one(MetricsChart).clear()
            self.run_check(run)
        except Exception:
            self.check_run = None  # never leave F5 disabled behind a run that did not start
            raise
        finally:
            self.refresh_bindings()

    @work(thread=True, exit_on_error=False, group="check")
    def run_check(self, run: CheckRun) -> None:
        batch = _Batcher(self.post_message, run.id)
        try:
            verdict = self.session.check(run.lesson_id, run.code, sink=batch.add, mode=run.mode, variant=run.variant, run=run)
        except Exception as exc:  # an authoring or runner failure: say so, keep the app
            batch.flush()
            self.post_message(RunFailed(run.id, run.lesson_id, f"{type(exc).__name__}: {exc}"))
            return
        batch.flush()
        self.post_message(RunFinished(run.id, run.lesson_id, verdict))
        if verdict.passed and self.mode == "practice" and not self.from_memory:  # the verdict first, the timing after
            speed = self.session.speed(run.lesson_id, run.code, variant=run.variant)
            if speed:
                self.post_message(SpeedReady(run.id, run.lesson_id, speed))

    def _is_current(self, run_id: int) -> bool:
        return self.check_run is not None and self.check_run.id == run_id

    @on(RunActivity)
    def _show_activity(self, message: RunActivity) -> None:
        if not self._is_current(message.run_id):
            return  # a stopped run's last output: not this run's
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
    def _run_finished(self, message: RunFinished) -> None:
        if not self._is_current(message.run_id):
            return
        run, self.check_run = self.check_run, None
        try:
            self.verdict_arrived(run, message.verdict)
        finally:
            self.refresh_bindings()

    @on(SpeedReady)
    def _speed_ready(self, message: SpeedReady) -> None:
        view = self.query_one(VerdictView)
        if view.verdict is not None and view.verdict.lesson_id == message.lesson_id and view.verdict.passed:
            view.verdict.speed = message.speed
            view.show_verdict(view.verdict)
            if message.speed.get("note"):
                self.notify(message.speed["note"], title="Correct, but slow", timeout=6)

    @on(RunFailed)
    def _run_failed(self, message: RunFailed) -> None:
        if not self._is_current(message.run_id):
            return
        self.check_run = None
        try:
            self.query_one(VerdictView).show_error(f"The check could not run: {message.error}")
        finally:
            self.refresh_bindings()

    def verdict_arrived(self, run: CheckRun, verdict: Any) -> None:
        """Show a verdict of this screen's current run (speed mode also scores it)."""
        self.query_one(VerdictView).show_verdict(verdict)
        self.passed_here = self.passed_here or verdict.passed
        if verdict.trace and run.code == self.editor.text:  # the marks fit these lines only
            self.editor.show_marks(line_marks(verdict.trace))
        if verdict.truncated:
            streams = " and ".join(verdict.truncated)
            self.notify(f"Your code printed more than 1 MiB on {streams}: the rest was not kept.", timeout=5)
        if verdict.passed and self.mode == "practice":
            if self.app.in_plan:
                left = self.session.today().left
                after = f"{plural(len(left), 'item')} left today" if left else "that was today's last item"
                self.notify(f"All checks passed: {after}. ctrl+n goes on.", title="Passed", timeout=4)
            else:
                self.notify("All checks passed. ctrl+n for the next lesson.", title="Passed", timeout=4)

    def action_stop(self) -> None:
        if self.check_run is not None:
            self.check_run.cancel()
            self.notify("Run stopped.", timeout=2)

    # --- hints, reset, solution, versions -----------------------------------------------------

    async def action_hint(self) -> None:
        lesson = self.lesson
        if self.hints_shown >= len(lesson.hints):
            self.notify("No more hints: F8 shows the reference solution.", timeout=3)
            return
        self.hints_shown += 1
        self.session.hint(self.lesson_id, self.hints_shown)
        hint = Markdown(f"**Hint {self.hints_shown}.** {lesson.hints[self.hints_shown - 1]}", classes="hint")
        await self.query_one("#hints").mount(hint)  # laid out first: scrolling before stops short of it
        self.call_after_refresh(self._scroll_to, hint)

    def _scroll_to(self, hint: Markdown) -> None:
        self.query_one("#task-pane", VerticalScroll).scroll_to_widget(hint, animate=False, top=True)

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

        self.app.push_screen(VersionsScreen(versions, current=self.editor.text), restore)

    def action_solution(self) -> None:
        lesson = self.lesson
        done = self.session.state.progress(self.lesson_id).status == "done"
        if done and lesson.quiz is None and not self.from_memory:  # passed: compare, the reward of a pass
            self.session.solution_shown(self.lesson_id)
            self.app.push_screen(CompareScreen(self.editor.text, lesson.solution, lesson.why))
            return
        if done and self.from_memory and self.passed_here:
            self.notify("A review is from memory: compare with the reference when you open the lesson outside review.", timeout=4)
            return
        if done:  # seen before today's green, it still makes today's review Again
            self._show_solution(lesson)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._show_solution(lesson)

        self.app.push_screen(ConfirmScreen("You have not passed this lesson yet. Show the reference solution anyway?"), confirmed)

    def action_sheet(self) -> None:
        from engine.lessons import sheet

        track = self.lesson.track
        entries = sheet.load(paths.BUILTIN_LESSONS).get(track, [])
        self.app.push_screen(SheetScreen(track, entries))

    def _show_solution(self, lesson: Any) -> None:
        self.session.solution_shown(self.lesson_id)
        if lesson.quiz is None:
            self.app.push_screen(SolutionScreen(lesson.solution))
        else:
            self._find_answer()  # the truth may need the runner: not on the UI thread

    @work(thread=True, exit_on_error=False, group="answer")
    def _find_answer(self) -> None:
        self.post_message(AnswerReady(self.lesson_id, self.session.quiz_answer(self.lesson_id, self.variant)))

    @on(AnswerReady)
    def _answer_ready(self, message: AnswerReady) -> None:
        if message.lesson_id == self.lesson_id:
            self.app.push_screen(SolutionScreen(message.text))

    def action_next(self) -> None:
        if self.app.in_plan:
            if not self.app.next_in_plan(self.lesson_id):
                self.app.in_plan = False
                self.notify("Today's plan is done. ctrl+n now goes through the course in order.", timeout=4)
            return
        nxt = self.session.next_id(self.lesson_id)
        if nxt and nxt != self.lesson_id:
            self.app.open_lesson(nxt)

    # --- external editor ---------------------------------------------------------------------

    def action_external(self) -> None:
        self.save_now()
        path = self.session.exercise_file(self.lesson_id)
        path.write_text(self.editor.text, encoding="utf-8")
        if self._watched is None:  # polled from now on: a stat twice a second, only once F7 was used
            self.set_interval(WATCH_S, self._poll_external)
        self._watched = (path, path.stat().st_mtime)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.notify(f"No $EDITOR set. Edit {path} anywhere: tutor re-checks on every save.", timeout=6, markup=False)
            return
        try:
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), str(path)], check=False)
        except Exception as exc:
            self.notify(f"Could not start {editor}: {exc}", severity="error", markup=False)
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
        text = paths.read_text(path)
        if text != self.editor.text:
            self.save_now()
            self.session.load_external(self.lesson_id, text)
            self._replace_text(text)
            if not self.running:
                self.action_run()


class _Batcher:
    """Collects a run's live events on its worker thread and posts them in batches."""

    def __init__(self, post: Any, run_id: int) -> None:
        self.post = post
        self.run_id = run_id
        self.pending = RunActivity(run_id)
        self.last = time.monotonic()

    def add(self, event: Any) -> None:
        pending = self.pending
        match event:
            case events.Output(stream=stream, text=text):
                pending.output.append((stream, text))
            case events.Metric(step=step, values=values):
                pending.metrics.append({"step": step, **values})
            case events.Violation(kind=kind):
                pending.violations.append(kind)
            case events.Progress(done=done, total=total):
                pending.progress = (done, total)  # only the latest counts
        now = time.monotonic()
        if now - self.last >= BATCH_S:
            self.flush()

    def flush(self) -> None:
        pending = self.pending
        if pending.output or pending.metrics or pending.violations or pending.progress:
            self.post(pending)
            self.pending = RunActivity(self.run_id)
        self.last = time.monotonic()
