"""Today's plan: due reviews first, then new lessons in course order, mixed and sized to a goal.

The course's method is fluency by repetition: about 65 % of the time on
repetition (drills and quizzes) and 35 % on applications.  The plan keeps
that mix by estimated minutes across the whole day, reviews included, and
stops once the learner's daily goal (default 30 minutes) is filled.

The plan is the same all day: what was done today stays in it as done (and
counts toward the goal), so finishing an item does not pull a new one in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tutor.core import clock, review
from tutor.core.state import State

DEFAULT_GOAL_MINUTES = 30
REPETITION_SHARE = 0.65
REPETITION_KINDS = ("drill", "quiz")


@dataclass(frozen=True)
class Item:
    lesson_id: str
    kind: str
    minutes: int
    review: bool  # due again, or new today
    variant: int = 0  # reviews come back as a fresh seeded variant
    recall: float | None = None  # for a review: how likely it is still remembered
    done: bool = False  # passed today (a new lesson), or reviewed today (whatever the result)
    leech: bool = False  # failed in review again and again: offer help, not the same again
    refresher: str | None = None  # for a leech: the lesson before it in its track
    due: datetime | None = None  # for a review: when it fell due


@dataclass
class Plan:
    day: str
    goal_minutes: int
    items: list[Item] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        return sum(i.minutes for i in self.items)

    @property
    def left(self) -> list[Item]:
        return [i for i in self.items if not i.done]

    @property
    def minutes_left(self) -> int:
        return sum(i.minutes for i in self.left)

    def next_item(self, after: str | None = None) -> Item | None:
        """The first item not done, skipping `after` (the one just left) when another remains."""
        left = self.left
        rest = [i for i in left if i.lesson_id != after]
        return (rest or left or [None])[0]

    def share(self) -> float:
        """The share of the plan's minutes spent on repetition (drills and quizzes)."""
        total = self.minutes
        return sum(i.minutes for i in self.items if i.kind in REPETITION_KINDS) / total if total else 0.0


def streak(state: State, moment: datetime | None = None) -> int:
    """Days in a row with practice, ending today (or yesterday, while today is still open)."""
    day = (moment or clock.now()).astimezone().date()
    practised = set(state.practice_days())
    if day.isoformat() not in practised:
        day -= timedelta(days=1)
    count = 0
    while day.isoformat() in practised:
        count += 1
        day -= timedelta(days=1)
    return count


def goal_minutes(state: State) -> int:
    value = state.setting("daily_goal")
    return int(value) if value and value.isdigit() else DEFAULT_GOAL_MINUTES


def build(state: State, catalog, moment: datetime | None = None, goal: int | None = None) -> Plan:
    moment = moment or clock.now()
    goal = goal or goal_minutes(state)
    day = moment.astimezone().date().isoformat()
    plan = Plan(day, goal)
    by_id = catalog.by_id()
    seen: set[str] = set()
    for lesson_id, passed in state.touched_between(*review.day_bounds(moment)):
        item = by_id.get(lesson_id)
        if item is None:
            continue
        stored = state.card(lesson_id)
        reviewed = stored is not None and stored[1] == day and stored[2] is not None
        lesson = item.lesson
        plan.items.append(Item(lesson_id, lesson.kind, lesson.minutes, reviewed, state.lesson_variant(lesson_id),
                               done=passed or reviewed))  # fmt: skip
        seen.add(lesson_id)
    for due in review.due_reviews(state, moment):
        item = by_id.get(due.lesson_id)
        if item is None or due.lesson_id in seen:
            continue  # a lesson from a pack that is not loaded now, or one already in today's plan
        log = state.review_log(due.lesson_id)
        variant = len(log)  # a new variant for each review
        leech = review.lapses_in(log) >= review.LEECH_LAPSES
        plan.items.append(Item(due.lesson_id, item.lesson.kind, item.lesson.minutes, True, variant, due.recall,
                               leech=leech, refresher=_before_in_track(catalog, item.lesson) if leech else None,
                               due=due.due))  # fmt: skip
        seen.add(due.lesson_id)
    cards = state.cards()
    fresh = [
        i.lesson for i in catalog.lessons
        if i.lesson.id not in cards and i.lesson.id not in seen and review.reviewable(i.lesson)
    ]  # fmt: skip
    repetition = [lesson for lesson in fresh if lesson.kind in REPETITION_KINDS]
    applications = [lesson for lesson in fresh if lesson.kind not in REPETITION_KINDS]
    while plan.minutes < goal and (repetition or applications):
        # Of the next drill and the next application in course order, take the one that leaves
        # the day's mix nearest 65/35 by minutes.
        candidates = [queue[0] for queue in (repetition, applications) if queue]
        lesson = min(candidates, key=lambda c: abs(_share_with(plan, c) - REPETITION_SHARE))
        (repetition if lesson.kind in REPETITION_KINDS else applications).pop(0)
        plan.items.append(Item(lesson.id, lesson.kind, lesson.minutes, False, state.lesson_variant(lesson.id)))
    return plan


def _before_in_track(catalog, lesson) -> str | None:
    """The lesson just before this one in its track: the groundwork to revise first."""
    ids = [i.lesson.id for i in catalog.in_track(lesson.track)]
    index = ids.index(lesson.id) if lesson.id in ids else 0
    return ids[index - 1] if index > 0 else None


def _share_with(plan: Plan, lesson) -> float:
    repetition = sum(i.minutes for i in plan.items if i.kind in REPETITION_KINDS)
    repetition += lesson.minutes if lesson.kind in REPETITION_KINDS else 0
    return repetition / (plan.minutes + lesson.minutes)
