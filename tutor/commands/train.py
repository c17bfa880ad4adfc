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
from engine.jobs.specs import JOBS, SCHEDULES
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
    if getattr(args, "compare_schedules", False):
        return _compare_schedules(args)
    summary, _ = _run(args, getattr(args, "schedule", None))
    if not summary or summary.status == "failed":
        return EXIT_FAIL
    return EXIT_OK if summary.status == "done" and summary.met is not False else EXIT_FAIL


def _run(args: argparse.Namespace, schedule: str | None) -> tuple[events.JobEnd | None, list[events.EpochDone]]:
    """One run with progress (or JSON lines); its summary and its epochs."""
    run = TrainingRun(args.job, device=args.device, epochs=args.epochs, resume=args.resume, amp=args.amp, limit=args.limit,
                      checkpoint_every=args.checkpoint_every, schedule=schedule).start()  # fmt: skip
    epochs: list[events.EpochDone] = []

    def stream():
        for event in run.events():
            if isinstance(event, events.EpochDone):
                epochs.append(event)
            yield event

    try:
        summary = _print_json(run, stream()) if args.json else _show_progress(run, stream())
    except KeyboardInterrupt:
        run.cancel()
        summary = next((e for e in run.events() if isinstance(e, events.JobEnd)), None)
    if summary and summary.status == "failed" and not args.json:
        print(f"error: {summary.error}", file=sys.stderr)
    return summary, epochs


def _compare_schedules(args: argparse.Namespace) -> int:
    """The same job once under each learning-rate schedule, then one table to compare them."""
    results = {}
    for schedule in SCHEDULES:
        if not args.json:
            Console().rule(f"[b]{args.job}[/] · schedule [cyan]{schedule}[/]")
        summary, epochs = _run(args, schedule)
        if summary is None or summary.status != "done":
            return EXIT_FAIL  # cancelled or failed: the runs left are not started
        results[schedule] = (summary, epochs)
    if not args.json:
        Console().print(_schedules_table(results))
    return EXIT_OK


def _schedules_table(results: dict[str, tuple[events.JobEnd, list[events.EpochDone]]]) -> Table:
    table = Table(title="schedules compared (the same job, seed and data)", title_justify="left")
    for name in ("schedule", "val acc by epoch", "best val", "test acc", "final lr", "time"):
        table.add_column(name, justify="left" if name in ("schedule", "val acc by epoch") else "right")
    best = max(results, key=lambda s: results[s][0].test_acc or 0.0)
    for schedule, (summary, epochs) in results.items():
        curve = " ".join(f"{e.val_acc:.0%}" for e in epochs)
        table.add_row(
            f"[b]{schedule}[/]" + (" ★" if schedule == best else ""), curve,
            f"{max((e.val_acc for e in epochs), default=0.0):.2%}",
            "?" if summary.test_acc is None else f"{summary.test_acc:.2%}",
            f"{epochs[-1].lr:.2e}" if epochs else "?", f"{summary.seconds or 0:.1f} s",
        )  # fmt: skip
    return table


def _print_json(run: TrainingRun, stream) -> events.JobEnd | None:
    for event in stream:
        sys.stdout.write(events.encode(event).decode())  # the wire's own lines: strict JSON, NaN as null
        sys.stdout.flush()
    return run.summary


def _show_progress(run: TrainingRun, stream) -> events.JobEnd | None:
    console = Console()
    columns = [
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
    ]  # fmt: skip
    header = None
    with Progress(*columns, console=console, transient=False) as progress:
        epochs = steps = None
        for event in stream:
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
