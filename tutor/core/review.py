"""Spaced review with FSRS: when each lesson comes back, rated from what the learner did.

One card per lesson that can be repeated (drills, applications, challenges;
not projects, nor lessons that train for minutes).  The rating comes from the
verdicts, never from self-grading, and a lesson is reviewed at most once a
day: every attempt re-rates the day's review from the card as it was before
that day (`before_day`), so a fail followed by a pass is one review, Hard.

- no green today, or the reference solution shown: Again;
- green, but after a hint, three or more failed runs, or slower than twice
  the learner's usual time on the lesson: Hard;
- green on the first run in under half the usual time: Easy;
- any other green: Good.

The scheduler has no learning steps: nothing is due again the same day.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from fsrs import Card, Rating, Scheduler

from tutor.core import clock
from tutor.core.state import State

# Deterministic (no fuzz), so tests and a person on TUTOR_NOW see the same schedule twice.
SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
SLOW = 2.0  # times the usual time to green: Hard
QUICK = 0.5  # times the usual time, green on the first run: Easy
MANY_FAILS = 3


def reviewable(lesson) -> bool:
    """Lessons worth repeating: not projects, nor lessons that prefer a GPU (minutes of training)."""
    return lesson.kind != "project" and lesson.requires.device == "cpu"


@dataclass(frozen=True)
class Day:
    """What the learner did on a lesson during one day, up to now."""

    passed: bool
    failed_runs: int  # before the first green, or all of them if none
    hinted: bool
    solution_seen: bool
    time_to_green: float | None  # seconds from opening the lesson that day to its first green


def rate(day: Day, usual: float | None) -> Rating:
    if not day.passed or day.solution_seen:
        return Rating.Again
    slow = usual is not None and day.time_to_green is not None and day.time_to_green > SLOW * usual
    if day.hinted or day.failed_runs >= MANY_FAILS or slow:
        return Rating.Hard
    quick = usual is not None and day.time_to_green is not None and day.time_to_green < QUICK * usual
    return Rating.Easy if day.failed_runs == 0 and quick else Rating.Good


def day_bounds(moment: datetime) -> tuple[float, float]:
    """The local day around `moment`, as [start, end) timestamps."""
    local = moment.astimezone()
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def day_facts(state: State, lesson_id: str, moment: datetime) -> Day:
    start, end = day_bounds(moment)
    attempts = state.attempts_between(lesson_id, start, end)
    events = state.events_between(lesson_id, start, end)
    first_green = next((at for at, passed in attempts if passed), None)
    before = [a for a in attempts if first_green is None or a[0] <= first_green]
    failed = sum(1 for _, passed in before if not passed)
    until = first_green if first_green is not None else end
    opened = [at for at, kind in events if kind == "opened" and at <= until]
    started = opened[0] if opened else (attempts[0][0] if attempts else None)
    return Day(
        passed=first_green is not None,
        failed_runs=failed,
        hinted=any(kind == "hint" and at <= until for at, kind in events),
        solution_seen=any(kind == "solution" and at <= until for at, kind in events),
        time_to_green=None if first_green is None or started is None else max(0.0, first_green - started),
    )


def usual_time(state: State, lesson_id: str, before_day: str) -> float | None:
    """The learner's median time to green on this lesson, on earlier days."""
    times = [t for day, _rating, t in state.review_log(lesson_id) if day < before_day and t is not None]
    return statistics.median(times) if times else None


def record(state: State, lesson, moment: datetime | None = None) -> Card | None:
    """Re-rate today's review of `lesson` from today's attempts; the new card, or None if not reviewable."""
    if not reviewable(lesson):
        return None
    moment = moment or clock.now()
    day = moment.astimezone().date().isoformat()
    stored = state.card(lesson.id)
    if stored is None:
        before = None
    elif stored[1] == day:
        before = stored[2]  # today's review is re-rated from the card as it was this morning
    else:
        before = stored[0]
    card = Card.from_json(before) if before else Card()
    facts = day_facts(state, lesson.id, moment)
    rating = rate(facts, usual_time(state, lesson.id, day))
    card, _log = SCHEDULER.review_card(card, rating, review_datetime=moment)
    state.save_review(lesson.id, card.to_json(), card.due.timestamp(), day, before, int(rating), facts.time_to_green)
    return card


