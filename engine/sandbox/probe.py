"""The probe: runs inside the sandboxed child, executes the learner's code, then
evaluates each check's expression on seeded inputs and sends back data only.

It decides nothing.  Every value goes to the trusted parent over the event
channel (fd 3) as events of engine.events; the parent compares.  Everything
the probe relies on is bound before the learner's code runs, so later
monkeypatching cannot change how values are produced or sent.
"""

from __future__ import annotations

import builtins
import io
import linecache
import os
import sys
import time
import traceback
import types
from contextlib import nullcontext, redirect_stdout
from typing import Any

from engine import events
from engine.feedback.speed import best_time
from engine.feedback.trace import ShapeTracer
from engine.sandbox import codec, confine, landlock, seccomp, syscalls
from engine.sandbox.helpers import Modules, helpers, seed_everything
from engine.sandbox.request import CheckRequest

EVENT_FD = 3
LEARNER_MODULE = "solution"

_write = os.write
_clock = time.perf_counter
_encode = events.encode


class Channel:
    """Events to the parent on a private copy of fd 3; `token` goes on the secured ones."""

    def __init__(self, fd: int, token: str):
        self.fd = fd
        self.token = token
        self.started: float | None = None

    def send(self, event: events.Event) -> None:
        data = _encode(event)
        while data:
            n = _write(self.fd, data)
            data = data[n:]


# --- the learner-facing API: `import tutor; tutor.log(step=..., loss=...)` -------------------


def _learner_api(channel: Channel, logged: list[dict[str, Any]]) -> types.ModuleType:
    api = types.ModuleType("tutor", "What learner code may call while tutor runs it.")

    def log(step: int | None = None, **metrics: float) -> None:
        """Send metrics to the live chart: tutor.log(step=3, loss=0.25, acc=0.9)."""
        values = {k: float(v) for k, v in metrics.items()}
        entry = {"step": step if step is None else int(step), **values}
        logged.append(entry)
        # A diverging run logs NaN or infinity: the event carries null, the chart a gap.
        channel.send(events.Metric(step=entry["step"], values=values))

    def progress(done: int, total: int, label: str = "") -> None:
        channel.send(events.Progress(done=int(done), total=int(total), label=str(label)[:80]))

    from engine.jobs import toy

    api.log = log  # type: ignore[attr-defined]
    api.progress = progress  # type: ignore[attr-defined]
    api.data = toy  # type: ignore[attr-defined]
    return api


# --- tracebacks trimmed to the learner's own lines -------------------------------------------


def learner_traceback(exc: BaseException, filename: str) -> dict[str, Any]:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    lines = [f"  line {f.lineno}, in {f.name}\n    {(f.line or '').strip()}" for f in frames]
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {
        "type": type(exc).__name__,
        "message": str(exc)[:2000],
        "errno": getattr(exc, "errno", None) if isinstance(exc, OSError) else None,
        "traceback": "\n".join(lines + [summary])[:8000],
        "line": frames[-1].lineno if frames else None,
    }


# --- confinement -------------------------------------------------------------------------------


def confine_kernel(work_dir: str, gpu: bool = False) -> dict[str, str]:
    """The layers that need only the work folder: no_new_privs, Landlock, seccomp.

    A forked child applies them while it waits for its request (the folder is
    made before the fork), so a check does not pay for them; a spawned child
    applies them with the rest in `apply_layers`.
    """
    layers: dict[str, str] = {}
    try:
        syscalls.no_new_privs()
    except OSError as exc:
        layers["no_new_privs"] = f"unavailable: {exc}"
    devices = confine.gpu_devices() if gpu else []
    for name, apply in (
        ("landlock", lambda: landlock.install_landlock(work_dir, devices)),
        ("seccomp", lambda: seccomp.install_seccomp(gpu=gpu)),
    ):
        try:
            apply()
            layers[name] = "active"
        except OSError as exc:
            layers[name] = f"unavailable: {exc.strerror or exc}"
    return layers


