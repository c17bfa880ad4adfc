"""Speed where speed is the point: a passing solution timed against the reference on a larger input.

A lesson may declare `scale` (engine.lessons.format.Scale): a call and the
inputs it needs at a size where a Python loop shows.  After a pass the
checker runs the learner's code and the reference once more each, in the
sandbox, with `timing` set in the request; the child (engine.sandbox.probe)
calls `best_time` and sends the figures back.  The parent compares them with
`speed_note`.  Timing never fails a check: it is advice, and it is noisy, so
each side takes the best of several calls and only a large gap is reported.

A training lesson's scale case also names `samples`, the rows the call
trains on: the figures are then throughputs (samples per second) and the
causes looked for are the training loop's usual ones.
"""

from __future__ import annotations

import ast
import time
from typing import Any

from engine.astnames import dotted_name

SLOW_RATIO = 5.0  # report only when the learner's code is this many times slower...
SLOW_GAP_MS = 2.0  # ...and slower by at least this much: sub-millisecond noise is not a finding
# A training loop is mostly framework time already: losing a third of its throughput is a finding.
TRAIN_SLOW_RATIO = 1.5
TRAIN_SLOW_GAP_MS = 50.0
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


def speed_note(mine_ms: float, reference_ms: float, label: str, code: str, samples: int | None = None) -> str | None:
    """One sentence when the learner's code is much slower than the reference, with the likely cause; else None."""
    ratio_needed, gap_needed = (TRAIN_SLOW_RATIO, TRAIN_SLOW_GAP_MS) if samples else (SLOW_RATIO, SLOW_GAP_MS)
    if reference_ms <= 0 or mine_ms < reference_ms * ratio_needed or mine_ms - reference_ms < gap_needed:
        return None
    ratio = mine_ms / reference_ms
    if samples:
        cause = training_cause(code)
        because = f": {cause}" if cause else ""
        return (
            f"correct, but trains {ratio:.1f}× slower than the reference ({throughput(samples, mine_ms)} vs "
            f"{throughput(samples, reference_ms)} on {label}){because}"
        )
    cause = likely_cause(code)
    # Without a loop to blame the code is already vectorised, just not the fast way: say so plainly.
    than, because = (
        ("a vectorised solution", f": {cause}")
        if cause
        else ("the reference", "; now that it passes, compare it with the reference")
    )
    return f"correct, but {ratio:.0f}× slower than {than} ({_ms(mine_ms)} vs {_ms(reference_ms)} on {label}){because}"


def throughput(samples: int, ms: float) -> str:
    """`12,400 samples/s`: how many rows a call of `ms` milliseconds gets through per second."""
    return f"{samples / (ms / 1000):,.0f} samples/s" if ms > 0 else "—"


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
    over, unit = _walks(loop)
    extra = ", calling .item() on each element," if per_item else ""
    return f"{kind}{over} on line {loop.lineno}{extra} runs once per {unit} where one tensor operation would do"


def _walks(loop: ast.AST) -> tuple[str, str]:
    """What a loop walks, as ' over …' and the unit of one pass: rows, one dim's indices, or elements."""
    target = loop.generators[0].iter if hasattr(loop, "generators") else getattr(loop, "iter", None)
    if isinstance(target, (ast.Name, ast.Attribute)):  # `for row in X`
        return f" over the rows of {ast.unparse(target)}", "row"
    if not (isinstance(target, ast.Call) and dotted_name(target.func) == "range" and len(target.args) == 1):
        return "", "item"
    bound = target.args[0]
    if isinstance(bound, ast.Call) and dotted_name(bound.func) == "len" and bound.args:  # range(len(X))
        return f" over the rows of {ast.unparse(bound.args[0])}", "row"
    if isinstance(bound, ast.Subscript) and isinstance(bound.value, ast.Attribute) and bound.value.attr == "shape":
        return f" over dim {ast.unparse(bound.slice)} of {ast.unparse(bound.value.value)}", "index"  # range(X.shape[k])
    method = bound.func if isinstance(bound, ast.Call) and isinstance(bound.func, ast.Attribute) else None
    if method is not None and method.attr == "numel":  # range(X.numel())
        return f" over every element of {ast.unparse(method.value)}", "element"
    if method is not None and method.attr == "size" and bound.args:  # range(X.size(k))
        return f" over dim {ast.unparse(bound.args[0])} of {ast.unparse(method.value)}", "index"
    return "", "item"


_LOOP_NODES = (ast.For, ast.AsyncFor, ast.While)


def training_cause(code: str) -> str | None:
    """The usual reasons a training loop is slow, by line: work rebuilt on every pass, or one row at a time."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for loop in sorted((n for n in ast.walk(tree) if isinstance(n, _LOOP_NODES)), key=lambda n: n.lineno):
        for node in sorted(_inside(loop), key=lambda n: getattr(n, "lineno", 0)):
            name = _called(node)
            if name and name.endswith("DataLoader"):
                return (
                    f"a DataLoader is built inside the loop on line {loop.lineno}, once per pass; build it once before the loop"
                )
            if name in _OPTIMIZERS:
                return f"the optimizer is rebuilt inside the loop on line {loop.lineno}; build it once before the loop"
        if (
            isinstance(loop, ast.For)
            and _over_rows(loop.iter)
            and any(isinstance(n, _LOOP_NODES) for n in _enclosing(tree, loop))
        ):
            return f"the loop on line {loop.lineno} runs one row at a time where the model takes the whole batch in one call"
    return None


_OPTIMIZERS = {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "NAdam", "RAdam", "Adamax", "LBFGS"}


def _called(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _inside(loop: ast.AST) -> list[ast.AST]:
    """The nodes of a loop's body, not of functions defined in it (a def in a loop is not run per pass)."""
    found, stack = [], list(getattr(loop, "body", []))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _over_rows(it: ast.expr) -> bool:
    """`for i in range(len(xb))`, `range(xb.shape[0])`, `range(xb.size(0))`: one pass per row.  (`for x in name`
    is left out: it is as often a loop over a DataLoader's batches.)"""
    if isinstance(it, ast.Call) and _called(it) == "range" and len(it.args) == 1:
        arg = it.args[0]
        return _called(arg) in ("len", "size") or (isinstance(arg, ast.Subscript) and ast.unparse(arg.value).endswith(".shape"))
    return False


def _enclosing(tree: ast.AST, target: ast.AST) -> list[ast.AST]:
    """The loops (and other nodes) whose body holds `target`, outermost first."""
    path: list[ast.AST] = []

    def visit(node: ast.AST, chain: list[ast.AST]) -> bool:
        if node is target:
            path.extend(chain)
            return True
        return any(visit(child, [*chain, node]) for child in ast.iter_child_nodes(node))

    visit(tree, [])
    return path
