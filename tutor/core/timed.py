"""Timed speed-coding, headless: attempts against the clock, splits, scores, sprints, history.

The clock is injected (`Clock`), so the countdown and the splits can be
tested to the second without sleeping.  The app only calls this module.
"""

from __future__ import annotations

import ast
import random
import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from engine.lessons.loader import Catalog

Clock = Callable[[], float]

SPRINT_TRACKS = ("tensors", "indexing", "reshaping", "broadcasting", "autograd")
SPRINT_SECONDS = (60, 120, 180)
FAILED_RUN_PENALTY = 5
WARNING_S = 60


@dataclass
class Item:
    """One thing to solve in an attempt: a lesson at a variant."""

    lesson_id: str
    variant: int = 0
    passed: bool = False
    split_s: float | None = None  # seconds from the attempt's start to all-green


@dataclass
class Attempt:
    challenge: str  # a lesson id, "sprint", "placement:<track>", "weakest" or "mistakes"
    kind: str  # "challenge" or "sprint"
    limit_s: int
    items: list[Item]
    started: float
    check_names: list[str] = field(default_factory=list)
    splits: dict[str, float] = field(default_factory=dict)  # check name -> first green, seconds
    runs: int = 0
    failed_runs: int = 0
    finished: float | None = None
    timed_out: bool = False
    current: int = 0  # index of the item being solved (sprints move on)
    code: dict[int, str] = field(default_factory=dict)

    # --- the clock -------------------------------------------------------------------

    def elapsed(self, now: float) -> float:
        end = self.finished if self.finished is not None else now
        return max(0.0, end - self.started)

    def remaining(self, now: float) -> float:
        return max(0.0, self.limit_s - self.elapsed(now))

    def expired(self, now: float) -> bool:
        return self.finished is None and self.elapsed(now) >= self.limit_s

    def warning(self, now: float) -> bool:
        """The last minute (the last quarter, for attempts shorter than four minutes)."""
        return self.remaining(now) <= min(WARNING_S, self.limit_s / 4)

    @property
    def item(self) -> Item:
        return self.items[self.current]

    @property
    def done(self) -> bool:
        return self.finished is not None

    # --- checks --------------------------------------------------------------------------

    def record(self, verdict: Any, now: float, *, final: bool = False) -> None:
        """Count a check run and keep each check's first green time as a split.

        `final` is the grading made when time runs out or the learner finishes:
        it counts what is green but is not one of the learner's runs, so it
        costs no failed-run penalty.
        """
        at = round(now - self.started, 3)
        if not final:
            self.runs += 1
            self.failed_runs += not verdict.passed
        prefix = f"{self.current + 1}. " if self.kind == "sprint" else ""
        for check in verdict.checks:
            if getattr(check, "gate", False):
                continue  # "your code parses" is not a split: it has no place in the lesson's list
            name = prefix + check.name
            if name not in self.check_names:
                self.check_names.append(name)
            if check.passed and name not in self.splits:
                self.splits[name] = at
        if verdict.passed and not self.item.passed:
            self.item.passed = True
            self.item.split_s = at
            if self.kind == "sprint" and self.current + 1 < len(self.items):
                self.current += 1
            elif not final:  # the final grading's caller ends the attempt, and says how
                self.finish(now)

    def skip(self, now: float) -> None:
        """Leave the current drill of a sprint unsolved and go on (the last one ends the attempt)."""
        if self.kind != "sprint" or self.done:
            return
        if self.current + 1 < len(self.items):
            self.current += 1
        else:
            self.finish(now)

    def finish(self, now: float, timed_out: bool = False) -> None:
        if self.finished is None:
            self.finished = min(now, self.started + self.limit_s)
            self.timed_out = timed_out

    # --- score ---------------------------------------------------------------------------------

    @property
    def all_green(self) -> bool:
        return all(item.passed for item in self.items)

    @property
    def time_to_green(self) -> float | None:
        return self.items[-1].split_s if self.all_green else None

    @property
    def solved_items(self) -> int:
        return sum(item.passed for item in self.items)

    @property
    def passed_checks(self) -> int:
        return len(self.splits)

    def score(self) -> int:
        """100 for all checks green, plus up to 50 for time left, minus 5 per failed run."""
        total = max(len(self.check_names), 1)
        base = 100 * self.passed_checks / total
        if self.kind == "sprint":
            base = 100 * self.solved_items / len(self.items)
        bonus = 50 * (1 - self.time_to_green / self.limit_s) if self.time_to_green is not None else 0
        return max(0, round(base + bonus - FAILED_RUN_PENALTY * self.failed_runs))

    def to_record(self) -> dict[str, Any]:
        return {
            "challenge": self.challenge,
            "kind": self.kind,
            "limit_s": self.limit_s,
            "duration_s": round(self.elapsed(self.finished or self.started), 3),
            "time_to_green": self.time_to_green,
            "passed_checks": self.passed_checks,
            "total_checks": len(self.check_names),
            "runs": self.runs,
            "failed_runs": self.failed_runs,
            "score": self.score(),
            "timed_out": self.timed_out,
            "splits": self.splits,
            "items": [asdict(item) for item in self.items],
            "code": {str(k): v for k, v in self.code.items()},
        }


