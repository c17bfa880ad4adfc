"""Deciding a learner's code against a lesson: the verdict, told truthfully.

1. Static constraints on the AST (parent side).
2. The learner's code runs in a sandboxed child; the probe sends back values.
3. The reference solution runs the same way on the same seeded inputs
   (cached), and the parent compares.  When a check fails, the decoys are
   run too (cached) so a known mistake can be named.

Success is never read from an exit code or from output: only from values
that match the reference's, arriving once each, with the run's token.
"""

from __future__ import annotations

import errno
import hashlib
import json
import random
import signal as signals
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from engine.checks import static
from engine.checks.compare import Mismatch, compare, properties
from engine.lessons.format import Check, Decoy, Lesson
from engine.sandbox.client import Job, Runner
from engine.sandbox.confine import VIOLATIONS
from engine.lessons.variants import draw, instantiate
from engine.sandbox.codec import ProtocolError, decode

EventSink = Callable[[dict[str, Any]], None]


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

    @property
    def first_failure(self) -> CheckResult | None:
        return next((c for c in self.checks if not c.passed), None)

    @property
    def score(self) -> tuple[int, int]:
        return sum(c.passed for c in self.checks), len(self.checks)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [
            {k: v for k, v in asdict(c).items() if v not in (None, {}, "") or k in ("name", "passed", "message")}
            for c in self.checks
        ]
        return data


# --- the outcome of one run, parsed strictly ----------------------------------------------------


@dataclass
class Outcome:
    results: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    module_error: dict[str, Any] | None = None
    loaded: bool = False
    done: bool = False
    tampered: str | None = None
    violations: list[str] = field(default_factory=list)
    layers: dict[str, str] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    metrics: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] = field(default_factory=dict)

    def problem(self, job: Job) -> str | None:
        """Why the run ended badly, in a sentence, or None."""
        end = self.end
        if end.get("cancelled"):
            return "the run was stopped"
        if self.violations:
            return "your code " + self.violations[0]
        if end.get("limit") == "time":
            return f"your code ran longer than {job.seconds:g} s"
        if end.get("limit") == "memory":
            return f"your code used more than {_mib(job.memory_mb)} of memory"
        sig = end.get("signal")
        if sig == signals.SIGXCPU:
            return f"your code used more than {job.seconds:g} s of CPU time"
        if sig == signals.SIGSEGV:
            return "your code crashed the interpreter (segmentation fault)"
        if sig == signals.SIGXFSZ:
            return "your code wrote a file larger than 64 MiB"
        if sig == signals.SIGSYS:
            return "your code made a system call the sandbox forbids (a new process, a socket or a signal to another process)"
        if sig:
            return f"your code was killed by {signals.Signals(sig).name}"
        err = self.module_error or {}
        if err and _is_memory_error(err):
            return f"your code used more than {_mib(job.memory_mb)} of memory"
        if err.get("errno") == errno.EFBIG:
            return "your code wrote a file larger than 64 MiB"
        if err.get("errno") == errno.EMFILE:
            return "your code opened too many files at once"
        if end.get("protocol_error"):
            return f"the check could not be trusted: {end['protocol_error']}"
        if self.tampered:
            return f"the check could not be trusted: {self.tampered}"
        if end.get("runner_lost"):
            return "the runner stopped unexpectedly (did your code kill it?)"
        if not self.done and not self.module_error:
            code = end.get("exit")
            return f"your code exited before the checks finished (exit code {code})"
        return None


def _mib(mb: int) -> str:
    return f"{mb / 1024:g} GiB" if mb >= 1024 else f"{mb} MiB"


def _is_memory_error(err: dict[str, Any]) -> bool:
    text = f"{err.get('type')} {err.get('message')}"
    return "MemoryError" in text or "can't allocate memory" in text or "Cannot allocate memory" in text


def collect(events: list[dict[str, Any]] | Any, token: str, sink: EventSink | None = None) -> Outcome:
    out = Outcome()
    stdout: list[str] = []
    stderr: list[str] = []
    for event in events:
        kind = event.get("type")
        if sink and kind in ("output", "metric", "progress", "violation"):
            sink(event)
        if kind == "output":
            (stdout if event.get("stream") == "stdout" else stderr).append(event.get("text", ""))
        elif kind == "metric":
            if len(out.metrics) < 100_000:
                out.metrics.append({"step": event.get("step"), **(event.get("values") or {})})
        elif kind == "sandbox":
            out.layers = {str(k): str(v) for k, v in (event.get("layers") or {}).items()}
        elif kind == "violation":
            out.violations.append(VIOLATIONS.get(event.get("kind"), "did something forbidden"))
        elif kind == "end":
            out.end = event
        elif kind in ("result", "module_error", "loaded", "done"):
            if event.get("token") != token:
                out.tampered = "a message on the checker's channel was forged"
                continue
            if out.done:
                out.tampered = "messages arrived after the run finished"
            elif kind == "result":
                key = (event.get("check"), event.get("case"))
                if key in out.results:
                    out.tampered = "a result arrived twice"
                out.results[key] = event
            elif kind == "module_error":
                out.module_error = event.get("error") or {}
            elif kind == "loaded":
                out.loaded = True
            else:
                out.done = True
    out.stdout = "".join(stdout)
    out.stderr = "".join(stderr)
    return out


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
    """A sentence saying how to get the lesson's dataset, if it is not here."""
    name = lesson.requires.dataset
    if not name:
        return None
    from engine.jobs import datasets

    try:
        datasets.verify(name)
    except datasets.DatasetError as exc:
        return f"this lesson needs the {name} dataset: {exc}"
    return None


