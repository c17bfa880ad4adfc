"""Lesson self-tests: the starter fails, the reference passes, every decoy fails naming its mistake."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.checks.checker import Checker, LessonBroken, decoy_code, missing_dataset
from engine.lessons.format import Between, Choice, Lesson
from engine.lessons.variants import instantiate


@dataclass
class LessonReport:
    lesson_id: str
    variant: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def variants_to_try(lesson: Lesson, count: int = 3) -> list[int]:
    """Several variants where anything is drawn at random: params, or hidden case values."""
    drawn = bool(lesson.params) or any(
        isinstance(value, (Between, Choice)) for check in lesson.checks for case in check.cases for value in case.values()
    )
    return list(range(count)) if drawn else [0]


def dev_check(checker: Checker, lesson: Lesson, variant: int = 0) -> LessonReport:
    report = LessonReport(lesson.id, variant)
    rendered, _ = instantiate(lesson, variant)
    missing = missing_dataset(lesson)
    if missing:
        report.problems.append(missing)
        return report
    try:
        checker.reference(lesson, variant)
    except LessonBroken as exc:
        report.problems.append(str(exc))
        return report
    # Each piece of code runs once: the reference and the decoys are cached by the checker.
    solution = checker.check(lesson, rendered.solution, variant=variant, name_mistakes=False, reuse=True)
    if not solution.passed:
        first = solution.first_failure
        report.problems.append(f"reference fails: {first.name if first else ''}: {first.message if first else solution.problem}")
    starter = checker.check(lesson, rendered.starter, variant=variant, name_mistakes=False, reuse=True)
    if starter.passed:
        report.problems.append("the starter code passes")
    for decoy in rendered.decoys:
        verdict = checker.check(lesson, decoy_code(rendered, decoy), variant=variant, reuse=True)
        if verdict.passed:
            report.problems.append(f"decoy passes: {decoy.mistake}")
            continue
        named = {c.mistake for c in verdict.checks if c.mistake}
        if decoy.mistake not in named:
            shown = f"named {sorted(named)}" if named else "named no mistake"
            first = verdict.first_failure
            report.problems.append(
                f"decoy {decoy.mistake!r} fails but its verdict {shown} ({first.message if first else verdict.problem})"
            )
    return report
