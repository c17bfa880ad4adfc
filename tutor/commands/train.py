"""`tutor train JOB`: a built-in training job with live progress bars, or its events as JSON."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from engine.jobs.manager import JobRun
from engine.jobs.worker import JOBS
from tutor.cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE


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
    run = JobRun(args.job, device=args.device, epochs=args.epochs, resume=args.resume, amp=args.amp, limit=args.limit,
                 checkpoint_every=args.checkpoint_every).start()  # fmt: skip
    try:
        summary = _print_json(run) if args.json else _show_progress(run)
    except KeyboardInterrupt:
        run.cancel()
        summary = next((e for e in run.events() if e.get("type") == "end"), None)
    if not summary or summary.get("status") == "failed":
        if summary and not args.json:
            print(f"error: {summary.get('error')}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK if summary.get("status") == "done" and summary.get("met") is not False else EXIT_FAIL


def _print_json(run: JobRun) -> dict | None:
    for event in run.events():
        print(json.dumps(event), flush=True)
    return run.summary


def _show_progress(run: JobRun) -> dict | None:
    console = Console()
    columns = [
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
    ]  # fmt: skip
    header = None
    with Progress(*columns, console=console, transient=False) as progress:
        epochs = steps = None
        for event in run.events():
            kind = event["type"]
            if kind == "job":
                header = event
                resumed = f", resumed after epoch {event['resumed_from']}" if event.get("resumed_from") else ""
                console.print(
                    f"[b]{event['title']}[/] on [cyan]{event['device_name']}[/] ({event['device']}), "
                    f"{event['params']:,} parameters, {event['train_size']:,} training examples from {event['data']}"
                    f"{', mixed precision' if event['amp'] else ''}{resumed}"
                )
                epochs = progress.add_task("epochs", total=event["epochs"], completed=event.get("resumed_from") or 0, info="")
                steps = progress.add_task("steps", total=event["steps_per_epoch"], info="")
            elif kind == "step" and steps is not None:
                info = f"loss {event['loss']:.4f} · {event['samples_per_s']:,.0f} samples/s · {_mem(event['mem'])}"
                progress.update(steps, completed=event["step"] + 1, info=info)
            elif kind == "epoch" and epochs is not None:
                info = f"val acc {event['val_acc']:.2%} · val loss {event['val_loss']:.4f}"
                progress.update(epochs, completed=event["epoch"], info=info)
                progress.update(steps, completed=0)
                console.print(
                    f"epoch {event['epoch']}: train loss {event['train_loss']:.4f} acc {event['train_acc']:.2%} · "
                    f"val loss {event['val_loss']:.4f} acc {event['val_acc']:.2%} · {event['seconds']:.1f} s"
                )
    summary = run.summary
    if summary:
        console.print(_summary_table(summary, header))
    return summary


def _summary_table(summary: dict, header: dict | None) -> Table:
    table = Table(title="summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("status", summary.get("status", "?"))
    if summary.get("error"):
        table.add_row("error", str(summary["error"]))
    if summary.get("test_acc") is not None:
        met = summary.get("met")
        mark = "[green]✔ target met[/]" if met else "[red]✘ below target[/]" if met is False else ""
        table.add_row("test accuracy", f"{summary['test_acc']:.2%} {mark} (target {summary.get('target') or 0:.0%})")
        table.add_row("test loss", f"{summary['test_loss']:.4f}")
    if header:
        table.add_row("device", f"{header['device_name']} ({header['device']})")
    if "seconds" in summary:
        table.add_row("time", f"{summary['seconds']:.1f} s")
    if summary.get("peak"):
        table.add_row("memory", _mem(summary["peak"]))
    if summary.get("epochs_done") is not None:
        table.add_row("epochs", str(summary["epochs_done"]))
    return table
