"""How practice is shown, in the app's home and in `tutor stats` alike: rich Text, never markup.

Mistake names and lesson titles are lesson text: they go into Text objects
as plain strings, so brackets in them are shown, never parsed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from rich.text import Text

from tutor.core.text import plural

HEAT = (("·", "grey42"), ("░", "green4"), ("▒", "green3"), ("█", "green1"))  # none, a little, more, a lot
WEEKDAYS = "MTWTFSS"


def calendar(counts: dict[str, int], today: date, weeks: int = 16) -> Text:
    """A grid of the last `weeks` weeks, a row per weekday, each day's cell by checks run."""
    start = today - timedelta(days=today.weekday() + 7 * (weeks - 1))  # a Monday
    out = Text()
    for weekday in range(7):
        out.append(f"{WEEKDAYS[weekday]} ", style="dim")
        for week in range(weeks):
            day = start + timedelta(days=7 * week + weekday)
            if day > today:
                out.append("  ")
                continue
            count = counts.get(day.isoformat(), 0)
            level = 0 if count == 0 else 1 if count < 4 else 2 if count < 10 else 3
            glyph, style = HEAT[level]  # a glyph as well as a colour: it reads on any terminal
            out.append(glyph + " ", style=style)
        out.append("\n")
    out.append("   less ", style="dim")
    for glyph, style in HEAT:
        out.append(glyph + " ", style=style)
    out.append("more", style="dim")
    return out


def forecast(counts: list[int], today: date) -> Text:
    """Reviews due each of the next days, as bars."""
    top = max(counts, default=0) or 1
    out = Text()
    for offset, count in enumerate(counts):
        day = today + timedelta(days=offset)
        label = "today" if offset == 0 else day.strftime("%a")
        out.append(f"{label:>5} ", style="dim")
        out.append("█" * round(8 * count / top) if count else "·", style="cyan")
        out.append(f" {count}\n")
    out.rstrip()  # in place
    return out


def weakest_skills(mastery: list, count: int = 4) -> Text:
    practised = [m for m in mastery if m.practised][:count]
    if not practised:
        return Text("no skill practised yet", style="dim")
    out = Text()
    for m in practised:
        out.append(f"{m.skill:<16}", style="bold")
        out.append(f" {m.mastery:>4.0%}", style="red" if m.mastery < 0.5 else "yellow" if m.mastery < 0.8 else "green")
        out.append(f"  {m.practised}/{m.lessons} lessons, {m.kept:.0%} kept\n", style="dim")
    out.rstrip()  # in place
    return out


def frequent_mistakes(rows: list[tuple[str, str, str, int, float]], titles: dict[str, str], count: int = 4) -> Text:
    """Most frequent named mistakes: times, the mistake, the lesson, when last."""
    if not rows:
        return Text("no named mistake yet", style="dim")
    out = Text()
    for mistake, lesson_id, _skills, times, last in rows[:count]:
        when = datetime.fromtimestamp(last).strftime("%b %d")
        out.append(f"{times}× ", style="bold red")
        out.append(mistake)
        out.append(f"  {titles.get(lesson_id, lesson_id)} · last {when}\n", style="dim")
    out.rstrip()  # in place
    return out


def streak_line(streak: int, days: int) -> Text:
    return Text.assemble((f"{streak}-day streak", "bold"), f" · {plural(days, 'day')} practised")
