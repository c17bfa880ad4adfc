"""The probe: runs inside the sandboxed child, executes the learner's code, then
evaluates each check's expression on seeded inputs and sends back data only.

It decides nothing.  Every value goes to the trusted parent over the event
channel (fd 3) as JSON lines; the parent compares.  Everything the probe
relies on is bound before the learner's code runs, so later monkeypatching
cannot change how values are produced or sent.
"""

from __future__ import annotations

import builtins
import io
import json
import math
import os
import random
import sys
import traceback
import types
from contextlib import redirect_stdout
from typing import Any, Callable

from engine.sandbox import codec, confine

EVENT_FD = 3
LEARNER_MODULE = "solution"

_write = os.write
_dumps = json.dumps


class Channel:
    """JSON lines to the parent on a private copy of fd 3."""

    def __init__(self, fd: int, token: str):
        self.fd = fd
        self.token = token

    def send(self, event_type: str, /, **payload: Any) -> None:
        line = _dumps({"type": event_type, **payload}, allow_nan=False, separators=(",", ":")) + "\n"
        data = line.encode()
        while data:
            n = _write(self.fd, data)
            data = data[n:]

    def secure(self, event_type: str, /, **payload: Any) -> None:
        self.send(event_type, token=self.token, **payload)


# --- the learner-facing API: `import tutor; tutor.log(step=..., loss=...)` -------------------


def _learner_api(channel: Channel, logged: list[dict[str, Any]]) -> types.ModuleType:
    api = types.ModuleType("tutor", "What learner code may call while tutor runs it.")

    def log(step: int | None = None, **metrics: float) -> None:
        """Send metrics to the live chart: tutor.log(step=3, loss=0.25, acc=0.9)."""
        values = {k: float(v) for k, v in metrics.items()}
        entry = {"step": step if step is None else int(step), **values}
        logged.append(entry)
        # A diverging run logs NaN or infinity: the chart gets a gap (null), never a crash.
        sent = {k: (v if math.isfinite(v) else None) for k, v in values.items()}
        channel.send("metric", step=entry["step"], values=sent)

    def progress(done: int, total: int, label: str = "") -> None:
        channel.send("progress", done=int(done), total=int(total), label=str(label)[:80])

    from engine.jobs import toy

    api.log = log  # type: ignore[attr-defined]
    api.progress = progress  # type: ignore[attr-defined]
    api.data = toy  # type: ignore[attr-defined]
    return api


# --- helpers available to check expressions -----------------------------------------------


class Modules:
    """What check expressions see, imported before the learner's code can patch imports."""

    def __init__(self) -> None:
        import math

        import numpy as np
        import torch
        import torch.optim  # noqa: F401  (creating an optimizer imports torch._dynamo ...)
        import torch._dynamo  # noqa: F401  (... which, imported late, would look up users and write to /tmp)
        import torch.distributions as dist
        import torch.nn.functional as F
        from torch import nn

        self.torch, self.np, self.nn, self.F, self.dist, self.math = torch, np, nn, F, dist, math
        self.randn, self.rand, self.randint = torch.randn, torch.rand, torch.randint
        self.Generator = torch.Generator
        codec.bind_torch(torch)
        from engine.jobs import toy

        self.toy = toy


