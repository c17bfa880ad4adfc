"""`tutor review`: today's plan, headless, in your own editor.

Each item's file is written (a review gets a fresh variant's starter, the
earlier code kept as a version), every save is checked, and a pass moves on
to the next item of the day until the plan is done.
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape

from tutor.commands import EXIT_OK
from tutor.commands.watch import sync_file, watch_until_green
from tutor.core.session import Session
from tutor.core.text import item_label, plural


def review(args: argparse.Namespace) -> int:
    console = Console()
    session = Session(getattr(args, "lessons", []))
    try:
        session.warm_up()
        previous = None
        while (item := session.today().next_item(after=previous)) is not None:
            if item.review:
                sync_file(session, item.lesson_id)  # edits made in the file are kept before the starter replaces it
                starter = session.start_review(item.lesson_id, item.variant)
                session.exercise_file(item.lesson_id).write_text(starter, encoding="utf-8")
            if item.leech and item.refresher:
                console.print(f"[yellow]This one keeps slipping away: revise {escape(item.refresher)} first "
                              f"(tutor watch {escape(item.refresher)}), or use `tutor hint {escape(item.lesson_id)}`.[/]")  # fmt: skip
            left = session.today()
            console.print(f"[dim]{item_label(item)} · {plural(len(left.left), 'item')} and "
                          f"{left.minutes_left} min left today[/]")  # fmt: skip
            if not watch_until_green(console, session, item.lesson_id, from_memory=item.review):
                return EXIT_OK
            console.print("[green]Passed.[/]")
            previous = item.lesson_id
            if args.once:
                return EXIT_OK
        console.print("[green]Today's plan is done.[/] `tutor today` shows what comes back when.")
        return EXIT_OK
    except KeyboardInterrupt:
        console.print("\n[dim]Stopped. Your code is saved; `tutor review` picks up where you left off.[/]")
        return EXIT_OK
    finally:
        session.close()
