"""`tutor train JOB`: a built-in training job with live progress bars, or its events as JSON."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from engine import events
from engine.jobs.manager import TrainingRun
from engine.jobs.specs import JOBS
from tutor.commands import EXIT_FAIL, EXIT_OK, EXIT_USAGE


def _bytes(n: int | None) -> str:
    if not n:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _mem(mem: dict) -> str:
    if "allocated" in mem:
        peak = f" (peak {_bytes(mem['peak'])})" if "peak" in mem else ""
        return f"GPU {_bytes(mem['allocated'])}{peak}"
    return f"RSS {_bytes(mem.get('resident'))}"


def train(args: argparse.Namespace) -> int:
    if args.job not in JOBS:
        print(f"error: no job {args.job!r}; jobs: {', '.join(JOBS)}", file=sys.stderr)
        return EXIT_USAGE
    run = TrainingRun(args.job, device=args.device, epochs=args.epochs, resume=args.resume, amp=args.amp, limit=args.limit,
                 checkpoint_every=args.checkpoint_every).start()  # fmt: skip
    try:
        summary = _print_json(run) if args.json else _show_progress(run)
    except KeyboardInterrupt:
        run.cancel()
        summary = next((e for e in run.events() if isinstance(e, events.JobEnd)), None)
    if not summary or summary.status == "failed":
        if summary and not args.json:
            print(f"error: {summary.error}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK if summary.status == "done" and summary.met is not False else EXIT_FAIL


def _print_json(run: TrainingRun) -> events.JobEnd | None:
    for event in run.events():
        sys.stdout.write(events.encode(event).decode())  # the wire's own lines: strict JSON, NaN as null
        sys.stdout.flush()
    return run.summary


def _show_progress(run: TrainingRun) -> events.JobEnd | None:
    console = Console()
    columns = [
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
    ]  # fmt: skip
    header = None
    with Progress(*columns, console=console, transient=False) as progress:
        epochs = steps = None
        for event in run.events():
            match event:
                case events.JobStarted():
                    header = event
                    console.print(_header_line(event))
                    epochs = progress.add_task("epochs", total=event.epochs, completed=event.resumed_from or 0, info="")
                    steps = progress.add_task("steps", total=event.steps_per_epoch, info="")
                case events.Step() if steps is not None:
                    loss = "nan" if event.loss is None else f"{event.loss:.4f}"
                    info = f"loss {loss} · {event.samples_per_s:,.0f} samples/s · {_mem(event.mem)}"
                    progress.update(steps, completed=event.step + 1, info=info)
                case events.EpochDone() if epochs is not None:
                    progress.update(
                        epochs, completed=event.epoch, info=f"val acc {event.val_acc:.2%} · val loss {_num(event.val_loss)}"
                    )
                    progress.update(steps, completed=0)
                    console.print(
                        f"epoch {event.epoch}: train loss {_num(event.train_loss)} acc {event.train_acc:.2%} · "
                        f"val loss {_num(event.val_loss)} acc {event.val_acc:.2%} · {event.seconds:.1f} s"
                    )
    summary = run.summary
    if summary:
        console.print(_summary_table(summary, header))
    return summary


def _num(value: float | None) -> str:
    return "nan" if value is None else f"{value:.4f}"


def _header_line(event: events.JobStarted) -> str:
    resumed = f", resumed after epoch {event.resumed_from}" if event.resumed_from else ""
    return (
        f"[b]{escape(event.title)}[/] on [cyan]{escape(event.device_name)}[/] ({event.device}), "
        f"{event.params:,} parameters, {event.train_size:,} training examples from {escape(event.data)}"
        f"{', mixed precision' if event.amp else ''}{resumed}"
    )


def _summary_table(summary: events.JobEnd, header: events.JobStarted | None) -> Table:
    table = Table(title="summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("status", summary.status)
    if summary.error:
        table.add_row("error", Text(summary.error))
    if summary.test_acc is not None:
        met = summary.met
        mark = "[green]✔ target met[/]" if met else "[red]✘ below target[/]" if met is False else ""
        table.add_row("test accuracy", f"{summary.test_acc:.2%} {mark} (target {summary.target or 0:.0%})")
        table.add_row("test loss", _num(summary.test_loss))
    if header:
        table.add_row("device", Text(f"{header.device_name} ({header.device})"))
    if summary.seconds is not None:
        table.add_row("time", f"{summary.seconds:.1f} s")
    if summary.peak:
        table.add_row("memory", _mem(summary.peak))
    if summary.epochs_done is not None:
        table.add_row("epochs", str(summary.epochs_done))
    return table
