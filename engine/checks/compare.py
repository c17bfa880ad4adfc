"""Comparing a learner's decoded value with the reference's, and checking properties.

Runs in the trusted parent on values from engine.sandbox.codec.  Every mismatch
comes back as a plain sentence plus a side-by-side summary of expected and
actual (shape, dtype, a few values, the largest absolute and relative error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.lessons.format import Curve, Expect, Tolerance
from engine.sandbox.codec import Array, Tagged

PREVIEW = 6


@dataclass
class Mismatch:
    message: str
    expected: str | None = None
    actual: str | None = None
    stats: dict[str, float] = field(default_factory=dict)


def describe(value: Any) -> str:
    """A short human summary of a decoded value."""
    if isinstance(value, Array):
        flat = value.values.reshape(-1)
        head = ", ".join(_num(v) for v in flat[:PREVIEW]) + (", …" if flat.size > PREVIEW else "")
        kind = "tensor" if value.kind == "tensor" else "ndarray"
        extra = ", requires_grad" if value.requires_grad else ""
        return f"{kind} shape={value.shape} dtype={value.dtype}{extra} [{head}]"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v) for v in value[:4]) + (", …" if len(value) > 4 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(describe(v) for v in value[:4]) + (", …" if len(value) > 4 else "") + "]"
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, str):
        return repr(value if len(value) < 80 else value[:77] + "...")
    return str(value)


def _num(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (complex, np.complexfloating)):
        return f"{complex(v):.4g}"
    return f"{float(v):.5g}"


def _type_name(value: Any) -> str:
    if isinstance(value, Array):
        return "Tensor" if value.kind == "tensor" else "ndarray"
    if isinstance(value, Tagged):
        return {"dtype": "torch.dtype", "device": "torch.device", "type": "type"}.get(value.tag, value.name)
    return type(value).__name__


def compare(actual: Any, expected: Any, expect: Expect, path: str = "") -> Mismatch | None:
    """None when `actual` matches `expected` under the check's rules."""
    where = f" at {path}" if path else ""
    if isinstance(expected, Array) or isinstance(actual, Array):
        if not (isinstance(expected, Array) and isinstance(actual, Array)) or expected.kind != actual.kind:
            return Mismatch(
                f"expected a {_type_name(expected)}{where}, got a {_type_name(actual)}",
                describe(expected),
                describe(actual),
            )
        return _compare_arrays(actual, expected, expect, where)
    if isinstance(expected, (tuple, list)):
        if type(actual) is not type(expected):
            return Mismatch(
                f"expected a {type(expected).__name__}{where}, got a {_type_name(actual)}", describe(expected), describe(actual)
            )
        if len(actual) != len(expected):
            return Mismatch(f"expected {len(expected)} items{where}, got {len(actual)}", describe(expected), describe(actual))
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            found = compare(a, e, expect, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return Mismatch(
                f"expected a dict with keys {sorted(map(str, expected))}{where}", describe(expected), describe(actual)
            )
        for key in expected:
            found = compare(actual[key], expected[key], expect, f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(expected, bool) or isinstance(actual, bool):
        if actual is not expected if isinstance(expected, bool) else True:
            return Mismatch(f"expected {expected}{where}, got {describe(actual)}", describe(expected), describe(actual))
        return None
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if isinstance(expected, int) and isinstance(actual, int):
            ok = actual == expected
        else:
            ok = _close_scalar(float(actual), float(expected), expect.tolerance)
        if not ok:
            return Mismatch(
                f"expected {describe(expected)}{where}, got {describe(actual)}",
                describe(expected),
                describe(actual),
                {"abs_err": abs(float(actual) - float(expected))},
            )
        return None
    if type(actual) is not type(expected) or actual != expected:
        return Mismatch(f"expected {describe(expected)}{where}, got {describe(actual)}", describe(expected), describe(actual))
    return None


def _close_scalar(a: float, e: float, tol: Tolerance) -> bool:
    if math.isnan(e) or math.isnan(a):
        return math.isnan(e) and math.isnan(a)
    return abs(a - e) <= tol.atol + tol.rtol * abs(e)


def _compare_arrays(actual: Array, expected: Array, expect: Expect, where: str) -> Mismatch | None:
    exp_s, act_s = describe(expected), describe(actual)
    if actual.shape != expected.shape:
        return Mismatch(f"shape{where} is {actual.shape}, expected {expected.shape}", exp_s, act_s)
    if expect.dtype and actual.dtype != expected.dtype:
        return Mismatch(f"dtype{where} is {actual.dtype}, expected {expected.dtype}", exp_s, act_s)
    if expect.device and actual.device != expected.device:
        return Mismatch(f"device{where} is {actual.device}, expected {expected.device}", exp_s, act_s)
    a, e = actual.values, expected.values
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        bad = a != e
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return Mismatch(
                f"values{where} differ at {bad.sum()} of {bad.size} positions; first at {idx}: got {_num(a[idx])}, expected {_num(e[idx])}",
                exp_s,
                act_s,
            )
        return None
    a64 = a.astype(np.complex128 if "c" in (a.dtype.kind, e.dtype.kind) else np.float64)
    e64 = e.astype(a64.dtype)
    with np.errstate(all="ignore"):
        close = np.isclose(a64, e64, rtol=expect.tolerance.rtol, atol=expect.tolerance.atol, equal_nan=True)
        if close.all():
            return None
        diff = np.abs(a64 - e64)
    bad_numbers = ~np.isfinite(a64) & np.isfinite(e64)
    if bad_numbers.any():
        idx = tuple(int(i) for i in np.argwhere(bad_numbers)[0])
        return Mismatch(
            f"values{where} contain NaN or infinity at {bad_numbers.sum()} of {bad_numbers.size} positions"
            f" where numbers were expected; first at {idx}: got {_num(a[idx])}, expected {_num(e[idx])}",
            exp_s,
            act_s,
        )
    finite = np.isfinite(diff)
    max_abs = float(diff[finite].max()) if finite.any() else math.inf
    with np.errstate(all="ignore"):
        rel = diff / np.maximum(np.abs(e64), 1e-12)
    max_rel = float(rel[finite].max()) if finite.any() else math.inf
    idx = tuple(int(i) for i in np.argwhere(~close)[0])
    return Mismatch(
        f"values{where} differ at {(~close).sum()} of {close.size} positions; first at {idx}: got {_num(a[idx])}, expected {_num(e[idx])}"
        f" (max abs error {max_abs:.3g}, max rel error {max_rel:.3g})",
        exp_s,
        act_s,
        {"max_abs_err": max_abs, "max_rel_err": max_rel},
    )


# --- properties that need no reference -------------------------------------------------------


def properties(value: Any, expect: Expect, params: dict[str, Any]) -> Mismatch | None:
    if expect.type is not None and _type_name(value) != expect.type and type(value).__name__ != expect.type:
        return Mismatch(f"expected a {expect.type}, got a {_type_name(value)}", expect.type, describe(value))
    if expect.shape is not None:
        want = tuple(params[d] if isinstance(d, str) else d for d in expect.shape)
        got = value.shape if isinstance(value, Array) else None
        if got != want:
            return Mismatch(f"shape is {got}, expected {want}", str(want), describe(value))
    if expect.requires_grad is not None:
        if not isinstance(value, Array) or value.requires_grad != expect.requires_grad:
            state = "require" if expect.requires_grad else "not require"
            return Mismatch(f"the tensor should {state} grad", None, describe(value))
    if expect.finite or expect.nonzero:
        arr = _numbers(value)
        if arr is None:
            return Mismatch("expected numbers", None, describe(value))
        if expect.finite and not np.isfinite(arr).all():
            return Mismatch("contains NaN or infinity", None, describe(value))
        if expect.nonzero and not (arr != 0).any():
            return Mismatch("is all zeros", None, describe(value))
    for bound, word in ((expect.max, "at most"), (expect.min, "at least")):
        if bound is None:
            continue
        arr = _numbers(value)
        if arr is None or arr.size != 1:
            return Mismatch(f"expected one number {word} {bound}", None, describe(value))
        x = float(arr.reshape(-1)[0])
        if math.isnan(x) or (x > bound if word == "at most" else x < bound):
            return Mismatch(f"{describe(x)} should be {word} {bound:g}", f"{word} {bound:g}", describe(x))
    if expect.curve is not None:
        return curve(value, expect.curve)
    return None


def _numbers(value: Any) -> np.ndarray | None:
    if isinstance(value, Array):
        return value.values.astype(np.float64) if value.values.dtype.kind != "c" else np.abs(value.values)
    if isinstance(value, bool):
        return np.array(float(value))
    if isinstance(value, (int, float)):
        return np.array(float(value))
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return np.array(value, dtype=np.float64)
    return None


def curve(value: Any, rules: Curve) -> Mismatch | None:
    arr = _numbers(value)
    if arr is None or arr.ndim != 1:
        return Mismatch("expected a sequence of losses", None, describe(value))
    shown = describe(value)
    if arr.size < rules.min_length:
        return Mismatch(f"expected at least {rules.min_length} losses, got {arr.size}", None, shown)
    if rules.finite and not np.isfinite(arr).all():
        first = int(np.argwhere(~np.isfinite(arr))[0][0])
        return Mismatch(f"the loss became NaN or infinite at step {first}", None, shown)
    if rules.decreases_by is not None:
        first, last = float(arr[0]), float(arr[-1])
        if not (last > 0 and first / last >= rules.decreases_by) and not (last <= 0 < first):
            return Mismatch(
                f"the loss went from {first:.4g} to {last:.4g}; it should fall by a factor of {rules.decreases_by:g}", None, shown
            )
    if rules.final_below is not None and not float(arr[-1]) < rules.final_below:
        return Mismatch(f"the final loss {float(arr[-1]):.4g} should be below {rules.final_below:g}", None, shown)
    if rules.non_increasing_fraction is not None and arr.size > 1:
        share = float((np.diff(arr) <= 1e-12).mean())
        if share < rules.non_increasing_fraction:
            return Mismatch(f"the loss went up in {1 - share:.0%} of steps", None, shown)
    return None
