"""Speed where speed is the point: a passing solution timed against the reference on a larger input.

A lesson may declare `scale` (engine.lessons.format.Scale): a call and the
inputs it needs at a size where a Python loop shows.  After a pass the
checker runs the learner's code and the reference once more each, in the
sandbox, with `timing` set in the request; the child (engine.sandbox.probe)
calls `best_time` and sends the figures back.  The parent compares them with
`speed_note`.  Timing never fails a check: it is advice, and it is noisy, so
each side takes the best of several calls and only a large gap is reported.
"""

from __future__ import annotations

import ast
import time
from typing import Any

SLOW_RATIO = 5.0  # report only when the learner's code is this many times slower...
SLOW_GAP_MS = 2.0  # ...and slower by at least this much: sub-millisecond noise is not a finding
BUDGET_S = 1.5  # a side stops timing once this much time is spent (at least one call always runs)
MOST_CALLS = 7

_clock = time.perf_counter  # bound now: the learner's code could patch `time`


def best_time(call: Any, budget_s: float = BUDGET_S, most: int = MOST_CALLS) -> tuple[float, int]:
    """The fastest of up to `most` calls in milliseconds, within `budget_s`; and how many ran.

    The first call is a warm-up (allocator, lazy imports) whenever there is
    time for a second, so one cold call does not decide.
    """
    start = _clock()
    best = float("inf")
    runs = 0
    while runs < most:
        t0 = _clock()
        call()
        elapsed = _clock() - t0
        runs += 1
        if runs > 1 or elapsed * 2 > budget_s:
            best = min(best, elapsed)
        if _clock() - start + elapsed > budget_s:
            break
    return (best if best != float("inf") else elapsed) * 1000, runs


def speed_note(mine_ms: float, reference_ms: float, label: str, code: str) -> str | None:
    """One sentence when the learner's code is much slower than the reference, with the likely cause; else None."""
    if reference_ms <= 0 or mine_ms < reference_ms * SLOW_RATIO or mine_ms - reference_ms < SLOW_GAP_MS:
        return None
    ratio = mine_ms / reference_ms
    cause = likely_cause(code)
    because = f": {cause}" if cause else ""
    return (
        f"correct, but {ratio:.0f}× slower than a vectorised solution ({_ms(mine_ms)} vs {_ms(reference_ms)} on {label}){because}"
    )


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def likely_cause(code: str) -> str | None:
    """What in the code most likely costs the time: a Python loop (and `.item()` in it), by line."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    loops = [
        n
        for n in ast.walk(tree)
        if isinstance(n, (ast.For, ast.While, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.SetComp))
    ]
    if not loops:
        return None
    loop = min(loops, key=lambda n: n.lineno)
    per_item = any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("item", "tolist", "numpy")
        for n in ast.walk(loop)
    )
    kind = "the comprehension" if not isinstance(loop, (ast.For, ast.While)) else "the Python loop"
    extra = ", calling .item() on each element," if per_item else ""
    return f"{kind} on line {loop.lineno}{extra} runs once per element where one tensor operation would do"
