"""The event protocol: every line a check's child or a training worker sends, defined once.

A stream is JSON lines, one object per line, whose "type" names the event.
Two streams speak it:

- a **check**: the sandboxed child (engine.sandbox.probe) writes CHECK events
  on its event pipe; the client (engine.sandbox.client) adds `output` (what
  the child printed) and `end` (how the child ended).  The events a verdict
  rests on carry the run's secret token.
- a **training job**: the worker process (engine.jobs.worker) writes JOB
  events on a pipe of its own; the manager and `tutor train` read them.

Writers call `encode(event)`; readers call `decode(raw, CHECK_EVENTS)` (or
JOB_EVENTS), which returns a typed event or raises ProtocolError: an unknown
type, a missing or mistyped field or an unknown field is refused whole,
never half read.  Non-finite floats travel as null, so every line is strict
JSON that any tool can read (`tutor train --json | jq`).
"""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

# Bound now: a learner's code runs in the same process as the probe that sends
# these, and may patch the json module afterwards.
_dumps = json.dumps
_loads = json.loads


class ProtocolError(ValueError):
    """A line that is not a well-formed event of the stream it arrived on."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event; `TYPE` is its name on the wire."""

    TYPE: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.TYPE, **{f.name: getattr(self, f.name) for f in fields(self)}}


# --- a check: from the sandboxed child ------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Started(Event):
    """The child has its job: the learner's time limit starts now, not at spawn."""

    TYPE = "started"


@dataclass(frozen=True, kw_only=True)
class SandboxLayers(Event):
    """Which confinement layers took, each with a word on its state."""

    TYPE = "sandbox"
    layers: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class Violation(Event):
    """The learner's code reached for something forbidden (kind: network, process, ...)."""

    TYPE = "violation"
    kind: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class Metric(Event):
    """Values for the live chart, from `tutor.log(...)` or a training job."""

    TYPE = "metric"
    step: int | None
    values: dict[str, float | None]


@dataclass(frozen=True, kw_only=True)
class Progress(Event):
    """From `tutor.progress(done, total)` in the learner's code."""

    TYPE = "progress"
    done: int
    total: int
    label: str = ""


@dataclass(frozen=True, kw_only=True)
class Loaded(Event):
    """The learner's module ran to its end; checks follow."""

    TYPE = "loaded"
    token: str


@dataclass(frozen=True, kw_only=True)
class ModuleError(Event):
    """The learner's module raised (or exited) before the checks could run."""

    TYPE = "module_error"
    token: str
    error: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Result(Event):
    """One case of one check: the value (codec-encoded), or the error it raised."""

    TYPE = "result"
    token: str
    check: int
    case: int
    value: Any = None
    other: Any = None  # the `same_as` expression's value, for checks that have one
    stdout: str | None = None  # captured only for checks that compare printed output
    error: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Done(Event):
    """Every check has sent its results; the child's output is flushed."""

    TYPE = "done"
    token: str
    elapsed_ms: float = 0.0  # the child's own clock from `started` to here: the learner's run time


@dataclass(frozen=True, kw_only=True)
class ProbeError(Event):
    """The checker's own machinery failed in the child: never the learner's fault, never a pass."""

    TYPE = "probe_error"
    error: str


@dataclass(frozen=True, kw_only=True)
class Trace(Event):
    """What the learner's lines made in one traced case (engine.feedback.trace): advice, never a verdict."""

    TYPE = "trace"
    entries: list[dict[str, Any]]
    capped: bool = False


@dataclass(frozen=True, kw_only=True)
class Timing(Event):
    """The best of several calls of a lesson's scale-up case (engine.feedback.speed): advice, never a verdict."""

    TYPE = "timing"
    best_ms: float | None = None
    runs: int = 0
    error: str | None = None


# --- a check: added by the client ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Output(Event):
    """Text the child printed, in arrival order; capped per stream."""

    TYPE = "output"
    stream: str
    text: str


@dataclass(frozen=True, kw_only=True)
class RunEnd(Event):
    """How a child ended; always the last event of a check."""

    TYPE = "end"
    exit: int | None = None
    signal: int | None = None
    cpu_s: float | None = None
    maxrss_kb: int | None = None
    limit: str | None = None  # "time" or "memory" when the client killed it for that
    cancelled: bool = False
    finished: bool = False
    runner_lost: bool = False
    truncated: dict[str, bool] = field(default_factory=dict)  # stream -> output cut at the cap
    protocol_error: str | None = None
    duration_ms: float = 0.0
    startup_ms: float = 0.0


