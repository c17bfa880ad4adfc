"""`tutor stats`: progress per track and course document, reviews, mastery per skill, your frequent mistakes."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tutor.commands import EXIT_OK
from tutor.core import plan, practice_view, review
from tutor.core.session import Session
from tutor.core.text import bar, plural


def stats(args: argparse.Namespace) -> int:
    session = Session(getattr(args, "lessons", []))
    tracks = session.track_progress()
    seeds = session.document_progress()
    progress = session.progress()
    attempts = sum(p.attempts for p in progress.values())
    speed = session.state.speed_history()
    data = {
        "tracks": [{"track": t.track, "title": t.title, "done": t.done, "total": t.total} for t in tracks],
        "documents": {name: {"done": d, "total": t} for name, (d, t) in seeds.items()},
        "lessons_done": sum(p.status == "done" for p in progress.values()),
        "lessons_total": len(session.catalog.lessons),
        "attempts": attempts,
        "hints_used": sum(p.hints_used for p in progress.values()),
        "speed_attempts": len(speed),
        "streak_days": plan.streak(session.state),
        "days_practised": len(session.state.practice_days()),
        "reviews_done": session.state.reviews_done(),
        "reviews_due_next_7_days": review.forecast(session.state),
        "skills": [
            {"skill": m.skill, "mastery": round(m.mastery, 3), "lessons": m.lessons, "practised": m.practised,
             "kept": None if m.kept is None else round(m.kept, 3)}
            for m in review.mastery(session.state, [i.lesson for i in session.catalog.lessons])
        ],
        "mistakes": [
            {"mistake": mistake, "lesson": lesson_id, "skills": skills.split(",") if skills else [], "count": count,
             "last_seen": datetime.fromtimestamp(last).isoformat(timespec="seconds")}
            for mistake, lesson_id, skills, count, last in session.state.mistake_counts()
        ],
    }  # fmt: skip
    if args.json:
        print(json.dumps(data, indent=2))
        return EXIT_OK
    console = Console()
    console.print(f"[b]{data['lessons_done']}[/] of {data['lessons_total']} lessons done · {attempts} checks run · "
                  f"{data['hints_used']} hint levels seen · {len(speed)} timed attempts")  # fmt: skip
    console.print(f"streak {plural(data['streak_days'], 'day')} · {plural(data['days_practised'], 'day')} practised · "
                  f"{plural(data['reviews_done'], 'review')} · due in the next 7 days: {data['reviews_due_next_7_days']}")  # fmt: skip
    titles = {i.lesson.id: i.lesson.title for i in session.catalog.lessons}
    mastery = review.mastery(session.state, [i.lesson for i in session.catalog.lessons])
    console.print(Text("weakest skills (mean recall of their lessons)", style="bold"))
    console.print(practice_view.weakest_skills(mastery, count=6))
    console.print(Text("your most frequent mistakes", style="bold"))
    console.print(practice_view.frequent_mistakes(session.state.mistake_counts(), titles, count=8))
    table = Table(title="by track", title_justify="left")
    for col in ("track", "progress", "done"):
        table.add_column(col)
    for t in tracks:
        table.add_row(t.title, bar(t.done, t.total), f"{t.done}/{t.total}")
    console.print(table)
    table = Table(title="by course document", title_justify="left")
    for col in ("document", "progress", "done"):
        table.add_column(col)
    for seed, (done, total) in seeds.items():
        table.add_row(seed, bar(done, total), f"{done}/{total}")
    console.print(table)
    return EXIT_OK
