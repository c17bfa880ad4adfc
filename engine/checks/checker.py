"""Deciding a learner's code against a lesson: the verdict, told truthfully.

1. Static constraints on the AST (parent side).
2. The learner's code runs in a sandboxed child; the probe sends back values.
3. The reference solution runs the same way on the same seeded inputs
   (cached), and the parent compares.  When a check fails, the decoys are
   run too (cached) so a known mistake can be named.

Success is never read from an exit code or from output: only from values
that match the reference's, arriving once each, with the run's token
(engine.checks.outcome reads a run's events).
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
import threading
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

from engine import events
from engine.checks import static
from engine.checks.compare import Mismatch, compare, properties
from engine.checks.outcome import EventSink, Outcome, collect
from engine.feedback.explain import explain
from engine.feedback.notes import code_notes, stderr_notes
from engine.feedback.speed import speed_note
from engine.lessons.format import Check, Lesson, decoy_code
from engine.lessons.variants import draw, instantiate
from engine.sandbox.childrun import ChildRun
from engine.sandbox.client import Runner
from engine.sandbox.codec import ProtocolError, decode
from engine.sandbox.request import CheckRequest

# A failing run slower than this is not replayed for its shape trace: the trace never costs more than a blink.
TRACE_BUDGET_MS = 3000


class LessonBroken(RuntimeError):
    """The lesson's own reference solution does not run: an authoring error."""


@dataclass
class CheckResult:
    name: str
    passed: bool
    message: str = ""
    expected: str | None = None
    actual: str | None = None
    mistake: str | None = None
    traceback: str | None = None
    stats: dict[str, float] = field(default_factory=dict)
    gate: bool = False  # a precondition (dataset present, code parses, a rule), not one of the lesson's checks
    case: int | None = None  # the failing case, for the shape trace (hidden: its inputs are not shown)
    explanation: str | None = None  # the error in plain words (engine.feedback.explain), when it is a known one


@dataclass
class Verdict:
    lesson_id: str
    passed: bool
    checks: list[CheckResult]
    stdout: str = ""
    stderr: str = ""
    duration_ms: float = 0.0
    problem: str | None = None
    traceback: str | None = None
    sandbox: dict[str, str] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    cancelled: bool = False  # stopped by the learner (or the app): not a verdict on the code
    truncated: list[str] = field(default_factory=list)  # streams whose output was cut at the cap
    # What the learner's lines made on the failing case (engine.feedback.trace), and which check that was.
    trace: list[dict[str, Any]] = field(default_factory=list)
    trace_of: str | None = None
    # After a pass on a lesson with a scale-up case: {"mine_ms", "reference_ms", "label", "note"} (engine.feedback.speed).
    speed: dict[str, Any] | None = None
    # The module-level error in plain words, and notes on how the code is written: advice, never the verdict.
    explanation: str | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first_failure(self) -> CheckResult | None:
        return next((c for c in self.checks if not c.passed), None)

    @property
    def score(self) -> tuple[int, int]:
        return sum(c.passed for c in self.checks), len(self.checks)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [
            {k: v for k, v in asdict(c).items() if v not in (None, {}, "") and k != "case" or k in ("name", "passed", "message")}
            for c in self.checks
        ]
        return data


# --- building the probe spec ---------------------------------------------------------------------


def probe_spec(lesson: Lesson, variant: int) -> list[dict[str, Any]]:
    """Each check with its cases resolved to concrete parameters and hidden seeds."""
    spec = []
    for index, check in enumerate(lesson.checks):
        cases = []
        for case_index, case in enumerate(check.cases):
            rng = random.Random(f"{lesson.id}#{variant}#{lesson.seed}#{index}#{case_index}")
            params = {name: draw(value, rng) for name, value in case.items()}
            cases.append({"params": params, "seed": rng.randrange(2**31)})
        spec.append(
            {
                "expr": check.expr,
                "inputs": list(check.inputs.items()),
                "cases": cases,
                "same_as": check.expect.same_as,
                "stdout": check.stdout == "reference",
            }
        )
    return spec


def missing_dataset(lesson: Lesson) -> str | None:
    """A sentence saying how to get the lesson's dataset, if it is not here (hashed once per process)."""
    name = lesson.requires.dataset
    if not name:
        return None
    from engine.jobs import datasets

    try:
        datasets.verify(name)
    except datasets.DatasetError as exc:
        return f"this lesson needs the {name} dataset: {exc}"
    return None


