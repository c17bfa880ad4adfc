"""`tutor check ID FILE`: decide a file against a lesson, headless."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from engine.checks.checker import Checker, LessonBroken
from engine.lessons.loader import LessonFileError, load_lesson_file
from engine.sandbox.client import Runner
from tutor.core import render
from tutor.core.lookup import LessonNotFound, catalog_for, find
from tutor.cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from tutor.core.state import State


def resolve_lesson(args: argparse.Namespace, lesson_ref: str):
    """A lesson id from the packs, or a path to a lesson YAML file."""
    path = Path(lesson_ref)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return load_lesson_file(path)
    return find(catalog_for(args), lesson_ref).lesson


def check(args: argparse.Namespace) -> int:
    try:
        lesson = resolve_lesson(args, args.id)
    except (LessonNotFound, LessonFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    path = Path(args.file)
    try:
        code = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # One warm runner for this command: torch is imported once, not per run.
    with Runner() as runner:
        try:
            verdict = Checker(runner).check(lesson, code, variant=args.variant, filename=str(path.resolve()))
        except LessonBroken as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    passed, total = verdict.score
    State().record_attempt(
        lesson.id, passed=verdict.passed, checks_passed=passed, checks_total=total, duration_ms=int(verdict.duration_ms)
    )
    if args.json:
        print(json.dumps(verdict.to_json(), indent=2))
    else:
        Console().print(render.verdict_view(verdict))
    return EXIT_OK if verdict.passed else EXIT_FAIL