def decoy_code(lesson: Lesson, decoy: Decoy) -> str:
    if decoy.code is not None:
        return decoy.code
    code = lesson.solution
    for old, new in decoy.replace or []:
        code = code.replace(old, new)
    return code


# --- the checker ----------------------------------------------------------------------------------


class Checker:
    """Checks code against lessons.  Keeps reference and decoy outcomes in memory only."""

    def __init__(self, runner: Runner, gpu_runner: Runner | None = None):
        self.runner = runner
        # Lessons that prefer a GPU run in spawned children: never CUDA in a forked process.
        self.gpu_runner = gpu_runner or Runner(spawn=True)
        self._cache: dict[str, Outcome] = {}
        self._lock = threading.Lock()

    def _run(self, lesson: Lesson, params: dict[str, Any], spec: list[dict[str, Any]], code: str,
             filename: str, sink: EventSink | None = None, on_start: Callable[[Any], None] | None = None) -> tuple[Outcome, Job]:
        job = Job(
            code=code,
            checks=spec,
            params=params,
            filename=filename,
            module_seed=lesson.seed,
            seconds=lesson.limits.seconds,
            memory_mb=lesson.limits.memory_mb,
            gpu=lesson.requires.device != "cpu",
        )
        run = (self.gpu_runner if job.gpu else self.runner).start(job)
        if on_start:
            on_start(run)
        return collect(run.events(), run.token, sink), job

    def _cached(self, lesson: Lesson, variant: int, params: dict[str, Any], spec: list[dict[str, Any]], code: str, label: str) -> Outcome:
        key = hashlib.sha256(json.dumps([lesson.id, variant, params, spec, code, label], sort_keys=True).encode()).hexdigest()
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit, _ = self._run(lesson, params, spec, code, f"<{label}>")
            with self._lock:
                self._cache[key] = hit
        return hit

    def reference(self, lesson: Lesson, variant: int = 0) -> Outcome:
        rendered, params = instantiate(lesson, variant)
        spec = probe_spec(rendered, variant)
        ref = self._cached(rendered, variant, params, spec, rendered.solution, "reference")
        problem = ref.problem(Job(code="", seconds=rendered.limits.seconds, memory_mb=rendered.limits.memory_mb))
        if ref.module_error or problem or not ref.done:
            detail = (ref.module_error or {}).get("traceback") or problem or "it did not finish"
            raise LessonBroken(f"the reference solution of {lesson.id} failed: {detail}")
        errors = [k for k, r in ref.results.items() if "error" in r]
        if errors:
            check, case = errors[0]
            raise LessonBroken(
                f"the reference solution of {lesson.id} raised in check {rendered.checks[check].name!r} case {case}: "
                f"{ref.results[errors[0]]['error'].get('traceback')}"
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
        on_start: Callable[[Any], None] | None = None,
        name_mistakes: bool = True,
    ) -> Verdict:
        rendered, params = instantiate(lesson, variant)
        missing = missing_dataset(lesson)
        if missing:
            return Verdict(lesson.id, False, [CheckResult("the dataset is here", False, missing, gate=True)], problem=missing)
        bad_syntax = static.syntax_error(code, filename)
        if bad_syntax:
            return Verdict(lesson.id, False, [CheckResult("your code parses", False, bad_syntax.message, gate=True)], problem=bad_syntax.message)
        statics = [
            CheckResult(f"rule: {v.rule.replace('_', ' ')}", False, v.message, gate=True)
            for v in static.check_constraints(code, rendered.constraints, filename)
        ]
        spec = probe_spec(rendered, variant)
        ref = self.reference(lesson, variant)
        mine, job = self._run(rendered, params, spec, code, filename, sink, on_start)
        problem = mine.problem(job)
        results = [self._judge(rendered, i, check, mine, ref, problem, params, spec) for i, check in enumerate(rendered.checks)]
        if name_mistakes and any(not r.passed for r in results) and not mine.end.get("cancelled"):
            self._name_mistakes(rendered, variant, params, spec, mine, ref, results)
        results = statics + results
        passed = all(r.passed for r in results) and problem is None and mine.done and not mine.tampered
        module_tb = (mine.module_error or {}).get("traceback")
        return Verdict(
            lesson_id=lesson.id,
            passed=passed,
            checks=results,
            stdout=mine.stdout,
            stderr=mine.stderr,
            duration_ms=float(mine.end.get("duration_ms") or 0.0),
            problem=problem or (f"your code raised {mine.module_error.get('type')}" if mine.module_error else None),
            traceback=module_tb,
            sandbox=mine.layers,
            metrics=mine.metrics,
        )

    # --- judging -----------------------------------------------------------------------------

    def _judge(self, lesson: Lesson, index: int, check: Check, mine: Outcome, ref: Outcome,
               problem: str | None, params: dict[str, Any], spec: list[dict[str, Any]]) -> CheckResult:
        cases = spec[index]["cases"]
        for case_index, case in enumerate(cases):
            got = mine.results.get((index, case_index))
            if got is None:
                if mine.module_error:
                    err = mine.module_error
                    return CheckResult(check.name, False, f"your code raised {err.get('type')}: {err.get('message')}", traceback=err.get("traceback"))
                return CheckResult(check.name, False, problem or "no result came back for this check")
            if "error" in got:
                err = got["error"]
                return CheckResult(check.name, False, f"raised {err.get('type')}: {err.get('message')}" + _case_note(case, len(cases)),
                                   traceback=err.get("traceback"))
            mismatch = self._case_mismatch(check, got, ref.results[(index, case_index)], {**params, **case["params"]})
            if mismatch:
                message = check.message + ": " + mismatch.message if check.message else mismatch.message
                return CheckResult(check.name, False, message + _case_note(case, len(cases)), mismatch.expected, mismatch.actual,
                                   stats=mismatch.stats)
        if problem:  # every value matched, yet the run ended badly: not a pass
            return CheckResult(check.name, False, problem)
        return CheckResult(check.name, True)

    def _case_mismatch(self, check: Check, got: dict[str, Any], want: dict[str, Any], params: dict[str, Any]) -> Mismatch | None:
        try:
            value = decode(got.get("value"))
            expected = decode(want.get("value"))
            other = decode(got["other"]) if "other" in got else None
        except ProtocolError as exc:
            return Mismatch(f"the value could not be read back: {exc}")
        expect = check.expect
        found = compare(value, expected, expect) if expect.reference else None
        found = found or properties(value, expect, params)
        if not found and expect.same_as:
            found = compare(value, other, expect)
            if found:
                found.message = f"`{check.expr}` and `{expect.same_as}` disagree: {found.message}"
        if not found and check.stdout == "reference" and got.get("stdout", "").strip() != want.get("stdout", "").strip():
            found = Mismatch("printed output differs", want.get("stdout", "")[:500], got.get("stdout", "")[:500])
        return found

    def _name_mistakes(self, lesson: Lesson, variant: int, params: dict[str, Any], spec: list[dict[str, Any]],
                       mine: Outcome, ref: Outcome, results: list[CheckResult]) -> None:
        """Name a known mistake when the learner's failing values match a decoy's."""
        for decoy in lesson.decoys:
            outcome = self._cached(lesson, variant, params, spec, decoy_code(lesson, decoy), f"decoy {decoy.mistake}")
            for index, result in enumerate(results):
                if result.passed or result.mistake:
                    continue
                if self._same_failure(index, lesson.checks[index], spec, mine, outcome, ref, params):
                    result.mistake = decoy.mistake
                    result.message = f"{result.message} — this looks like a known mistake: {decoy.mistake}"

    def _same_failure(self, index: int, check: Check, spec: list[dict[str, Any]], mine: Outcome, decoy: Outcome,
                      ref: Outcome, params: dict[str, Any]) -> bool:
        for case_index, case in enumerate(spec[index]["cases"]):
            a, b = mine.results.get((index, case_index)), decoy.results.get((index, case_index))
            if a is None or b is None:
                return False
            if "error" in a or "error" in b:
                same = "error" in a and "error" in b and all(
                    a["error"].get(k) == b["error"].get(k) for k in ("type", "message")
                )
                if not same:
                    return False
                continue
            if not _same_values(check, a, b):
                return False
        return True


def _same_values(check: Check, a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two runs produced the same values for a case, whatever the check's properties say.

    Used to recognise a decoy: a learner whose curve fails `decreases_by` fails
    it the same way the decoy does, so the values themselves are compared.
    """
    try:
        pairs = [(decode(a.get("value")), decode(b.get("value")))]
        if "other" in a or "other" in b:
            pairs.append((decode(a.get("other")), decode(b.get("other"))))
    except ProtocolError:
        return False
    if any(compare(x, y, check.expect) for x, y in pairs):
        return False
    return a.get("stdout", "").strip() == b.get("stdout", "").strip()


def _case_note(case: dict[str, Any], count: int) -> str:
    if count == 1 or not case["params"]:
        return ""
    shown = ", ".join(f"{k}={v!r}" for k, v in case["params"].items())
    return f" (case {shown})"
