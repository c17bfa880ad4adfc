"""Quizzes: predict what a snippet gives, typed as an answer.

The truth is computed once per variant by running the snippet in the sandbox
(a built-in lesson is trusted, a pack's is not: both run confined), through
the checker's cache.  The learner's answer is never run: it is read as text
(`parse`), so a keystroke answer is decided in microseconds once the truth is
known.  A decoy edits the snippet into the program a mistaken mental model
imagines; its computed answer is the wrong answer that names the mistake.

Answers come in four kinds: a shape `(3, 1)`, a dtype `torch.float32`, a value
(`True`, `6`, `[1.0, 2.5]`), or an error named by its type (`RuntimeError`).
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from typing import Any

from engine.checks.checker import Checker, CheckResult, Verdict, decoy_code
from engine.lessons.format import Check, Lesson
from engine.lessons.variants import instantiate
from engine.sandbox.codec import decode

ANSWER_CHECK = "your answer"

# The child returns [kind, value] as plain data: the parent never unpickles or evaluates anything.
_PROGRAM = """\
import torch
from torch import nn
import torch.nn.functional as F


def __describe(v):
    if isinstance(v, torch.Size):
        return ["shape", list(v)]
    if isinstance(v, torch.dtype):
        return ["dtype", str(v)]
    if isinstance(v, torch.Tensor):
        return ["value", v.item() if v.dim() == 0 else v.tolist()]
    if isinstance(v, tuple) and all(isinstance(n, int) and not isinstance(n, bool) for n in v):
        return ["shape", list(v)]
    if isinstance(v, (list, tuple)):
        return ["value", [__describe(x)[1] for x in v]]
    return ["value", v]


def __quiz_answer__():
    try:
{body}
        __value = ({ask})
    except Exception as __exc:
        return ["error", type(__exc).__name__]
    return __describe(__value)
"""


def truth_program(snippet: str, ask: str) -> str:
    return _PROGRAM.format(body=textwrap.indent(snippet.strip("\n") or "pass", " " * 8), ask=ask)


def _probe_lesson(rendered: Lesson, snippet: str) -> Lesson:
    """The snippet as a lesson the checker can run: one check, the described answer."""
    probe = Check(name=ANSWER_CHECK, expr="__quiz_answer__()")
    return rendered.model_copy(update={"solution": truth_program(snippet, rendered.quiz.ask), "checks": [probe],
                                       "decoys": [], "params": {}})  # fmt: skip


def truth(checker: Checker, lesson: Lesson, variant: int, snippet: str | None = None) -> list[Any]:
    """[kind, value] of the variant's snippet (or of `snippet`, a decoy's edit of it): run once, cached."""
    rendered, _ = instantiate(lesson, variant)
    probe = _probe_lesson(rendered, rendered.solution if snippet is None else snippet)
    outcome = checker.reference(probe, variant)
    return list(decode(outcome.results[(0, 0)].value))


# --- reading an answer -------------------------------------------------------------------------

_DTYPES = {
    "float": "float32", "float32": "float32", "double": "float64", "float64": "float64", "half": "float16",
    "float16": "float16", "bfloat16": "bfloat16", "long": "int64", "int64": "int64", "int": "int32", "int32": "int32",
    "short": "int16", "int16": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool", "cfloat": "complex64",
    "complex64": "complex64", "cdouble": "complex128", "complex128": "complex128",
}  # fmt: skip


class Unreadable(ValueError):
    """The answer is not written in a form this quiz can read; the message says which forms it can."""


def _text(answer: str) -> str:
    lines = [line.split("#", 1)[0].strip() for line in answer.splitlines()]
    return " ".join(line for line in lines if line)


def parse(answer: str, kind: str) -> Any:
    """The learner's text as a value of the truth's kind, or Unreadable."""
    text = _text(answer)
    if not text:
        raise Unreadable("no answer yet: type it in the editor, then F5")
    if _says_error(text):
        return _parse_error(text)
    if kind == "error":
        raise Unreadable("that reads as a value, not an error")
    if kind == "dtype":
        return _parse_dtype(text)
    if kind == "shape":
        return _parse_shape(text)
    return _parse_value(text)


def _says_error(text: str) -> bool:
    return bool(re.search(r"(error|exception|raises)\b", text, re.I))


def _parse_error(text: str) -> list[str]:
    names = re.findall(r"[A-Za-z_]\w*(?:Error|Exception)\b", text)
    if not names:
        raise Unreadable("name the error's type too, e.g. `error: RuntimeError`")
    return ["error", names[-1]]


def _parse_dtype(text: str) -> list[str]:
    name = text.strip("`'\" ").removeprefix("torch.")
    if name not in _DTYPES:
        raise Unreadable("write a dtype, e.g. `torch.float32` or `int64`")
    return ["dtype", f"torch.{_DTYPES[name]}"]


def _parse_shape(text: str) -> list[Any]:
    text = text.strip("` ")
    match = re.fullmatch(r"torch\.Size\((.*)\)", text)
    if match:
        text = match.group(1)
    if re.fullmatch(r"\d+(\s*[x×]\s*\d+)+", text):
        return ["shape", [int(n) for n in re.split(r"\s*[x×]\s*", text)]]
    try:
        value = ast.literal_eval(text if text.startswith(("(", "[")) else f"({text},)")
    except (ValueError, SyntaxError):
        raise Unreadable("write a shape, e.g. `(3, 1)`, `3, 1` or `()` for a scalar") from None
    if isinstance(value, int):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not all(isinstance(n, int) and not isinstance(n, bool) for n in value):
        raise Unreadable("write a shape, e.g. `(3, 1)`, `3, 1` or `()` for a scalar")
    return ["shape", list(value)]


def _parse_value(text: str) -> list[Any]:
    text = text.strip("` ")
    match = re.fullmatch(r"tensor\((.*?)(,\s*dtype=.*)?\)", text, re.S)
    if match:
        text = match.group(1)
    special = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}  # what torch prints for them
    if text.lower() in special:
        return ["value", special[text.lower()]]
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise Unreadable("write a Python value, e.g. `True`, `6`, `2.5`, `nan` or `[1, 2]`") from None
    return ["value", _plain(value)]


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def _reads_as(answer: str, want: list[Any]) -> bool:
    """Does `answer`, read as `want`'s kind, say the same as `want`?"""
    try:
        return same(parse(answer, want[0]), want)
    except Unreadable:
        return False


