"""The event protocol: one definition, strict on the way in, strict JSON on the way out."""

from __future__ import annotations

import json
import math

import pytest

from engine import events as ev
from engine.checks.outcome import collect

TOKEN = "t0ken"

# One of every event a check or a job can carry.
SAMPLES: list[ev.Event] = [
    ev.Started(),
    ev.SandboxLayers(layers={"seccomp": "active"}),
    ev.Violation(kind="network", detail="socket"),
    ev.Metric(step=3, values={"loss": 0.5}),
    ev.Progress(done=1, total=4, label="epochs"),
    ev.Loaded(token=TOKEN),
    ev.ModuleError(token=TOKEN, error={"type": "NameError", "message": "x"}),
    ev.Result(token=TOKEN, check=0, case=0, value={"t": "int", "v": 1}),
    ev.Done(token=TOKEN, elapsed_ms=1.5),
    ev.ProbeError(error="RuntimeError: the probe broke"),
    ev.Trace(
        entries=[{"line": 4, "func": "f", "name": "d", "count": 1, "kind": "tensor", "shape": [3, 1], "dtype": "float32"}],
        capped=False,
    ),
    ev.Timing(best_ms=0.33, runs=5),
    ev.Output(stream="stdout", text="hello\n"),
    ev.RunEnd(exit=0, finished=True, duration_ms=2.0),
    ev.JobStarted(
        job="moons-mlp",
        title="t",
        device="cpu",
        device_name="CPU",
        epochs=4,
        steps_per_epoch=10,
        batch_size=64,
        params=100,
        amp=False,
        resumed_from=None,
        target=0.9,
        data="moons",
        train_size=640,
    ),  # fmt: skip
    ev.Step(epoch=0, step=1, steps=10, loss=0.7, lr=0.01, samples_per_s=1000.0, eta_s=3.0, mem={"resident": 1}, global_step=1),
    ev.EpochDone(epoch=1, train_loss=0.5, train_acc=0.8, val_loss=0.6, val_acc=0.75, lr=0.01, seconds=0.3),
    ev.Checkpoint(epoch=1, path="/tmp/last.pt"),
    ev.JobEnd(status="done", test_acc=0.96, met=True),
]


def test_every_registered_event_has_a_sample_here():
    assert {type(e) for e in SAMPLES} == set(ev.CHECK_EVENTS.values()) | set(ev.JOB_EVENTS.values())


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_each_event_survives_the_wire_unchanged(event):
    registry = ev.JOB_EVENTS if type(event) in ev.JOB_EVENTS.values() and not isinstance(event, ev.Metric) else ev.CHECK_EVENTS
    line = ev.encode(event)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert ev.decode(line, registry) == event


def test_non_finite_numbers_travel_as_null_in_strict_json():
    line = ev.encode(ev.Metric(step=1, values={"loss": math.nan, "acc": math.inf}))
    assert json.loads(line) == {"type": "metric", "step": 1, "values": {"loss": None, "acc": None}}


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"type": "nope"}', "unknown event type"),
        (b'{"type": "done"}', "missing field 'token'"),
        (b'{"type": "done", "token": 5}', "wrong type"),
        (b'{"type": "done", "token": "a", "extra": 1}', "unknown field"),
        (b'{"type": "progress", "done": true, "total": 1}', "wrong type"),  # true is not a number here
    ],
)
def test_a_malformed_line_is_refused_whole(line, why):
    with pytest.raises(ev.ProtocolError, match=why):
        ev.decode(line, ev.CHECK_EVENTS)


def test_a_child_cannot_send_what_only_the_client_adds():
    for event in (ev.Output(stream="stdout", text="x"), ev.RunEnd()):
        with pytest.raises(ev.ProtocolError, match="unknown event type"):
            ev.decode(ev.encode(event), ev.CHILD_EVENTS)


def test_every_check_event_is_taken_into_the_outcome():
    shown: list[ev.Event] = []
    checks = [e for e in SAMPLES if type(e) in ev.CHECK_EVENTS.values() and not isinstance(e, ev.ModuleError)]
    out = collect(checks, TOKEN, sink=shown.append)
    assert out.layers == {"seccomp": "active"} and out.violations and out.metrics == [{"step": 3, "loss": 0.5}]
    assert out.loaded and out.done and (0, 0) in out.results and out.probe_error and out.stdout == "hello\n"
    assert out.end.finished and out.tampered is None
    assert {type(e) for e in shown} == {ev.Violation, ev.Metric, ev.Progress, ev.Output}


def test_a_result_without_the_token_or_after_done_is_not_trusted():
    forged = collect([ev.Result(token="guess", check=0, case=0, value=1), ev.Done(token=TOKEN)], TOKEN)
    assert forged.tampered and not forged.results
    late = collect([ev.Done(token=TOKEN), ev.Result(token=TOKEN, check=0, case=0, value=1)], TOKEN)
    assert late.tampered == "messages arrived after the run finished"