# --- the checker ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """One lesson variant made ready to check, once per F5: rendered, its params and its probe spec."""

    lesson: Lesson  # the rendered variant
    variant: int
    params: dict[str, Any]
    spec: list[dict[str, Any]]

    @classmethod
    def of(cls, lesson: Lesson, variant: int) -> Prepared:
        rendered, params = instantiate(lesson, variant)
        return cls(rendered, variant, params, probe_spec(rendered, variant))

    def request(self, code: str, filename: str) -> CheckRequest:
        lesson = self.lesson
        return CheckRequest(
            code=code,
            checks=self.spec,
            params=self.params,
            filename=filename,
            module_seed=lesson.seed,
            seconds=lesson.limits.seconds,
            memory_mb=lesson.limits.memory_mb,
            gpu=lesson.requires.device != "cpu",
        )


class Checker:
    """Checks code against lessons.  Keeps reference and decoy outcomes in memory only."""

    def __init__(self, runner: Runner, gpu_runner: Runner | None = None):
        self.runner = runner
        # Lessons that prefer a GPU run in spawned children: never CUDA in a forked process.
        self.gpu_runner = gpu_runner or Runner(spawn=True)
        self._cache: dict[str, Outcome] = {}
        self._lock = threading.Lock()

    def _run(self, prepared: Prepared, code: str, filename: str, sink: EventSink | None = None,
             on_start: Callable[[ChildRun], None] | None = None) -> tuple[Outcome, CheckRequest]:  # fmt: skip
        request = prepared.request(code, filename)
        run = (self.gpu_runner if request.gpu else self.runner).start(request)
        if on_start:
            on_start(run)
        return collect(run.events(), run.token, sink), request

    def _cached(self, prepared: Prepared, code: str, label: str) -> Outcome:
        """The outcome of `code` on this variant, run once: the same code on the same seeded
        inputs gives the same values (the label only names it in tracebacks)."""
        key = hashlib.sha256(
            json.dumps([prepared.lesson.id, prepared.variant, prepared.params, prepared.spec, code], sort_keys=True).encode()
        ).hexdigest()
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit, _ = self._run(prepared, code, f"<{label}>")
            with self._lock:
                self._cache[key] = hit
        return hit

    def reference(self, lesson: Lesson, variant: int = 0, prepared: Prepared | None = None) -> Outcome:
        prepared = prepared or Prepared.of(lesson, variant)
        rendered = prepared.lesson
        ref = self._cached(prepared, rendered.solution, "reference")
        problem = ref.problem(prepared.request("", "<reference>"))
        if ref.module_error or problem or not ref.done:
            detail = (ref.module_error or {}).get("traceback") or problem or "it did not finish"
            raise LessonBroken(f"the reference solution of {lesson.id} failed: {detail}")
        errors = [key for key, result in ref.results.items() if result.error is not None]
        if errors:
            check, case = errors[0]
            raise LessonBroken(
                f"the reference solution of {lesson.id} raised in check {rendered.checks[check].name!r} case {case}: "
                f"{(ref.results[errors[0]].error or {}).get('traceback')}"
            )
        return ref

    def check(
        self,
        lesson: Lesson,
        code: str,
        *,
        variant: int = 0,
        filename: str = "<your code>",
        sink: EventSink | None = None,
        on_start: Callable[[ChildRun], None] | None = None,
        name_mistakes: bool = True,
        reuse: bool = False,
    ) -> Verdict:
        """Decide `code`.  `reuse` takes the outcome of a run of the very same code if there
        was one (the self-test checks the reference and the decoys, already run); a learner's
        F5 always runs afresh, its output streaming to `sink`."""
        missing = missing_dataset(lesson)
        if missing:
            return _gate(lesson.id, "the dataset is here", missing)
        try:
            tree = ast.parse(code, filename=filename)  # once: the rules below walk this tree
        except SyntaxError as exc:
            return _gate(lesson.id, "your code parses", static.describe_syntax_error(exc))
        prepared = Prepared.of(lesson, variant)
        statics = [
            CheckResult(f"rule: {v.rule.replace('_', ' ')}", False, v.message, gate=True)
            for v in static.check_tree(tree, prepared.lesson.constraints)
        ]
        ref = self.reference(lesson, variant, prepared)
        if reuse:
            mine, request = self._cached(prepared, code, filename), prepared.request(code, filename)
        else:
            mine, request = self._run(prepared, code, filename, sink, on_start)
        problem = mine.problem(request)
        results = [self._judge(prepared, i, check, mine, ref, problem, code) for i, check in enumerate(prepared.lesson.checks)]
        cancelled = mine.end.cancelled
        if name_mistakes and any(not r.passed for r in results) and not cancelled:
            self._name_mistakes(prepared, mine, ref, results)
        trace, trace_of = ([], None) if reuse or cancelled else self._trace(prepared, code, filename, mine, problem, results)
        results = statics + results
        passed = all(r.passed for r in results) and problem is None and mine.done and not mine.tampered and not cancelled
        module_tb = (mine.module_error or {}).get("traceback")
        notes = [] if reuse else _notes(tree, prepared.lesson, mine.stderr, filename)
        return Verdict(
            lesson_id=lesson.id,
            passed=passed,
            checks=results,
            stdout=mine.stdout,
            stderr=mine.stderr,
            duration_ms=float(mine.end.duration_ms),
            problem=problem or (f"your code raised {mine.module_error.get('type')}" if mine.module_error else None),
            traceback=module_tb,
            sandbox=mine.layers,
            metrics=mine.metrics,
            cancelled=cancelled,
            truncated=[stream for stream, cut in mine.end.truncated.items() if cut],
            trace=trace,
            trace_of=trace_of,
            explanation=_explained(mine.module_error, code),
            notes=notes,
        )

    def speed(self, lesson: Lesson, code: str, *, variant: int = 0, filename: str = "<your code>") -> dict[str, Any] | None:
        """Time a passing solution against the reference on the lesson's scale-up case; None without one.

        Both sides run now, one after the other in the same kind of child, so
        a busy machine slows both; each takes the best of several calls.
        """
        case = self._scale_case(lesson, variant)
        if case is None:
            return None
        prepared, timing = case
        scale = prepared.lesson.scale
        mine = self._timed(prepared, code, filename, timing)
        reference = self._timed(prepared, prepared.lesson.solution, "<reference>", timing)
        if mine is None or reference is None:
            return None
        note = speed_note(mine, reference, scale.label, code, scale.samples)
        return {"mine_ms": mine, "reference_ms": reference, "label": scale.label, "samples": scale.samples, "note": note}

    def reference_ms(self, lesson: Lesson, variant: int = 0) -> float | None:
        """The reference's best time on the scale-up case; None without one, or when it does not run there."""
        case = self._scale_case(lesson, variant)
        return None if case is None else self._timed(case[0], case[0].lesson.solution, "<reference>", case[1])

    def _scale_case(self, lesson: Lesson, variant: int) -> tuple[Prepared, dict[str, Any]] | None:
        if lesson.scale is None or lesson.quiz is not None:
            return None
        prepared = Prepared.of(lesson, variant)
        scale = prepared.lesson.scale  # rendered: its inputs may name the variant's params ({{dim}})
        timing = {"expr": scale.expr, "inputs": list(scale.inputs.items()), "params": scale.params, "seed": lesson.seed + 7}
        return prepared, timing

    def _timed(self, prepared: Prepared, code: str, filename: str, timing: dict[str, Any]) -> float | None:
        request = replace(prepared.request(code, filename), timing=timing)
        run = (self.gpu_runner if request.gpu else self.runner).start(request)
        outcome = collect(run.events(), run.token)
        got = outcome.timing
        return got.best_ms if got is not None and got.error is None and outcome.done else None

    def _trace(self, prepared: Prepared, code: str, filename: str, mine: Outcome, problem: str | None,
               results: list[CheckResult]) -> tuple[list[dict[str, Any]], str | None]:  # fmt: skip
        """Replay the first failing case with the shape trace on: only after a failure, and only
        when the failing run was quick and ended by itself (a loop or a memory hog is not rerun)."""
        if mine.module_error:
            where, label = {}, "your module"
        else:
            failing = next((r for r in results if not r.passed and r.case is not None), None)
            if failing is None or problem is not None:
                return [], None
            where, label = {"check": results.index(failing), "case": failing.case}, failing.name
        if mine.end.limit or mine.end.duration_ms > TRACE_BUDGET_MS or mine.violations or mine.tampered:
            return [], None
        request = replace(prepared.request(code, filename), trace=where)
        run = (self.gpu_runner if request.gpu else self.runner).start(request)
        traced = collect(run.events(), run.token)
        return traced.trace, label

    # --- judging -----------------------------------------------------------------------------

    def _judge(self, prepared: Prepared, index: int, check: Check, mine: Outcome, ref: Outcome,
               problem: str | None, code: str) -> CheckResult:  # fmt: skip
        cases = prepared.spec[index]["cases"]
        for case_index, case in enumerate(cases):
            got = mine.results.get((index, case_index))
            if got is None:
                if mine.module_error:
                    err = mine.module_error
                    return CheckResult(check.name, False, f"your code raised {err.get('type')}: {err.get('message')}",
                                       traceback=err.get("traceback"), explanation=_explained(err, code))  # fmt: skip
                reason = problem or ("the run was stopped" if mine.end.cancelled else "no result came back for this check")
                return CheckResult(check.name, False, reason)
            if got.error is not None:
                err = got.error
                return CheckResult(check.name, False, f"raised {err.get('type')}: {err.get('message')}" + _case_note(case, len(cases)),
                                   traceback=err.get("traceback"), case=case_index, explanation=_explained(err, code))  # fmt: skip
            want = ref.results[(index, case_index)]
            mismatch = self._case_mismatch(check, got, want, {**prepared.params, **case["params"]})
            if mismatch:
                message = check.message + ": " + mismatch.message if check.message else mismatch.message
                return CheckResult(check.name, False, message + _case_note(case, len(cases)), mismatch.expected, mismatch.actual,
                                   stats=mismatch.stats, case=case_index)  # fmt: skip
        if problem:  # every value matched, yet the run ended badly: not a pass
            return CheckResult(check.name, False, problem)
        return CheckResult(check.name, True)

    def _case_mismatch(self, check: Check, got: events.Result, want: events.Result, params: dict[str, Any]) -> Mismatch | None:
        try:
            value = decode(got.value)
            expected = decode(want.value)
            other = decode(got.other) if check.expect.same_as else None
        except ProtocolError as exc:
            return Mismatch(f"the value could not be read back: {exc}")
        expect = check.expect
        found = compare(value, expected, expect) if expect.reference else None
        found = found or properties(value, expect, params)
        if not found and expect.same_as:
            found = compare(value, other, expect)
            if found:
                found.message = f"`{check.expr}` and `{expect.same_as}` disagree: {found.message}"
        printed, wanted = (got.stdout or "").strip(), (want.stdout or "").strip()
        if not found and check.stdout == "reference" and printed != wanted:
            found = Mismatch("printed output differs", wanted[:500], printed[:500])
        return found

    def _name_mistakes(self, prepared: Prepared, mine: Outcome, ref: Outcome, results: list[CheckResult]) -> None:
        """Name a known mistake when the learner's failing values match a decoy's."""
        lesson = prepared.lesson
        for decoy in lesson.decoys:
            outcome = self._cached(prepared, decoy_code(lesson, decoy), f"decoy {decoy.mistake}")
            for index, result in enumerate(results):
                if result.passed or result.mistake:
                    continue
                if _same_failure(index, lesson.checks[index], prepared.spec, mine, outcome):
                    result.mistake = decoy.mistake
                    result.message = f"{result.message} — this looks like a known mistake: {decoy.mistake}"