def apply_layers(request: CheckRequest, channel: Channel, kernel: dict[str, str] | None = None) -> dict[str, str]:
    """Apply every layer we can (the kernel ones unless already in place); say which took."""
    layers: dict[str, str] = {}
    if os.environ.get(confine.BWRAP_ENV) == "1":
        layers["bubblewrap"] = "active"
    limits = confine.ResourceLimits(seconds=request.seconds, memory_bytes=request.memory_mb << 20)
    confine.apply_rlimits(limits, address_space=not request.gpu)
    if not request.gpu:
        confine.cap_torch_threads()
    layers["rlimits"] = "active"
    confine.install_audit_hook(request.work_dir, lambda kind, detail: channel.send(events.Violation(kind=kind, detail=detail)))
    layers["audit hook"] = "active"
    layers.update(kernel if kernel is not None else confine_kernel(request.work_dir, request.gpu))
    return layers


# --- the run -----------------------------------------------------------------------------------


def _enter_work_dir(request: CheckRequest) -> None:
    from engine import paths

    # Datasets stay where they are (read-only) though HOME moves to the work folder.
    if paths.DATASETS_ENV not in os.environ:  # the warm runner found it once, before forking
        os.environ[paths.DATASETS_ENV] = str(paths.datasets_dir())
    os.chdir(request.work_dir)
    os.environ.update(TMPDIR=request.work_dir, HOME=request.work_dir)
    import tempfile

    tempfile.tempdir = request.work_dir  # tempfile caches its folder: point it at the writable one
    sys.dont_write_bytecode = True
    sys.argv = [request.filename]


def execute(request: CheckRequest, channel: Channel, kernel: dict[str, str] | None = None) -> None:
    """Run the learner's module, then every case of every check, sending events as it goes."""
    filename = request.filename or "<your code>"
    token = channel.token
    _enter_work_dir(request)
    logged: list[dict[str, Any]] = []
    api = _learner_api(channel, logged)
    mods = Modules()  # bound now: the learner's code may patch imports later

    channel.send(events.Started())  # the parent's clock for the time limit starts now, not at spawn
    channel.started = _clock()
    if request.confine:
        channel.send(events.SandboxLayers(layers=apply_layers(request, channel, kernel)))
    sys.modules["tutor"] = api

    seed_everything(request.module_seed, mods)
    module = types.ModuleType(LEARNER_MODULE)
    module.__dict__.update({"__name__": LEARNER_MODULE, "__file__": filename, "__builtins__": builtins})
    sys.modules[LEARNER_MODULE] = module
    # Tracebacks quote lines through linecache, which would read `filename` from disk: the sandbox may
    # forbid that, and the editor's text can be newer than the file. Quote the code that actually runs.
    linecache.cache[filename] = (len(request.code), None, request.code.splitlines(True), filename)
    wanted = request.trace
    tracer = ShapeTracer(filename) if wanted is not None else None
    try:
        with tracer if tracer is not None and "check" not in wanted else nullcontext():
            exec(compile(request.code, filename, "exec"), module.__dict__)
    except BaseException as exc:  # SystemExit included: exiting early is not passing
        channel.send(events.ModuleError(token=token, error=learner_traceback(exc, filename)))
        _send_trace(channel, tracer)
        _finish(channel)
        return
    channel.send(events.Loaded(token=token))
    if request.timing is not None:
        channel.send(_time_scale_case(request.timing, module.__dict__, mods, logged, request.params))
        _finish(channel)
        return
    for index, check in enumerate(request.checks):
        for case_index, case in enumerate(check["cases"]):
            if wanted is not None and (wanted.get("check"), wanted.get("case")) != (index, case_index):
                continue  # a traced run replays the one failing case only
            logged.clear()
            ns = {**module.__dict__, **helpers(mods, int(case["seed"]), logged), **request.params, **case["params"]}
            with tracer if tracer is not None and "check" in wanted else nullcontext():
                result = _run_case(token, mods, ns, index, case_index, check, int(case["seed"]), filename)
            channel.send(result)
    _send_trace(channel, tracer)
    _finish(channel)