@dataclass(frozen=True)
class Due:
    lesson_id: str
    due: datetime
    recall: float  # FSRS retrievability now: the lowest comes first


def due_reviews(state: State, moment: datetime | None = None) -> list[Due]:
    """Cards due by the end of today, least likely remembered first."""
    moment = moment or clock.now()
    _start, end = day_bounds(moment)
    out = []
    for lesson_id, (card_json, due) in state.cards().items():
        if due < end:
            card = Card.from_json(card_json)
            out.append(Due(lesson_id, card.due, SCHEDULER.get_card_retrievability(card, moment)))
    return sorted(out, key=lambda d: (d.recall, d.lesson_id))


def forecast(state: State, days: int = 7, moment: datetime | None = None) -> list[int]:
    """How many reviews fall due on each of the next `days` days (today first, overdue included)."""
    moment = moment or clock.now()
    start, _end = day_bounds(moment)
    counts = [0] * days
    for _lesson_id, (_card, due) in state.cards().items():
        index = max(0, int((due - start) // 86400))
        if index < days:
            counts[index] += 1
    return counts


# --- leeches and mastery ---------------------------------------------------------------------

LEECH_LAPSES = 4  # failed in review this many times: repeating it blindly is not working


def lapses_in(log: list[tuple[str, int, float | None]]) -> int:
    """Reviews in a lesson's log rated Again, not counting the first day (that was learning, not forgetting)."""
    return sum(1 for _day, rating, _t in log[1:] if rating == int(Rating.Again))


def lapses(state: State, lesson_id: str) -> int:
    return lapses_in(state.review_log(lesson_id))


def is_leech(state: State, lesson_id: str) -> bool:
    return lapses(state, lesson_id) >= LEECH_LAPSES


def recall(state: State, moment: datetime | None = None) -> dict[str, float]:
    """Every card's probability of being remembered now: lesson id -> 0..1."""
    moment = moment or clock.now()
    return {
        lesson_id: SCHEDULER.get_card_retrievability(Card.from_json(card_json), moment)
        for lesson_id, (card_json, _due) in state.cards().items()
    }


@dataclass(frozen=True)
class SkillMastery:
    skill: str
    mastery: float  # mean recall probability over the skill's lessons; unpractised count 0
    lessons: int
    practised: int
    kept: float | None = None  # mean recall over the practised lessons only: how well what was learned is kept


def mastery(state: State, lessons, moment: datetime | None = None) -> list[SkillMastery]:
    """Per skill, weakest first; skills never practised come last (nothing to say of them yet)."""
    known = recall(state, moment)
    by_skill: dict[str, list[float | None]] = {}
    for lesson in lessons:
        if not reviewable(lesson):
            continue
        for skill in lesson.skills:
            by_skill.setdefault(skill, []).append(known.get(lesson.id))
    out = []
    for skill, values in by_skill.items():
        known_values = [v for v in values if v is not None]
        kept = sum(known_values) / len(known_values) if known_values else None
        out.append(SkillMastery(skill, sum(known_values) / len(values), len(values), len(known_values), kept))
    return sorted(out, key=lambda m: (m.practised == 0, m.mastery, m.skill))


FOCUS_KINDS = ("drill", "quiz")


def weakest_lessons(state: State, lessons, count: int = 6, skills: int = 3, moment: datetime | None = None) -> list[str]:
    """Drills of the weakest practised skills, least remembered first: "practise my weakest skills"."""
    weakest = set([m.skill for m in mastery(state, lessons, moment) if m.practised][:skills])
    known = recall(state, moment)
    pool = [lesson for lesson in lessons if lesson.kind in FOCUS_KINDS and weakest & set(lesson.skills)]
    pool.sort(key=lambda lesson: known.get(lesson.id, 2.0))  # practised and fading first; unpractised after
    return [lesson.id for lesson in pool[:count]]


def mistake_lessons(state: State, count: int = 5) -> list[str]:
    """The lessons of the learner's most frequent named mistakes, most frequent first."""
    return list(dict.fromkeys(lesson_id for _m, lesson_id, *_rest in state.mistake_counts()))[:count]
