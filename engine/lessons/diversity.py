"""Do a drill's variants change what the learner types?

A variant that only changes a constant the starter already binds gives the
learner the same code to write every time, which drills nothing new. The
learner-typed part of a solution is its lines minus the starter's own lines
(compared stripped, blank lines and comments ignored); a drill passes when
enough of its variants differ there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.lessons.format import Between, Choice, Lesson
from engine.lessons.variants import instantiate

SAMPLED = 20  # variants looked at per drill
WANTED = 5  # distinct learner-typed solutions required among them
QUIZ_SAMPLED, QUIZ_WANTED = 60, 20  # a quiz: distinct snippets, each a new question


@dataclass(frozen=True)
class VariantSpread:
    lesson_id: str
    sampled: int
    distinct: int
    combinations: float  # math.inf when a param is a float range
    required: int
    quiz: bool = False  # counted in distinct snippets (questions), not typed solutions

    @property
    def ok(self) -> bool:
        return self.distinct >= self.required


def typed_lines(solution: str, starter: str) -> tuple[str, ...]:
    """The solution's lines the learner writes: those the starter does not already hold."""
    given = {line.strip() for line in starter.splitlines()}
    return tuple(
        stripped
        for line in solution.splitlines()
        if (stripped := line.strip()) and not stripped.startswith("#") and stripped not in given
    )


def combinations(lesson: Lesson) -> float:
    """How many different param sets the drill can draw."""
    total = 1.0
    for spec in lesson.params.values():
        if isinstance(spec, Choice):
            total *= len({repr(v) for v in spec.choice})
        elif isinstance(spec, Between):
            lo, hi = spec.between
            if not (isinstance(lo, int) and isinstance(hi, int)):
                return math.inf
            total *= hi - lo + 1
    return total


def spread(lesson: Lesson, sampled: int = SAMPLED) -> VariantSpread:
    """Distinct learner-typed solutions among `sampled` variants (for a quiz: distinct snippets of 60)."""
    quiz = lesson.quiz is not None
    sampled = QUIZ_SAMPLED if quiz else sampled
    seen = set()
    for variant in range(sampled):
        rendered, _ = instantiate(lesson, variant)
        seen.add(rendered.solution.strip() if quiz else typed_lines(rendered.solution, rendered.starter))
    combos = combinations(lesson)
    return VariantSpread(
        lesson_id=lesson.id,
        sampled=sampled,
        distinct=len(seen),
        combinations=combos,
        required=QUIZ_WANTED if quiz else int(min(WANTED, combos)),
        quiz=quiz,
    )
