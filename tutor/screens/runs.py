"""Runs: training jobs in the background, with progress bars and live curves.

The screen never polls.  Each job event reaches it as a JobUpdate message (the
app forwards them while this screen is shown); the event's run has its row
updated in place, by key, and the chart is redrawn only for the selected run
(MetricsChart redraws at most a few times a second, and only when its data
changed).  Clearing and re-adding rows is avoided on purpose: it moves the
cursor, which posts RowHighlighted, whose handler would refresh again, a loop
that once kept a whole core busy and the screen frozen.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Label, ProgressBar, Select

from engine.jobs.manager import TrackedRun
from engine.jobs.specs import JOBS
from tutor.messages import JobUpdate
from tutor.widgets.chart import MetricsChart
from tutor.widgets.footer import KeyFooter

FLUSH_S = 1.0  # the table, bar and detail show job news at most this often
COLUMNS = ("#", "job", "device", "status", "epoch", "progress", "samples/s", "ETA", "val acc", "test acc")


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def row_cells(t: TrackedRun) -> tuple[str, ...]:
    """One run as table cells, in COLUMNS order."""
    step, header, summary = t.last_step, t.header, t.summary
    running = t.status == "running"
    return (
        str(t.id), t.run.run_name, header.device if header else "", t.status,
        f"{len(t.epochs)}/{header.epochs if header else '?'}", f"{t.fraction:.0%}",
        f"{step.samples_per_s:,.0f}" if step and running else "", _eta(step.eta_s) if step and running else "",
        f"{t.epochs[-1].val_acc:.2%}" if t.epochs else "",
        f"{summary.test_acc:.2%}" if summary and summary.test_acc is not None else "",
    )  # fmt: skip


def detail_text(t: TrackedRun) -> Text:
    """A line about the selected run; a failure says why and what to do."""
    summary, header = t.summary, t.header
    if summary and summary.status == "failed":
        return Text.assemble((f"run {t.id} ({t.run.run_name}) failed: ", "bold red"), summary.error or "no reason given")
    if header is None:
        return Text(f"run {t.id} ({t.run.run_name}): {t.status}")
    text = f"run {t.id}: {header.title} on {header.device_name} · {header.params:,} parameters"
    if summary and summary.test_acc is not None:
        met = "target met" if summary.met else "below target"
        text += f" · test accuracy {summary.test_acc:.2%} ({met}) in {summary.seconds or 0:.1f} s"
    elif summary:
        text += f" · {summary.status}"
    return Text(text)


def first_ready_job() -> str:
    """The job to offer first: one whose data is already here (a fresh install has no MNIST)."""
    from engine.jobs import datasets

    present = set(datasets.present())
    for name, spec in JOBS.items():
        if spec.dataset == "moons" or spec.dataset in present:
            return name
    return next(iter(JOBS))


class RunsScreen(Screen):
    _detail: Text | None = None
    _flush_timer = None
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="back"),
        Binding("s", "start", "Start job", id="start-job"),
        Binding("x", "cancel", "Cancel run", id="cancel-run"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="runs"):
            with Horizontal(id="runs-controls"):
                yield Select([(f"{spec.title} ({name})", name) for name, spec in JOBS.items()], value=first_ready_job(),
                             allow_blank=False, id="job-choice")  # fmt: skip
                yield Input(placeholder="epochs", type="integer", id="job-epochs", max_length=4)
                yield Label("s starts it · x cancels the selected run · runs go on while you work elsewhere", id="runs-help")
            yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
            yield ProgressBar(total=100, id="run-progress", show_eta=False)  # a total: no indeterminate animation
            yield Label("", id="run-detail")
            # Redrawn once a second at most: a job sends a few points a second, plotext is not free.
            yield MetricsChart(title="selected run", empty="no run yet: pick a job and press s", redraw_s=1.0,
                               id="run-chart")  # fmt: skip
        yield KeyFooter()

    def on_mount(self) -> None:
        self._pending: set[int] = set()
        self.title = "Runs"
        self.sub_title = "training jobs on the GPU when there is one"
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        for tracked in self.manager.snapshot():
            table.add_row(*row_cells(tracked), key=str(tracked.id))
            self.manager.read(tracked.id, series=False)  # what is shown is read: news notify again
        if table.row_count:
            table.move_cursor(row=table.row_count - 1)
        self._show_selected()
        table.focus()

    @property
    def manager(self):
        return self.app.jobs

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("start", "cancel") and isinstance(self.focused, Input):
            return False  # typing "s" or "x" in the epochs box types it
        return True

    def action_start(self) -> None:
        job = str(self.query_one("#job-choice", Select).value)
        epochs_text = self.query_one("#job-epochs", Input).value.strip()
        epochs = int(epochs_text) if epochs_text.isdigit() and int(epochs_text) > 0 else None
        tracked = self.manager.start(job, epochs=epochs)
        table = self.query_one(DataTable)
        table.add_row(*row_cells(tracked), key=str(tracked.id))
        table.move_cursor(row=table.row_count - 1)
        table.focus()

    def action_cancel(self) -> None:
        run_id = self._selected_id()
        if run_id is None:
            self.notify("No run is listed yet: start one with s.", timeout=3)
            return
        self.manager.cancel(run_id)
        self.notify(f"Cancelling run {run_id}…", timeout=2)

    def _selected_id(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key
        return int(key.value) if key.value else None

    # --- updates -----------------------------------------------------------------------

    def job_update(self, message: JobUpdate) -> None:
        """A run has news (forwarded by the app): read it at the next flush.

        Reading and repainting for every event cost more than a job's progress
        is worth, so the screen shows what changed at most every FLUSH_S.
        """
        self._pending.add(message.run_id)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(FLUSH_S, self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        pending, self._pending = self._pending, set()
        selected = self._selected_id()
        table = self.query_one(DataTable)
        for run_id in sorted(pending):
            t = self.manager.read(run_id, series=run_id == selected)
            if t is None:
                continue
            key = str(t.id)
            if key not in table.rows:
                table.add_row(*row_cells(t), key=key)
            else:
                for column, value in zip(COLUMNS, row_cells(t), strict=True):
                    if table.get_cell(key, column) != value:
                        table.update_cell(key, column, value, update_width=True)
            if run_id == selected:
                self._show(t, chart_changed=t.new_points)

    @on(DataTable.RowHighlighted)
    def _selected(self) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        run_id = self._selected_id()
        tracked = self.manager.snapshot(run_id) if run_id is not None else []
        if tracked:
            self._show(tracked[0], chart_changed=True)

    def _show(self, t: TrackedRun, chart_changed: bool) -> None:
        bar = self.query_one(ProgressBar)
        percent = round(t.fraction * 100)
        if bar.progress != percent:
            bar.update(total=100, progress=percent)
        detail = detail_text(t)
        if detail != self._detail:
            self._detail = detail
            self.query_one("#run-detail", Label).update(detail)
        if chart_changed:
            self.query_one(MetricsChart).show(t.series)