# --- making attempts ------------------------------------------------------------------------------


def challenges(catalog: Catalog) -> list[Any]:
    return [item.lesson for item in catalog.lessons if item.lesson.kind == "challenge"]


def sprint_pool(catalog: Catalog) -> list[Any]:
    """Short drills and quizzes from the creation, indexing, reshaping, broadcasting and autograd tracks."""
    return [
        item.lesson
        for item in catalog.lessons
        if item.lesson.kind in ("drill", "quiz") and item.lesson.track in SPRINT_TRACKS and item.lesson.minutes <= 4
    ]


def new_challenge(lesson: Any, clock: Clock) -> Attempt:
    limit = lesson.time_limit or lesson.minutes * 60
    return Attempt(lesson.id, "challenge", limit, [Item(lesson.id)], clock(), [c.name for c in lesson.checks])


def new_sprint(catalog: Catalog, clock: Clock, seconds: int = 120, items: list[Item] | None = None,
               seed: int | None = None) -> Attempt:  # fmt: skip
    """A sprint: drill variants one after another; about one drill per 30 seconds."""
    rng = random.Random(seed)
    if items is None:
        pool = sprint_pool(catalog)
        count = max(2, min(len(pool), seconds // 30))
        chosen = rng.sample(pool, count) if len(pool) >= count else pool
        items = [Item(lesson.id, _fresh_variant(lesson, rng)) for lesson in chosen]
    return Attempt("sprint", "sprint", seconds, items, clock())


PLACEMENT_DRILLS = 12
PLACEMENT_SECONDS = (600, 900)  # 10 to 15 minutes, whatever the track's size


def placement_tracks(catalog: Catalog) -> list[str]:
    """Tracks with enough drills to place a learner in: three or more."""
    tracks = [item.lesson.track for item in catalog.lessons if item.lesson.kind in ("drill", "quiz")]
    return [t for t in dict.fromkeys(tracks) if tracks.count(t) >= 3]


def new_placement(catalog: Catalog, track: str, clock: Clock, seed: int | None = None) -> Attempt:
    """Drills from across one track, in course order: each one passed is marked learned.

    Whatever is passed is recorded like any attempt, so it gets a review card
    and comes back later instead of being offered as new.  A drill the learner
    does not know can be skipped.
    """
    rng = random.Random(seed)
    drills = [item.lesson for item in catalog.in_track(track) if item.lesson.kind in ("drill", "quiz")]
    if len(drills) > PLACEMENT_DRILLS:  # spread evenly across the track
        step = len(drills) / PLACEMENT_DRILLS
        drills = [drills[int(i * step)] for i in range(PLACEMENT_DRILLS)]
    seconds = sum(lesson.time_limit or lesson.minutes * 60 for lesson in drills)
    limit = max(PLACEMENT_SECONDS[0], min(PLACEMENT_SECONDS[1], seconds))
    items = [Item(lesson.id, _fresh_variant(lesson, rng)) for lesson in drills]
    return Attempt(f"placement:{track}", "sprint", limit, items, clock())


def new_focus_sprint(catalog: Catalog, lesson_ids: list[str], name: str, clock: Clock, seed: int | None = None) -> Attempt:
    """A sprint on chosen lessons (weakest skills, most frequent mistakes), each a fresh variant."""
    rng = random.Random(seed)
    lessons = [catalog.get(i).lesson for i in lesson_ids if catalog.get(i) is not None]
    seconds = sum(lesson.time_limit or lesson.minutes * 60 for lesson in lessons)
    items = [Item(lesson.id, _fresh_variant(lesson, rng)) for lesson in lessons]
    return Attempt(name, "sprint", max(60, seconds), items, clock())


def again(attempt: Attempt, catalog: Catalog, clock: Clock) -> Attempt:
    """The same kind of attempt once more, with fresh variants."""
    if attempt.kind == "challenge":
        return new_challenge(catalog.get(attempt.challenge).lesson, clock)
    if attempt.challenge == "sprint":
        return new_sprint(catalog, clock, seconds=attempt.limit_s)
    if attempt.challenge.startswith("placement:"):
        return new_placement(catalog, attempt.challenge.partition(":")[2], clock)
    return new_focus_sprint(catalog, [i.lesson_id for i in attempt.items], attempt.challenge, clock)


def _fresh_variant(lesson: Any, rng: random.Random) -> int:
    return rng.randrange(1, 10_000) if lesson.params else 0


def missed_items(history: list[dict[str, Any]], count: int = 4) -> list[Item]:
    """Sprint items the learner failed, then the slowest ones they solved: "retry what you missed"."""
    failed: list[Item] = []
    solved: list[tuple[float, Item]] = []
    for record in history:
        if record.get("kind") != "sprint":
            continue
        previous = 0.0
        for raw in record.get("items", []):
            item = Item(raw["lesson_id"], raw.get("variant", 0))
            if not raw.get("passed"):
                failed.append(item)
            else:
                split = raw.get("split_s") or 0.0
                solved.append((split - previous, item))
                previous = split
    solved.sort(key=lambda pair: pair[0], reverse=True)
    out: list[Item] = []
    for item in failed + [item for _, item in solved]:
        if all((item.lesson_id, item.variant) != (o.lesson_id, o.variant) for o in out):
            out.append(item)
        if len(out) == count:
            break
    return out


def strip_code_examples(markdown: str) -> str:
    """The task without its code examples: in a timed attempt, patterns come from memory.

    A fenced block is hidden when it is marked as Python or reads as Python statements;
    printed values and error messages stay, since they show what to aim for, not how.
    """
    out: list[str] = []
    block: list[str] | None = None
    fence = ""
    for line in markdown.splitlines():
        if block is None and line.strip().startswith("```"):
            block, fence = [], line.strip()[3:].strip().lower()
        elif block is not None and line.strip().startswith("```"):
            if _is_code_example(fence, block):
                out.append("*(code example hidden: from memory)*")
            else:
                out += ["```", *block, "```"]
            block = None
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:  # an unclosed fence: hide the rest rather than show code
        out.append("*(code example hidden: from memory)*")
    return "\n".join(out)


def _is_code_example(language: str, lines: list[str]) -> bool:
    if language in ("python", "py", "python3"):
        return True
    if language:
        return False  # text, console, output ...
    try:
        tree = ast.parse(textwrap.dedent("\n".join(lines)))
    except SyntaxError:
        return False  # an error message, a table, a shape
    return any(not isinstance(node, ast.Expr) for node in tree.body)  # a bare value is an output