def _time_scale_case(timing: dict[str, Any], names: dict[str, Any], mods: Modules, logged: list[dict[str, Any]],
                     params: dict[str, Any]) -> events.Timing:  # fmt: skip
    """The best time of the lesson's scale-up call on inputs built once (building them is not timed)."""
    try:
        seed = int(timing.get("seed", 0))
        seed_everything(seed, mods)
        ns = {**names, **helpers(mods, seed, logged), **params, **timing.get("params", {})}
        for name, expr in timing.get("inputs", []):
            ns[name] = eval(expr, ns)
        code = compile(timing["expr"], "<scale>", "eval")
        best_ms, runs = best_time(lambda: eval(code, ns))
        return events.Timing(best_ms=round(best_ms, 4), runs=runs)
    except BaseException as exc:  # a passing solution that fails at scale: say so, never a verdict
        return events.Timing(error=f"{type(exc).__name__}: {str(exc)[:200]}")


def _send_trace(channel: Channel, tracer: ShapeTracer | None) -> None:
    if tracer is not None:
        channel.send(events.Trace(entries=tracer.result(), capped=tracer.capped))


def _finish(channel: Channel) -> None:
    """Flush the learner's output first: after `done` the parent stops listening."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    elapsed_ms = (_clock() - channel.started) * 1000 if channel.started is not None else 0.0
    channel.send(events.Done(token=channel.token, elapsed_ms=round(elapsed_ms, 3)))


def _run_case(
    token: str, mods: Modules, ns: dict[str, Any], index: int, case_index: int, check: dict[str, Any], seed: int,
    filename: str,
) -> events.Result:  # fmt: skip
    """One case: the inputs, the expression (and `same_as`), encoded; or the error they raised."""
    try:
        seed_everything(seed, mods)
        for name, expr in check.get("inputs", []):
            ns[name] = eval(expr, ns)
        out = io.StringIO()
        if check.get("stdout"):
            with redirect_stdout(out):
                value = eval(check["expr"], ns)
        else:
            value = eval(check["expr"], ns)
        other = codec.encode(eval(check["same_as"], ns)) if check.get("same_as") else None
        return events.Result(
            token=token, check=index, case=case_index, value=codec.encode(value), other=other,
            stdout=out.getvalue()[:100_000] if check.get("stdout") else None,
        )  # fmt: skip
    except BaseException as exc:
        return events.Result(token=token, check=index, case=case_index, error=learner_traceback(exc, filename))


def serve(request_fd: int, event_fd: int = EVENT_FD, work_dir: str | None = None) -> None:
    """Entry point of a child: read one request, run it, exit.

    A pre-forked child knows its work folder in advance (`work_dir`) and confines
    itself to it before the request arrives; the request must then name that folder.
    """
    failed: BaseException | None = None
    try:
        kernel = confine_kernel(work_dir) if work_dir else None
    except BaseException as exc:  # reported once the request (and its token) is here: never a pass
        kernel, failed = None, exc
    with os.fdopen(request_fd, "rb") as f:
        request = CheckRequest.from_json(f.read())
    # A private copy of the channel, so closing or replacing fd 3 changes nothing for us.
    channel = Channel(os.dup(event_fd), request.token)
    try:
        if failed is not None:
            raise failed
        if work_dir and (request.work_dir != work_dir or request.gpu or not request.confine):
            raise RuntimeError("this child was confined for another kind of request")
        execute(request, channel, kernel)
    except BaseException as exc:  # the probe itself failed: report, never pass
        try:
            channel.send(events.ProbeError(error=f"{type(exc).__name__}: {exc}"))
        except BaseException:
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(0)