def helpers(mods: Modules, seed: int, logged: list[dict[str, Any]]) -> dict[str, Any]:
    torch = mods.torch
    gen = mods.Generator().manual_seed(seed)
    f32 = torch.float32

    def randn(*shape: int, dtype: Any = f32, requires_grad: bool = False) -> Any:
        return mods.randn(*shape, generator=gen, dtype=dtype).requires_grad_(requires_grad)

    def rand(*shape: int, dtype: Any = f32) -> Any:
        return mods.rand(*shape, generator=gen, dtype=dtype)

    def randint(low: int, high: int, shape: Any) -> Any:
        return mods.randint(low, high, tuple(shape), generator=gen)

    def grad_of(fn: Callable[..., Any], *args: Any, wrt: int = 0) -> Any:
        """The gradient of fn(*args) (summed if not scalar) with respect to args[wrt]."""
        args_ = list(args)
        args_[wrt] = args_[wrt].detach().clone().requires_grad_(True)
        out = fn(*args_)
        (out if out.dim() == 0 else out.sum()).backward()
        return args_[wrt].grad

    def numgrad(fn: Callable[[Any], Any], x: Any, eps: float = 1e-6) -> Any:
        """Central finite differences of a scalar function, in float64."""
        x = x.detach().to(torch.float64).clone()
        flat = x.view(-1)
        out = torch.zeros_like(flat)
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + eps
            hi = float(fn(x))
            flat[i] = old - eps
            lo = float(fn(x))
            flat[i] = old
            out[i] = (hi - lo) / (2 * eps)
        return out.view_as(x)

    def printed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        buf = io.StringIO()
        with redirect_stdout(buf):
            fn(*args, **kwargs)
        return buf.getvalue()

    def metric(name: str) -> list[float]:
        return [entry[name] for entry in logged if name in entry]

    def with_cuda(available: bool, fn: Callable[..., Any], *args: Any) -> Any:
        """Call fn as if a CUDA device were (or were not) present: device choice, tested anywhere."""
        real = torch.cuda.is_available
        torch.cuda.is_available = lambda: available
        try:
            return fn(*args)
        finally:
            torch.cuda.is_available = real

    def accuracy_of(model: Any, x: Any, y: Any, batch: int = 1000) -> float:
        """Share of correct argmax predictions, in eval mode, without gradients, on the model's device."""
        device = next(model.parameters()).device
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(x), batch):
                correct += int((model(x[i : i + batch].to(device)).argmax(1).cpu() == y[i : i + batch]).sum())
        return correct / max(len(x), 1)

    return {
        "torch": torch, "np": mods.np, "nn": mods.nn, "F": mods.F, "dist": mods.dist, "math": mods.math, "toy": mods.toy,
        "seed": seed, "randn": randn, "rand": rand, "randint": randint,
        "grad_of": grad_of, "numgrad": numgrad, "printed": printed, "metric": metric, "accuracy_of": accuracy_of, "with_cuda": with_cuda,
    }  # fmt: skip


def seed_everything(seed: int, mods: "Modules | None" = None) -> None:
    mods = mods or Modules()
    random.seed(seed)
    mods.np.random.seed(seed % (2**32))
    # CPU only: children are forked and must never touch CUDA.
    mods.torch._C.default_generator.manual_seed(seed)


# --- tracebacks trimmed to the learner's own lines -------------------------------------------


def learner_traceback(exc: BaseException, filename: str) -> dict[str, Any]:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    lines = [f'  line {f.lineno}, in {f.name}\n    {(f.line or "").strip()}' for f in frames]
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {
        "type": type(exc).__name__,
        "message": str(exc)[:2000],
        "errno": getattr(exc, "errno", None) if isinstance(exc, OSError) else None,
        "traceback": "\n".join(lines + [summary])[:8000],
        "line": frames[-1].lineno if frames else None,
    }


# --- the run -----------------------------------------------------------------------------------


def confine_kernel(job_dir: str, gpu: bool = False) -> dict[str, str]:
    """The layers that need only the job folder: no_new_privs, Landlock, seccomp.

    A forked child applies them while it waits for its job (the folder is made
    before the fork), so a check does not pay for them; a spawned child applies
    them with the rest in `apply_layers`.
    """
    layers: dict[str, str] = {}
    try:
        confine.no_new_privs()
    except OSError as exc:
        layers["no_new_privs"] = f"unavailable: {exc}"
    devices = confine.gpu_devices() if gpu else []
    for name, apply in (
        ("landlock", lambda: confine.install_landlock(job_dir, devices)),
        ("seccomp", lambda: confine.install_seccomp(gpu=gpu)),
    ):
        try:
            apply()
            layers[name] = "active"
        except OSError as exc:
            layers[name] = f"unavailable: {exc.strerror or exc}"
    return layers


def apply_layers(job: dict[str, Any], channel: Channel, kernel: dict[str, str] | None = None) -> dict[str, str]:
    """Apply every layer we can (the kernel ones unless already in place); say which took."""
    layers: dict[str, str] = {}
    if os.environ.get("TUTOR_BWRAP") == "1":
        layers["bubblewrap"] = "active"
    gpu = bool(job.get("gpu"))
    limits = confine.Limits(seconds=float(job["limits"]["seconds"]), memory_bytes=int(job["limits"]["memory_mb"]) << 20)
    confine.apply_rlimits(limits, address_space=not gpu)
    layers["rlimits"] = "active"
    confine.install_audit_hook(job["job_dir"], lambda kind, detail: channel.send("violation", kind=kind, detail=detail))
    layers["audit hook"] = "active"
    layers.update(kernel if kernel is not None else confine_kernel(job["job_dir"], gpu))
    return layers