def same(given: list[Any], want: list[Any]) -> bool:
    kind = want[0]
    if given[0] != kind:
        return False
    if kind == "error":
        return given[1].lower() == want[1].lower()
    return _same_value(given[1], want[1])


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(b, bool) or isinstance(a, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(b, (int, float)) and isinstance(a, (int, float)):
        if isinstance(b, float) and math.isnan(b):
            return isinstance(a, float) and math.isnan(a)
        return a == b or math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)  # == for infinities
    if isinstance(b, list) and isinstance(a, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def shown(answer: list[Any]) -> str:
    """An answer as the learner would write it."""
    kind, value = answer
    if kind == "shape":
        return "(" + ", ".join(map(str, value)) + ("," if len(value) == 1 else "") + ")"
    if kind == "error":
        return f"error: {value}"
    return str(value)


def spellings(answer: list[Any]) -> list[str]:
    """Other right ways to write `answer`: the self-test requires each to pass."""
    kind, value = answer
    if kind == "shape":
        return [", ".join(map(str, value)) or "()", f"torch.Size({list(value)})", str(list(value))]
    if kind == "dtype":
        return [value.removeprefix("torch.")]
    if kind == "error":
        return [value, f"raises {value}"]
    return [f"tensor({value})"] if isinstance(value, (list, int, float)) and not isinstance(value, bool) else []


# --- deciding ----------------------------------------------------------------------------------


def decide(checker: Checker, lesson: Lesson, answer: str, variant: int = 0, name_mistakes: bool = True) -> Verdict:
    """The learner's answer against the truth; a wrong one that a decoy's program gives is named."""
    want = truth(checker, lesson, variant)
    try:
        given = parse(answer, want[0])
    except Unreadable as exc:
        if want[0] != "error" or not _text(answer) or _says_error(_text(answer)):
            return Verdict(lesson.id, False, [CheckResult(ANSWER_CHECK, False, str(exc))], problem=str(exc))
        given = None  # a shape or a value where the snippet raises: wrong, whatever its form
    if given is not None and same(given, want):
        return Verdict(lesson.id, True, [CheckResult(ANSWER_CHECK, True)])
    actual = shown(given) if given is not None else _text(answer)
    result = CheckResult(ANSWER_CHECK, False, "not what the snippet gives", expected=shown(want), actual=actual)
    if name_mistakes:
        rendered, _ = instantiate(lesson, variant)
        for decoy in rendered.decoys:
            wrong = truth(checker, lesson, variant, decoy_code(rendered, decoy))
            if _reads_as(answer, wrong):
                result.mistake = decoy.mistake
                result.message = f"{result.message} — this looks like a known mistake: {decoy.mistake}"
                break
    return Verdict(lesson.id, False, [result])
