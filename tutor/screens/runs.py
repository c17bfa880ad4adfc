"""Runs: training jobs in the background, with progress bars and live curves."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, Select

from engine.jobs.worker import JOBS
from tutor.widgets.chart import MetricsChart

REFRESH_S = 0.25


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class RunsScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="back"),
        Binding("s", "start", "Start job", id="start-job"),
        Binding("x", "cancel", "Cancel run", id="cancel-run"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="runs"):
            with Horizontal(id="runs-controls"):
                yield Select([(f"{spec.title} ({name})", name) for name, spec in JOBS.items()], value="mnist-mlp",
                             allow_blank=False, id="job-choice")  # fmt: skip
                yield Label("s starts it · x cancels the selected run · runs go on while you work elsewhere", id="runs-help")
            yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
            yield ProgressBar(id="run-progress", show_eta=False)
            yield Label("", id="run-detail")
            yield MetricsChart(title="selected run", empty="no run yet: pick a job and press s", id="run-chart")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Runs"
        self.sub_title = "training jobs on the GPU when there is one"
        table = self.query_one(DataTable)
        table.add_columns("#", "job", "device", "status", "epoch", "progress", "samples/s", "ETA", "val acc", "test acc")
        self.set_interval(REFRESH_S, self.refresh_runs)
        self.refresh_runs()

    @property
    def manager(self):
        return self.app.jobs

    def action_start(self) -> None:
        job = self.query_one("#job-choice", Select).value
        self.manager.start(str(job))
        self.refresh_runs()
        table = self.query_one(DataTable)
        table.move_cursor(row=table.row_count - 1)

    def action_cancel(self) -> None:
        run_id = self._selected_id()
        if run_id is not None:
            self.manager.cancel(run_id)
            self.notify(f"Cancelling run {run_id}…", timeout=2)

    def _selected_id(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return int(table.get_row_at(table.cursor_row)[0])

    @on(DataTable.RowHighlighted)
    def _selected(self) -> None:
        self.refresh_runs()

    def refresh_runs(self) -> None:
        runs = self.manager.snapshot()
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for t in runs:
            step, header = t.last_step, t.header
            last_epoch = t.epochs[-1] if t.epochs else {}
            test = (t.summary or {}).get("test_acc")
            table.add_row(
                str(t.id), t.run.job, header.get("device", ""), t.status,
                f"{len(t.epochs)}/{header.get('epochs', '?')}", f"{t.fraction:.0%}",
                f"{step.get('samples_per_s', 0):,.0f}" if step else "", _eta(step.get("eta_s")) if t.status == "running" else "",
                f"{last_epoch['val_acc']:.2%}" if last_epoch else "", f"{test:.2%}" if test is not None else "",
            )  # fmt: skip
        if runs:
            table.move_cursor(row=min(max(cursor, 0), len(runs) - 1))
            selected = runs[table.cursor_row]
            self.query_one(ProgressBar).update(total=100, progress=round(selected.fraction * 100))
            self.query_one("#run-detail", Label).update(self._detail(selected))
            self.query_one(MetricsChart).show(selected.series)

    @staticmethod
    def _detail(t) -> str:
        header = t.header
        if not header:
            return f"run {t.id}: {t.status}"
        text = f"run {t.id}: {header.get('title')} on {header.get('device_name')} · {header.get('params', 0):,} parameters"
        if t.summary and t.summary.get("error"):
            text += f" · error: {t.summary['error']}"
        elif t.summary and t.summary.get("test_acc") is not None:
            met = "target met" if t.summary.get("met") else "below target"
            text += f" · test accuracy {t.summary['test_acc']:.2%} ({met}) in {t.summary.get('seconds', 0):.1f} s"
        return text
