"""`tutor speed`: open the app in speed mode, or list the challenges headless."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.text import Text

from tutor.commands import EXIT_OK, EXIT_USAGE
from tutor.core import render
from tutor.core import timed as core
from tutor.core.lookup import LessonNotFound, catalog_for, find
from tutor.core.state import State


def speed(args: argparse.Namespace) -> int:
    catalog = catalog_for(args)
    if args.list or args.json:
        return _list(catalog, args.json)
    challenge = ""
    if args.challenge:
        try:
            challenge = find(catalog, args.challenge).lesson.id
        except LessonNotFound as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    from tutor.app import run_app

    return run_app(lessons=getattr(args, "lessons", []), speed=challenge)


def _list(catalog, as_json: bool) -> int:
    state = State()
    rows = []
    for lesson in core.challenges(catalog):
        best = state.personal_best(lesson.id)
        rows.append({
            "id": lesson.id, "title": lesson.title, "time_limit": lesson.time_limit or lesson.minutes * 60,
            "best_time_to_green": best.get("time_to_green") if best else None,
            "best_score": best.get("score") if best else None,
            "attempts": len(state.speed_history(lesson.id)),
        })  # fmt: skip
    sprint_best = state.personal_best("sprint")
    rows.append({"id": "sprint", "title": "Sprint of drill variants", "time_limit": list(core.SPRINT_SECONDS),
                 "best_time_to_green": sprint_best.get("time_to_green") if sprint_best else None,
                 "best_score": sprint_best.get("score") if sprint_best else None,
                 "attempts": len(state.speed_history("sprint"))})  # fmt: skip
    if as_json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    console = Console()
    table = render.fitting_table("speed challenges", console.width)
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("title", min_width=16, ratio=1)
    for col in ("limit", "best", "attempts"):
        table.add_column(col, no_wrap=True, justify="right")
    for row in rows:
        limit = row["time_limit"]
        limit_text = "/".join(f"{s}s" for s in limit) if isinstance(limit, list) else f"{limit // 60}:{limit % 60:02d}"
        best = row["best_time_to_green"]
        table.add_row(row["id"], Text(row["title"]), limit_text, f"{best:.0f} s" if best else "—", str(row["attempts"]))
    console.print(table)
    return EXIT_OK
