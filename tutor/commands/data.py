"""`tutor data get NAME` and `tutor data list`: datasets offline, verified by checksum."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from engine.jobs import datasets
from tutor.commands import EXIT_FAIL, EXIT_OK, EXIT_USAGE


def get(args: argparse.Namespace) -> int:
    if args.name not in datasets.SOURCES:
        print(f"error: no dataset {args.name!r}; datasets: {', '.join(datasets.SOURCES)}", file=sys.stderr)
        return EXIT_USAGE
    if not args.force and datasets.manifest(args.name):
        try:
            datasets.verify(args.name)
            print(f"{args.name} is already here and matches its checksums ({datasets.root() / args.name})")
            return EXIT_OK
        except datasets.DatasetError as exc:
            print(f"{exc}; fetching it again")
    try:
        if args.name == "cifar10" and args.source:
            path = datasets.get_cifar10(folder=Path(args.source))
        else:
            path = datasets.SOURCES[args.name]()
        info = datasets.verify(args.name)
    except datasets.DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    sizes = ", ".join(f"{k} {v:,}" for k, v in info["sizes"].items())
    print(f"{args.name}: {sizes} images of shape {tuple(info['shape'])} from {info['source']}, stored in {path}")
    return EXIT_OK


def list_datasets(args: argparse.Namespace) -> int:
    rows = []
    for name in datasets.SOURCES:
        info = datasets.manifest(name)
        status = "missing"
        if info:
            try:
                datasets.verify(name)
                status = "ok"
            except datasets.DatasetError:
                status = "corrupt"
        rows.append({"name": name, "status": status, "sizes": (info or {}).get("sizes"), "source": (info or {}).get("source")})
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    table = Table(title=f"datasets in {datasets.root()}", title_justify="left")
    for col in ("name", "status", "sizes", "source"):
        table.add_column(col)
    marks = {"ok": "[green]✔ ok[/]", "missing": "[dim]missing: tutor data get {}[/]", "corrupt": "[red]✘ checksum mismatch[/]"}
    for row in rows:
        sizes = ", ".join(f"{k} {v:,}" for k, v in (row["sizes"] or {}).items())
        table.add_row(row["name"], marks[row["status"]].format(row["name"]), sizes, row["source"] or "")
    Console().print(table)
    return EXIT_OK