def _gate(lesson_id: str, name: str, message: str) -> Verdict:
    """A verdict stopped at a precondition, before any code ran."""
    return Verdict(lesson_id, False, [CheckResult(name, False, message, gate=True)], problem=message)


def _explained(error: dict[str, Any] | None, code: str) -> str | None:
    """A raised error in plain words, naming the learner's line; None for an error with no paragraph."""
    if not error:
        return None
    line = error.get("line")
    return explain(str(error.get("type") or ""), str(error.get("message") or ""), line if isinstance(line, int) else None, code)


def _notes(tree: ast.Module, lesson: Lesson, stderr: str, filename: str) -> list[dict[str, Any]]:
    """Notes on how the code is written: from its AST and from the warnings its run printed, one per (id, line)."""
    found = {(n.id, n.line): n for n in stderr_notes(stderr, filename) if n.id not in lesson.notes_off}
    for note in code_notes(tree, lesson.notes_off):
        found.setdefault((note.id, note.line), note)
    return [{"id": n.id, "line": n.line, "message": n.message} for n in sorted(found.values(), key=lambda n: (n.line, n.id))]


def _same_failure(index: int, check: Check, spec: list[dict[str, Any]], mine: Outcome, decoy: Outcome) -> bool:
    for case_index in range(len(spec[index]["cases"])):
        a, b = mine.results.get((index, case_index)), decoy.results.get((index, case_index))
        if a is None or b is None:
            return False
        if a.error is not None or b.error is not None:
            same = (
                a.error is not None and b.error is not None and all(a.error.get(k) == b.error.get(k) for k in ("type", "message"))
            )
            if not same:
                return False
            continue
        if not _same_values(check, a, b):
            return False
    return True


def _same_values(check: Check, a: events.Result, b: events.Result) -> bool:
    """Whether two runs produced the same values for a case, whatever the check's properties say.

    Used to recognise a decoy: a learner whose curve fails `decreases_by` fails
    it the same way the decoy does, so the values themselves are compared.
    """
    try:
        pairs = [(decode(a.value), decode(b.value))]
        if check.expect.same_as:
            pairs.append((decode(a.other), decode(b.other)))
    except ProtocolError:
        return False
    if any(compare(x, y, check.expect) for x, y in pairs):
        return False
    return (a.stdout or "").strip() == (b.stdout or "").strip()


def _case_note(case: dict[str, Any], count: int) -> str:
    if count == 1 or not case["params"]:
        return ""
    shown = ", ".join(f"{k}={v!r}" for k, v in case["params"].items())
    return f" (case {shown})"
