"""The headless core the app and `tutor watch` call: lessons, saved code, hints, checks.

No textual here.  Heavy imports (the checker pulls numpy) wait for the first check.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from engine import paths
from tutor.core.checkrun import CheckRun
from tutor.core.state import Progress, State

if TYPE_CHECKING:
    from engine.checks.checker import Checker, Verdict
    from engine.checks.outcome import EventSink
    from engine.lessons.format import Lesson
    from engine.lessons.loader import Catalog, LoadedLesson
    from engine.sandbox.client import Runner


@dataclass(frozen=True)
class TrackProgress:
    track: str
    title: str
    done: int
    total: int


class Session:
    """One learner's session: a catalog, their state, and a warm runner for checks."""

    def __init__(self, lessons: Iterable[str] = (), state: State | None = None, catalog: Catalog | None = None):
        self._catalog = catalog
        self.packs = list(lessons)  # extra lesson packs (--lessons), beside the built-in one
        self.state = state or State()
        self._runner: Runner | None = None
        self._checker: Checker | None = None
        self._lock = threading.Lock()
        self._catalog_lock = threading.Lock()

    @property
    def catalog(self) -> Catalog:
        """Loaded on first use, so the app can draw its first frame before parsing every lesson."""
        with self._catalog_lock:  # the app reads it on a worker; a command may ask at the same time
            if self._catalog is None:
                from engine.lessons.loader import load_catalog  # pydantic and the lesson models: after the first frame

                self._catalog = load_catalog(self.packs)
            return self._catalog

    @property
    def catalog_loaded(self) -> bool:
        return self._catalog is not None

    # --- lessons -------------------------------------------------------------------

    def lesson(self, lesson_id: str, variant: int = 0) -> Lesson:
        """The lesson as the learner sees it (templates filled for the variant)."""
        from engine.lessons.variants import instantiate

        item = self.catalog.get(lesson_id)
        if item is None:
            raise KeyError(lesson_id)
        return instantiate(item.lesson, variant)[0]

    def item(self, lesson_id: str) -> LoadedLesson:
        item = self.catalog.get(lesson_id)
        if item is None:
            raise KeyError(lesson_id)
        return item

    def progress(self) -> dict[str, Progress]:
        return self.state.all_progress()

    def track_progress(self) -> list[TrackProgress]:
        progress = self.progress()
        out = []
        for track in self.catalog.tracks():
            items = self.catalog.in_track(track)
            done = sum(1 for i in items if progress.get(i.lesson.id, Progress(i.lesson.id)).status == "done")
            out.append(TrackProgress(track, self.catalog.track_title(track), done, len(items)))
        return out

    def document_progress(self) -> dict[str, tuple[int, int]]:
        """Done and total per syllabus document (the two manual-ML sets count as one)."""
        from tutor.core.text import document_name

        progress = self.progress()
        out: dict[str, tuple[int, int]] = {}
        for item in sorted(self.catalog.lessons, key=lambda i: i.lesson.source.seed):  # in the syllabus's order
            name = document_name(item.lesson.source.seed)
            done, total = out.get(name, (0, 0))
            status = progress.get(item.lesson.id, Progress(item.lesson.id)).status
            out[name] = (done + (status == "done"), total + 1)
        return out

    def continue_id(self) -> str | None:
        last = self.state.last_lesson()
        return last if last and self.catalog.get(last) else None

    def next_id(self, after: str | None = None) -> str | None:
        """The next lesson not yet done, after `after` (or from the start)."""
        progress = self.progress()
        ids = [i.lesson.id for i in self.catalog.lessons]
        start = ids.index(after) + 1 if after in ids else 0
        for lesson_id in ids[start:] + ids[:start]:
            if progress.get(lesson_id, Progress(lesson_id)).status != "done" and lesson_id != after:
                return lesson_id
        return ids[start] if start < len(ids) else (ids[0] if ids else None)

    def search(self, text: str) -> list[LoadedLesson]:
        words = text.lower().split()

        def hit(item: LoadedLesson) -> bool:
            hay = " ".join([item.lesson.id, item.lesson.title, item.lesson.kind, *item.lesson.skills]).lower()
            return all(w in hay for w in words)

        return [i for i in self.catalog.lessons if hit(i)]

    # --- code ------------------------------------------------------------------------

    def code(self, lesson_id: str) -> str:
        saved = self.state.code(lesson_id)
        return saved if saved is not None else self.lesson(lesson_id, self.variant(lesson_id)).starter

    def save(self, lesson_id: str, text: str) -> None:
        self.state.save_code(lesson_id, text)

    def reset(self, lesson_id: str, current: str) -> str:
        """Back to the starter; the current text is kept as a version first."""
        starter = self.lesson(lesson_id, self.variant(lesson_id)).starter
        if current != starter:
            self.state.keep_version(lesson_id, current, "before reset to starter")
        self.state.save_code(lesson_id, starter, reason="reset")
        return starter

    def exercise_file(self, lesson_id: str) -> Path:
        """Where the lesson's code lives on disk for an external editor or `tutor watch`."""
        track, _, name = lesson_id.partition("/")
        path = paths.workspace_dir() / track / f"{name.replace('/', '_')}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def load_external(self, lesson_id: str, text: str) -> bool:
        """Take text saved outside the app; the code it replaces is kept as a version."""
        current = self.state.code(lesson_id)
        if current == text:
            return False
        if current is not None:
            self.state.keep_version(lesson_id, current, "before loading an external save")
        self.state.save_code(lesson_id, text, reason="external save")
        return True

    def open(self, lesson_id: str) -> None:
        self.state.set_last_lesson(lesson_id)
        self.state.note(lesson_id, "opened")  # a review's time to green counts from here

    def variant(self, lesson_id: str) -> int:
        """The variant the learner is on for this lesson (a review moves it on)."""
        return self.state.lesson_variant(lesson_id)

    def start_review(self, lesson_id: str, variant: int) -> str:
        """A review is a fresh attempt: a new variant from its starter, the earlier code kept as a version."""
        current = self.state.code(lesson_id)
        if current is not None:
            self.state.keep_version(lesson_id, current, f"before review (variant {variant})")
        starter = self.lesson(lesson_id, variant).starter
        self.state.set_lesson_variant(lesson_id, variant)
        self.state.save_code(lesson_id, starter, reason="review starter")
        return starter

    def today(self):
        """Today's plan (tutor.core.plan.Plan)."""
        from tutor.core import plan  # fsrs: with the plan, not with the app's first frame

        return plan.build(self.state, self.catalog)

    def quiz_answer(self, lesson_id: str, variant: int) -> str:
        """A quiz's snippet with its answer, as the solution view shows it (runs the truth once)."""
        from engine.checks import quiz

        lesson = self.item(lesson_id).lesson
        rendered = self.lesson(lesson_id, variant)
        answer = quiz.shown(quiz.truth(self._ensure_checker(), lesson, variant))
        return f"{rendered.solution.rstrip()}\n\n# {rendered.quiz.ask}  ->  {answer}\n"

    def solution_shown(self, lesson_id: str) -> None:
        """The learner looked at the reference: today's review of the lesson is Again."""
        self.state.note(lesson_id, "solution")
        item = self.catalog.get(lesson_id)
        if item is not None:
            from tutor.core import review

            review.record(self.state, item.lesson)

    def hint(self, lesson_id: str, level: int) -> str:
        lesson = self.lesson(lesson_id, self.variant(lesson_id))
        level = max(1, min(level, len(lesson.hints)))
        self.state.use_hint(lesson_id, level)
        return lesson.hints[level - 1]

    # --- running ----------------------------------------------------------------------

    def warm_up(self) -> None:
        """Start the warm runner (its own process imports torch); returns at once."""
        self._ensure_checker()

    def _ensure_checker(self) -> Checker:
        with self._lock:
            if self._checker is None:
                from engine.checks.checker import Checker
                from engine.sandbox.client import Runner

                self._runner = Runner()
                self._runner.start_background()
                self._checker = Checker(self._runner)
            return self._checker

    def check(
        self,
        lesson: str | Lesson,
        code: str,
        sink: EventSink | None = None,
        mode: str = "practice",
        filename: str = "<your code>",
        variant: int = 0,
        run: CheckRun | None = None,
    ) -> Verdict:
        """Decide `code` and record the attempt (unless the run was stopped), from any thread.

        `lesson` is an id from the packs, or a lesson given whole (`tutor check`
        accepts a lesson file).  The app, `tutor check` and `tutor watch` all
        come through here, so an attempt is recorded the same way wherever it
        was made.
        """
        if isinstance(lesson, str):
            lesson = self.item(lesson).lesson
        run = run or CheckRun(lesson.id, code, variant=variant, mode=mode)
        checker = self._ensure_checker()
        if lesson.quiz is not None:  # a typed answer: read, never run (the truth runs once, cached)
            from engine.checks import quiz

            verdict = quiz.decide(checker, lesson, code, variant)
        else:
            verdict = checker.check(lesson, code, sink=sink, on_start=run.attach, filename=filename, variant=variant)
        run.verdict = verdict
        if not verdict.cancelled:
            self.record(lesson, verdict, mode)
        return verdict

    def speed(self, lesson: str | Lesson, code: str, variant: int = 0, filename: str = "<your code>") -> dict | None:
        """After a pass: the code timed against the reference on the lesson's scale-up case (None without one)."""
        if isinstance(lesson, str):
            lesson = self.item(lesson).lesson
        if lesson.scale is None:
            return None
        return self._ensure_checker().speed(lesson, code, variant=variant, filename=filename)

    def record(self, lesson: Lesson, verdict: Verdict, mode: str) -> None:
        """The attempt, and the lesson's review card re-rated from today's attempts."""
        from tutor.core import review  # fsrs: loaded with the first check, not with the app

        passed, total = verdict.score
        self.state.record_attempt(
            lesson.id, passed=verdict.passed, checks_passed=passed, checks_total=total,
            duration_ms=int(verdict.duration_ms), mode=mode,
        )  # fmt: skip
        review.record(self.state, lesson)
        mistakes = list(dict.fromkeys(c.mistake for c in verdict.checks if c.mistake))
        self.state.record_mistakes(lesson.id, mistakes, list(lesson.skills))

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
        self.state.close()
