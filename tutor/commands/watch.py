"""`tutor watch [ID]`: the rustlings habit, headless.

The exercise is written to a file; every save is checked with the warm
runner and the verdict printed; a pass moves on to the next lesson.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterator

from rich.console import Console
from rich.markup import escape
from rich.rule import Rule

from engine import paths
from tutor.commands import EXIT_OK, EXIT_USAGE
from tutor.core import render
from tutor.core.session import Session


def watch(args: argparse.Namespace) -> int:
    console = Console()
    session = Session(getattr(args, "lessons", []))
    lesson_id = args.id or session.next_id(session.continue_id())
    if lesson_id and session.catalog.get(lesson_id) is None:
        from tutor.core.lookup import LessonNotFound, find

        try:
            lesson_id = find(session.catalog, lesson_id).lesson.id
        except LessonNotFound as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if lesson_id is None:
        print("error: no lessons found", file=sys.stderr)
        return EXIT_USAGE
    session.warm_up()
    try:
        while lesson_id:
            lesson_id = _work_on(console, session, lesson_id, once=args.once)
    except KeyboardInterrupt:
        console.print("\n[dim]Stopped watching. Your code is saved.[/]")
    finally:
        session.close()
    return EXIT_OK


def _work_on(console: Console, session: Session, lesson_id: str, once: bool) -> str | None:
    """Watch one lesson until it passes; return the next lesson's id (or None to stop)."""
    if not watch_until_green(console, session, lesson_id):
        return None
    nxt = session.next_id(lesson_id)
    if once or not nxt or nxt == lesson_id:
        console.print("[green]Passed.[/]")
        return None
    console.print(f"[green]Passed.[/] Next: [b]{escape(nxt)}[/]\n")
    return nxt


def sync_file(session: Session, lesson_id: str) -> Path:
    """The exercise file holds the saved code; edits made in it while nobody watched are kept first."""
    path = session.exercise_file(lesson_id)
    code = session.code(lesson_id)
    if not path.exists() or paths.read_text(path) != code:
        if path.exists():
            session.load_external(lesson_id, paths.read_text(path))
            code = session.code(lesson_id)
        path.write_text(code, encoding="utf-8")
    return path


def watch_until_green(console: Console, session: Session, lesson_id: str, from_memory: bool = False) -> bool:
    """Show the lesson, check every save of its file; True once a save passes."""
    path = sync_file(session, lesson_id)
    code = session.code(lesson_id)
    variant = session.variant(lesson_id)
    session.open(lesson_id)
    console.print(Rule(f"[b]{escape(lesson_id)}[/]" + (" · review, from memory" if from_memory else "")))
    console.print(render.lesson_view(session.lesson(lesson_id, variant), from_memory=from_memory))
    console.print(f"Edit [cyan]{escape(str(path))}[/] in your editor; every save is checked. Ctrl+C stops.\n")
    for text in _saves(path, code):
        session.load_external(lesson_id, text)
        console.print(Rule("[dim]checking[/]", style="dim"))
        verdict = session.check(lesson_id, text, filename=str(path), variant=variant)
        console.print(render.verdict_view(verdict))
        if verdict.passed:
            return True
    return False


def _saves(path: Path, last: str) -> Iterator[str]:
    """The file's text after each save that changed it from `last`.

    The folder is watched, not the file: many editors save by writing a new
    file and renaming it over the old one, which a watch on the file loses.
    The file is also read every half second without an event, so a save made
    while the watch was being set up is not lost.
    """
    import watchfiles  # imported here: `tutor --help` need not load it

    target = path.resolve()
    changes = watchfiles.watch(target.parent, watch_filter=lambda _change, name: Path(name).resolve() == target,
                               rust_timeout=500, yield_on_timeout=True)  # fmt: skip
    for _changes in changes:
        try:
            text = paths.read_text(path)
        except (OSError, UnicodeDecodeError):
            continue  # mid-save, or gone for a moment: the next event brings it back
        if text != last:
            last = text
            yield text