# --- a training job -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class JobStarted(Event):
    TYPE = "job"
    job: str
    title: str
    device: str
    device_name: str
    epochs: int
    steps_per_epoch: int
    batch_size: int
    params: int
    amp: bool
    resumed_from: int | None
    target: float | None
    data: str
    train_size: int


@dataclass(frozen=True, kw_only=True)
class Step(Event):
    """At most a few a second: the loop must not pay for its progress bar."""

    TYPE = "step"
    epoch: int
    step: int
    steps: int
    loss: float | None
    lr: float
    samples_per_s: float
    eta_s: float
    mem: dict[str, int]
    global_step: int


@dataclass(frozen=True, kw_only=True)
class EpochDone(Event):
    TYPE = "epoch"
    epoch: int
    train_loss: float | None
    train_acc: float
    val_loss: float | None
    val_acc: float
    lr: float
    seconds: float


@dataclass(frozen=True, kw_only=True)
class Checkpoint(Event):
    TYPE = "checkpoint"
    epoch: int
    path: str


@dataclass(frozen=True, kw_only=True)
class JobEnd(Event):
    """Always the last event of a job; `error` says why when status is "failed"."""

    TYPE = "end"
    status: str  # done, cancelled or failed
    error: str | None = None
    test_loss: float | None = None
    test_acc: float | None = None
    target: float | None = None
    met: bool | None = None
    seconds: float | None = None
    device: str | None = None
    weights: str | None = None
    epochs_done: int | None = None
    peak: dict[str, int] = field(default_factory=dict)


def _registry(*classes: type[Event]) -> dict[str, type[Event]]:
    return {cls.TYPE: cls for cls in classes}


# What a sandboxed child may send; the client adds Output and RunEnd itself.
CHILD_EVENTS = _registry(
    Started, SandboxLayers, Violation, Metric, Progress, Loaded, ModuleError, Result, Done, ProbeError, Trace, Timing
)
CHECK_EVENTS = {**CHILD_EVENTS, **_registry(Output, RunEnd)}
JOB_EVENTS = _registry(JobStarted, Step, Metric, EpochDone, Checkpoint, JobEnd)
# The events whose claims a verdict rests on: they must carry the run's token.
SECURED = (Loaded, ModuleError, Result, Done)


# --- writing and reading a line ----------------------------------------------------------------


def encode(event: Event) -> bytes:
    """One line of strict JSON, newline included; NaN and infinities become null."""
    return (_dumps(_finite(event.to_dict()), allow_nan=False, separators=(",", ":")) + "\n").encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def decode(raw: bytes | str, registry: dict[str, type[Event]]) -> Event:
    """The event on one line, checked field by field against its definition."""
    try:
        data = _loads(raw)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError("an event must be a JSON object")
    return from_dict(data, registry)


def from_dict(data: dict[str, Any], registry: dict[str, type[Event]]) -> Event:
    kind = data.get("type")
    cls = registry.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError(f"unknown event type {kind!r}")
    spec = _spec(cls)
    values = {k: v for k, v in data.items() if k != "type"}
    unknown = set(values) - set(spec)
    if unknown:
        raise ProtocolError(f"{kind}: unknown field(s) {sorted(unknown)}")
    for name, (accepted, required) in spec.items():
        if name not in values:
            if required:
                raise ProtocolError(f"{kind}: missing field {name!r}")
            continue
        if accepted is not None and not _is_a(values[name], accepted):
            raise ProtocolError(f"{kind}: field {name!r} has the wrong type")
    return cls(**values)


def _is_a(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False  # JSON true is not a number here
    return isinstance(value, types)


_SPECS: dict[type[Event], dict[str, tuple[tuple[type, ...] | None, bool]]] = {}
_JSON_TYPES = {int: (int,), float: (int, float), str: (str,), bool: (bool,), dict: (dict,), list: (list,)}


def _spec(cls: type[Event]) -> dict[str, tuple[tuple[type, ...] | None, bool]]:
    """Per field: the JSON types it accepts (None: any) and whether it must be present."""
    spec = _SPECS.get(cls)
    if spec is None:
        hints = typing.get_type_hints(cls)
        spec = {}
        for f in fields(cls):
            required = f.default is MISSING and f.default_factory is MISSING
            spec[f.name] = (_accepted(hints[f.name]), required)
        _SPECS[cls] = spec
    return spec


def _accepted(hint: Any) -> tuple[type, ...] | None:
    if hint is Any:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        out: tuple[type, ...] = ()
        for arg in typing.get_args(hint):
            accepted = _accepted(arg)
            if accepted is None:
                return None
            out += accepted
        return out
    if hint is type(None):
        return (type(None),)
    base = origin or hint
    return _JSON_TYPES.get(base)
