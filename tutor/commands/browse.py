"""`tutor list`, `tutor show`, `tutor hint`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from engine.lessons.variants import instantiate
from tutor.commands import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from tutor.core import render
from tutor.core.lookup import LessonNotFound, catalog_for, find
from tutor.core.state import State


def list_lessons(args: argparse.Namespace) -> int:
    catalog = catalog_for(args)
    state = State()
    if state.warning:
        print(f"warning: {state.warning}", file=sys.stderr)
    progress = state.all_progress()
    items = [i for i in catalog.lessons if not args.track or i.lesson.track == args.track]
    if args.track and not items:
        print(f"no track {args.track!r}; tracks: {', '.join(catalog.tracks())}", file=sys.stderr)
        return EXIT_USAGE
    rows = [render.lesson_row(i, progress.get(i.lesson.id)) for i in items]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        console = Console()
        console.print(render.lesson_table(rows, console.width))
    return EXIT_OK


def _lesson_or_exit(args: argparse.Namespace):
    try:
        return find(catalog_for(args), args.id)
    except LessonNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def show(args: argparse.Namespace) -> int:
    item = _lesson_or_exit(args)
    if item is None:
        return EXIT_USAGE
    if getattr(args, "solution", False):
        return _compare(args, item)
    lesson, params = instantiate(item.lesson, args.variant or 0)
    if args.json:
        print(json.dumps(render.lesson_json(lesson, params, item.path), indent=2))
    else:
        Console().print(render.lesson_view(lesson))
    return EXIT_OK


def _compare(args: argparse.Namespace, item) -> int:
    """`tutor show ID --solution`: once passed, the learner's code beside the reference and why."""
    state = State()
    lesson_id = item.lesson.id
    passed = state.progress(lesson_id).status == "done"
    if not passed and not args.force:
        print(f"error: pass {lesson_id} first to compare with the reference (or add --force)", file=sys.stderr)
        return EXIT_FAIL
    variant = args.variant if args.variant is not None else state.lesson_variant(lesson_id)
    lesson, _ = instantiate(item.lesson, variant)
    mine = _learner_code(args, state, lesson_id)
    if mine is None:
        return EXIT_USAGE
    if args.json:
        print(json.dumps({"id": lesson_id, "variant": variant, "passed": passed, "mine": mine,
                          "reference": lesson.solution, "why": lesson.why}, indent=2))  # fmt: skip
    else:
        console = Console()
        console.print(render.compare_view(mine, lesson.solution, lesson.why, console.width))
    return EXIT_OK


def _learner_code(args: argparse.Namespace, state: State, lesson_id: str) -> str | None:
    if args.file:
        try:
            return Path(args.file).read_text(encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
            return None
    return state.code(lesson_id) or ""


def hint(args: argparse.Namespace) -> int:
    item = _lesson_or_exit(args)
    if item is None:
        return EXIT_USAGE
    lesson, _ = instantiate(item.lesson, args.variant or 0)
    total = len(lesson.hints)
    if not 1 <= args.level <= total:
        print(f"error: {lesson.id} has hint levels 1 to {total}", file=sys.stderr)
        return EXIT_USAGE
    State().use_hint(lesson.id, args.level)
    Console().print(render.hints_view(lesson, args.level))
    return EXIT_OK