def run_job(job: dict[str, Any], channel: Channel, kernel: dict[str, str] | None = None) -> None:
    filename = job.get("filename") or "<your code>"
    from engine import paths

    # Datasets stay where they are (read-only) though HOME moves to the job folder.
    if paths.DATASETS_ENV not in os.environ:  # the warm runner found it once, before forking
        os.environ[paths.DATASETS_ENV] = str(paths.datasets_dir())
    os.chdir(job["job_dir"])
    os.environ.update(TMPDIR=job["job_dir"], HOME=job["job_dir"])
    import tempfile

    tempfile.tempdir = job["job_dir"]  # tempfile caches its folder: point it at the writable one
    sys.dont_write_bytecode = True
    sys.argv = [filename]
    logged: list[dict[str, Any]] = []
    api = _learner_api(channel, logged)
    mods = Modules()  # bound now: the learner's code may patch imports later

    channel.send("started")  # the parent's clock for the time limit starts now, not at spawn
    if job.get("confine", True):
        channel.send("sandbox", layers=apply_layers(job, channel, kernel))
    sys.modules["tutor"] = api

    seed_everything(int(job.get("module_seed", 0)), mods)
    namespace: dict[str, Any] = {"__name__": LEARNER_MODULE, "__file__": filename, "__builtins__": builtins}
    module = types.ModuleType(LEARNER_MODULE)
    module.__dict__.update(namespace)
    sys.modules[LEARNER_MODULE] = module
    try:
        code = compile(job["code"], filename, "exec")
        exec(code, module.__dict__)
    except BaseException as exc:  # SystemExit included: exiting early is not passing
        channel.secure("module_error", error=learner_traceback(exc, filename))
        _finish(channel)
        return
    channel.secure("loaded")
    params = job.get("params", {})
    for index, check in enumerate(job.get("checks", [])):
        for case_index, case in enumerate(check["cases"]):
            logged.clear()
            _run_case(channel, mods, module.__dict__, params, index, case_index, check, case, logged, filename)
    _finish(channel)


def _finish(channel: Channel) -> None:
    """Flush the learner's output first: after `done` the parent stops listening."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    channel.secure("done")


def _run_case(
    channel: Channel,
    mods: Modules,
    learner: dict[str, Any],
    params: dict[str, Any],
    index: int,
    case_index: int,
    check: dict[str, Any],
    case: dict[str, Any],
    logged: list[dict[str, Any]],
    filename: str,
) -> None:
    seed = int(case["seed"])
    where = {"check": index, "case": case_index}
    try:
        seed_everything(seed, mods)
        ns = {**learner, **helpers(mods, seed, logged), **params, **case["params"]}
        for name, expr in check.get("inputs", []):
            ns[name] = eval(expr, ns)
        out = io.StringIO()
        capture = check.get("stdout", False)
        if capture:
            with redirect_stdout(out):
                value = eval(check["expr"], ns)
        else:
            value = eval(check["expr"], ns)
        payload: dict[str, Any] = {"value": codec.encode(value)}
        if check.get("same_as"):
            payload["other"] = codec.encode(eval(check["same_as"], ns))
        if capture:
            payload["stdout"] = out.getvalue()[:100_000]
    except BaseException as exc:
        channel.secure("result", **where, error=learner_traceback(exc, filename))
        return
    channel.secure("result", **where, **payload)


def serve(job_fd: int, event_fd: int = EVENT_FD, job_dir: str | None = None) -> None:
    """Entry point of a child: read one job, run it, exit.

    A pre-forked child knows its job folder in advance (`job_dir`) and confines
    itself to it before the job arrives; the job must then name that folder.
    """
    failed: BaseException | None = None
    try:
        kernel = confine_kernel(job_dir) if job_dir else None
    except BaseException as exc:  # reported once the job (and its token) is here: never a pass
        kernel, failed = None, exc
    with os.fdopen(job_fd, "rb") as f:
        raw = f.read()
    job = json.loads(raw)
    # A private copy of the channel, so closing or replacing fd 3 changes nothing for us.
    fd = os.dup(event_fd)
    channel = Channel(fd, job["token"])
    try:
        if failed is not None:
            raise failed
        if job_dir and (job.get("job_dir") != job_dir or job.get("gpu") or not job.get("confine", True)):
            raise RuntimeError("this child was confined for another kind of job")
        run_job(job, channel, kernel)
    except BaseException as exc:  # the probe itself failed: report, never pass
        try:
            channel.send("probe_error", error=f"{type(exc).__name__}: {exc}")
        except BaseException:
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(0)
