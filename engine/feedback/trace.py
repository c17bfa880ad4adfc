"""The shape trace: what the learner's own lines made, shape by shape, for one failing case.

Runs inside the sandboxed child (engine.sandbox.probe), only when the parent
asks for it after a failed check, so a passing check never pays for it.  A
`sys.settrace` hook follows the learner's frames only (their code object's
filename is the learner's file); torch's own Python frames are entered and
left without a line hook.  After each line it looks at which local names now
hold a different value and describes the new ones: shape, dtype, device and
whether they require grad, never the values themselves.  What leaves the
child is a list of small dicts (JSON), capped in entries and in line events,
so a long loop cannot make the trace cost more than the run.
"""

from __future__ import annotations

import sys
from typing import Any

MAX_ENTRIES = 120  # distinct (function, line, name) rows sent back
MAX_LINE_EVENTS = 50_000  # after this many traced lines the hook removes itself


def describe(value: Any) -> dict[str, Any] | None:
    """Shape, dtype, device and grad of a tensor or array (or a short sequence of them); None otherwise."""
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None and hasattr(value, "ndim"):
        info: dict[str, Any] = {"shape": [int(n) for n in shape], "dtype": str(dtype).replace("torch.", "")}
        if type(value).__module__.startswith("torch"):  # numpy 2 arrays have a `.device` too: ask the type
            info.update(kind="tensor", device=str(value.device), grad=bool(value.requires_grad))
        else:
            info["kind"] = "ndarray"
        return info
    if isinstance(value, (tuple, list)) and 0 < len(value) <= 4:
        items = [describe(v) for v in value]
        if all(items):
            return {"kind": type(value).__name__, "items": items}
    if type(value).__name__ == "Size":
        return {"kind": "size", "shape": [int(n) for n in value]}
    return None


def _signature(value: Any) -> tuple[Any, ...]:
    """What counts as a new value for a name: another object, or the same tensor reshaped in place."""
    shape = getattr(value, "shape", None)
    try:
        return (id(value), tuple(shape) if shape is not None else None)
    except TypeError:
        return (id(value), None)


class ShapeTracer:
    """`with ShapeTracer(filename) as tracer: ...` then `tracer.entries`."""

    def __init__(self, filename: str):
        self.filename = filename
        self.entries: dict[tuple[str, int, str], dict[str, Any]] = {}
        self.capped = False
        self._lines = 0
        self._frames: dict[int, tuple[int, dict[str, tuple[Any, ...]]]] = {}
        self._raised = False

    def __enter__(self) -> ShapeTracer:
        self._previous = sys.gettrace()
        sys.settrace(self._on_call)
        return self

    def __exit__(self, *exc: Any) -> None:
        sys.settrace(self._previous)

    def result(self) -> list[dict[str, Any]]:
        return list(self.entries.values())

    # --- the hooks: kept small, they run on every line of the learner's code ---------------------

    def _on_call(self, frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != self.filename or self.capped:
            return None  # not the learner's code: no line events for torch's own frames
        code = frame.f_code
        if code.co_name != "<module>":  # what the function was given, on its `def` line
            for name in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]:
                self._add(frame, frame.f_lineno, name, frame.f_locals.get(name))
        self._frames[id(frame)] = (frame.f_lineno, self._snapshot(frame))
        return self._on_line

    def _on_line(self, frame: Any, event: str, arg: Any) -> Any:
        self._lines += 1
        if self._lines > MAX_LINE_EVENTS:
            self.capped = True
            frame.f_trace = None
            return None
        key = id(frame)
        line, before = self._frames.get(key, (frame.f_lineno, {}))
        if event == "line":
            self._frames[key] = (frame.f_lineno, self._record_changes(frame, line, before))
        elif event == "return":
            self._record_changes(frame, line, before)
            self._add(frame, line, "return", arg)
            self._frames.pop(key, None)
        elif event == "exception" and not self._raised:
            self._raised = True  # the first line that raised: the one the error points at
            self._record_changes(frame, frame.f_lineno, before)
            self._add(frame, frame.f_lineno, "raises", None, {"kind": "error", "error": arg[0].__name__})
        return self._on_line

    def _snapshot(self, frame: Any) -> dict[str, tuple[Any, ...]]:
        return {name: _signature(value) for name, value in frame.f_locals.items()}

    def _record_changes(self, frame: Any, line: int, before: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
        now = {}
        for name, value in frame.f_locals.items():
            sig = _signature(value)
            now[name] = sig
            if before.get(name) != sig and not name.startswith("__"):
                self._add(frame, line, name, value)
        return now

    def _add(self, frame: Any, line: int, name: str, value: Any, info: dict[str, Any] | None = None) -> None:
        info = info or describe(value)
        if info is None:
            return
        func = frame.f_code.co_name
        key = (func, line, name)
        entry = self.entries.get(key)
        if entry is not None:  # a line in a loop: keep the last value and count the passes
            entry.update(info, count=entry["count"] + 1)
            return
        if len(self.entries) >= MAX_ENTRIES:
            self.capped = True
            return
        self.entries[key] = {"line": line, "func": func, "name": name, "count": 1, **info}


# --- reading a trace back (parent side) -----------------------------------------------------------


def shape_text(entry: dict[str, Any]) -> str:
    """One traced value in a few words: `(7, 1, 5) float32`, `(3,) int64 cuda:0 · requires grad`."""
    kind = entry.get("kind")
    if kind == "error":
        return f"raises {entry.get('error')}"
    if kind in ("tuple", "list"):
        inner = ", ".join(shape_text(item) for item in entry.get("items", []))
        return f"({inner})" if kind == "tuple" else f"[{inner}]"
    shape = [str(n) for n in entry.get("shape", [])]
    dims = f"({shape[0]},)" if len(shape) == 1 else f"({', '.join(shape)})"
    if kind == "size":
        return f"torch.Size{dims}"
    words = [dims, str(entry.get("dtype", ""))]
    if entry.get("device", "cpu") != "cpu":
        words.append(str(entry["device"]))
    text = " ".join(words)
    if entry.get("grad"):
        text += " · requires grad"
    return text


def line_marks(entries: list[dict[str, Any]]) -> dict[int, str]:
    """Per line of the learner's code, what it made: the editor shows these beside the lines."""
    marks: dict[int, list[str]] = {}
    for entry in entries:
        name = entry["name"]
        label = "returns" if name == "return" else "" if name == "raises" else name
        marks.setdefault(int(entry["line"]), []).append(f"{label} {shape_text(entry)}".strip())
    return {line: " · ".join(parts) for line, parts in marks.items()}
