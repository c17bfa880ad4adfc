"""Lesson self-tests: the starter fails, the reference passes, every decoy fails naming its mistake,
and every alternative (a right answer written differently) passes."""

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
    if lesson.quiz is not None:
        return _quiz_check(checker, lesson, variant)
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
    if lesson.scale is not None and checker.reference_ms(lesson, variant) is None:
        report.problems.append("the scale-up case does not run on the reference: check `scale:` (expr, inputs, params)")
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
    if not rendered.alternatives:
        report.problems.append("no alternative: add a right solution written differently (alternatives:)")
    for alternative in rendered.alternatives:
        verdict = checker.check(lesson, decoy_code(rendered, alternative), variant=variant, name_mistakes=False, reuse=True)
        if not verdict.passed:
            first = verdict.first_failure
            report.problems.append(
                f"alternative {alternative.note!r} fails: {first.name + ': ' + first.message if first else verdict.problem}"
            )
    return report


def _quiz_check(checker: Checker, lesson: Lesson, variant: int) -> LessonReport:
    """The truth's answer and its other spellings pass, no answer fails, each decoy's answer fails by name."""
    from engine.checks import quiz

    report = LessonReport(lesson.id, variant)
    try:
        truth = quiz.truth(checker, lesson, variant)
    except LessonBroken as exc:
        report.problems.append(str(exc))
        return report
    for answer in [quiz.shown(truth), *quiz.spellings(truth)]:
        if not quiz.decide(checker, lesson, answer, variant).passed:
            report.problems.append(f"the right answer written {answer!r} fails")
    if quiz.decide(checker, lesson, "", variant).passed:
        report.problems.append("no answer passes")
    rendered, _ = instantiate(lesson, variant)
    for decoy in rendered.decoys:
        wrong = quiz.truth(checker, lesson, variant, decoy_code(rendered, decoy))
        if quiz.same(wrong, truth):
            continue  # this variant happens to give the mistaken model the right answer: nothing to catch here
        verdict = quiz.decide(checker, lesson, quiz.shown(wrong), variant)
        if verdict.passed or not verdict.checks[0].mistake:
            report.problems.append(f"decoy {decoy.mistake!r}: its answer {quiz.shown(wrong)} is not named")
    return report
