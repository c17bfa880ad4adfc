"""`tutor check ID FILE`: decide a file against a lesson, headless."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from engine import paths
from engine.checks.checker import LessonBroken
from engine.lessons.loader import LessonFileError, load_lesson_file
from tutor.commands import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from tutor.core import render
from tutor.core.lookup import LessonNotFound, find
from tutor.core.session import Session


def resolve_lesson(session: Session, lesson_ref: str):
    """A lesson id from the packs, or a path to a lesson YAML file."""
    path = Path(lesson_ref)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return load_lesson_file(path)
    return find(session.catalog, lesson_ref).lesson


def check(args: argparse.Namespace) -> int:
    session = Session(getattr(args, "lessons", []))
    try:
        return _check(args, session)
    finally:
        session.close()


def _check(args: argparse.Namespace, session: Session) -> int:
    try:
        lesson = resolve_lesson(session, args.id)
    except (LessonNotFound, LessonFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    path = Path(args.file)
    try:
        code = paths.read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Through the session, as in the app: the attempt is recorded the same way.
    try:
        # The variant the learner is on (a review moves it on), unless one is asked for.
        variant = args.variant if args.variant is not None else session.variant(lesson.id)
        verdict = session.check(lesson, code, variant=variant, filename=str(path.resolve()), mode="cli")
    except LessonBroken as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if verdict.passed:  # timed against the reference where the lesson has a larger input (advice only)
        verdict.speed = session.speed(lesson, code, variant=variant, filename=str(path.resolve()))
    if args.json:
        print(json.dumps(verdict.to_json(), indent=2))
    else:
        Console().print(render.verdict_view(verdict))
    return EXIT_OK if verdict.passed else EXIT_FAIL
