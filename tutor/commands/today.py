"""`tutor today`: the day's plan: due reviews first, then new lessons, sized to your daily goal."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.text import Text

from tutor.commands import EXIT_OK, EXIT_USAGE
from tutor.core import clock, plan, review
from tutor.core.render import fitting_table
from tutor.core.session import Session
from tutor.core.text import item_label, plural


def today(args: argparse.Namespace) -> int:
    session = Session(getattr(args, "lessons", []))
    try:
        if args.goal is not None:
            if not 5 <= args.goal <= 600:
                print("error: the daily goal is in minutes, from 5 to 600")
                return EXIT_USAGE
            session.state.set_setting("daily_goal", str(args.goal))
        moment = clock.now()
        day = plan.build(session.state, session.catalog, moment)
        forecast = review.forecast(session.state, 7, moment)
        if args.json:
            print(json.dumps(_as_json(day, forecast), indent=2))
        else:
            _show(session, day, forecast)
        return EXIT_OK
    finally:
        session.close()


def _as_json(day: plan.Plan, forecast: list[int]) -> dict:
    return {
        "date": day.day,
        "goal_minutes": day.goal_minutes,
        "minutes": day.minutes,
        "minutes_left": day.minutes_left,
        "repetition_share": round(day.share(), 3),
        "reviews": [
            {
                "id": i.lesson_id,
                "variant": i.variant,
                "recall": None if i.recall is None else round(i.recall, 3),
                "due": "today",
                "minutes": i.minutes,
                "done": i.done,
                "leech": i.leech,
                "refresher": i.refresher,
            }
            for i in day.items
            if i.review
        ],  # fmt: skip
        "new": [{"id": i.lesson_id, "kind": i.kind, "minutes": i.minutes, "done": i.done} for i in day.items if not i.review],
        "forecast": forecast,
    }


def _show(session: Session, day: plan.Plan, forecast: list[int]) -> None:
    console = Console()
    reviews = sum(i.review for i in day.items)
    console.print(Text(f"Today, {day.day}: {plural(reviews, 'review')} and {plural(len(day.items) - reviews, 'new lesson')}, "
                       f"about {day.minutes} of your {day.goal_minutes} minutes "
                       f"({day.share():.0%} repetition); {day.minutes_left} min left", style="bold"))  # fmt: skip
    table = fitting_table("", console.width)
    for column in ("", "", "lesson", "kind", "min"):
        table.add_column(column, no_wrap=column != "lesson")
    for item in day.items:
        title = session.catalog.get(item.lesson_id).lesson.title
        table.add_row("✔" if item.done else "·", item_label(item), Text(f"{title}  [{item.lesson_id}]"), item.kind,
                      str(item.minutes))  # fmt: skip
    console.print(table)
    days = ", ".join(f"{'today' if n == 0 else f'+{n}'}: {count}" for n, count in enumerate(forecast))
    console.print(Text(f"reviews due in the next 7 days: {days}", style="dim"))
