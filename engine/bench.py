"""Benchmarks that print figures and ratios measured in one run (never timed unit tests)."""

from __future__ import annotations

import ast
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.checks.checker import Checker
from engine.feedback.notes import code_notes
from engine.lessons.loader import load_catalog
from engine.lessons.variants import instantiate
from engine.sandbox.client import Runner

DRILL = "tensors/zeros"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def check_latency(warm_runs: int = 50, cold_runs: int = 10, out=print) -> dict[str, float]:
    """Verdict latency of a trivial drill: warm runner vs a fresh interpreter per check."""
    lesson = load_catalog().get(DRILL).lesson
    rendered, _ = instantiate(lesson, 0)
    code = rendered.solution
    with Runner() as runner:
        checker = Checker(runner)
        first = checker.check(lesson, code)  # starts the runner and caches the reference
        assert first.passed, first.to_json()
        out(f"sandbox layers: {first.sandbox}")
        warm = []
        for _ in range(warm_runs):
            start = time.perf_counter()
            verdict = checker.check(lesson, code)
            warm.append((time.perf_counter() - start) * 1000)
            assert verdict.passed
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "solution.py"
        path.write_text(code)
        cold = []
        for _ in range(cold_runs):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "tutor.cli", "check", DRILL, str(path)], capture_output=True, text=True)
            cold.append((time.perf_counter() - start) * 1000)
            assert proc.returncode == 0, proc.stdout + proc.stderr
    result = {
        "warm_p50_ms": statistics.median(warm),
        "warm_p95_ms": _pct(warm, 0.95),
        "cold_p50_ms": statistics.median(cold),
    }
    result["speedup"] = result["cold_p50_ms"] / result["warm_p50_ms"]
    result["notes_max_ms"] = _notes_cost()
    out(f"warm: {warm_runs} checks through the warm runner; cold: {cold_runs} runs of `tutor check` in a fresh interpreter")
    out("notes_max_ms: the notes on how code is written, on the longest reference in the catalog (the rest of a")
    out("passing check's feedback, the shape trace and the error paragraphs, runs only after a failure)")
    out("check_latency " + " ".join(f"{k}={v:.2f}" if k != "speedup" else f"{k}={v:.0f}" for k, v in result.items()))
    return result


def _notes_cost(repeats: int = 20) -> float:
    """Best-of time of the AST notes on the catalog's longest reference solution: their cost on every F5."""
    longest = max((item.lesson.solution for item in load_catalog().lessons), key=len)
    tree = ast.parse(longest)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        code_notes(tree)
        best = min(best, (time.perf_counter() - start) * 1000)
    return best


def engine_overhead(steps: int = 400, repeats: int = 3, device: str = "cpu", out=print) -> dict[str, float]:
    """The same MLP loop on MNIST-shaped data, bare and under the engine's reporter, interleaved.

    On a GPU the reporter's cost is mostly the device sync each event forces.
    """
    import threading

    import torch
    from torch import nn

    from engine.jobs import worker as training
    from engine.jobs.models import MLP

    torch.manual_seed(0)
    x = torch.randn(steps * 64, 1, 28, 28).to(device)
    y = torch.randint(0, 10, (steps * 64,)).to(device)
    loss_fn = nn.CrossEntropyLoss()

    def once(with_engine: bool) -> float:
        torch.manual_seed(0)
        model = MLP().to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        read_fd, write_fd = os.pipe()
        reader = threading.Thread(target=lambda: [None for _ in os.fdopen(read_fd, "rb")], daemon=True)
        reader.start()
        emit = training.Emitter(write_fd if with_engine else None)
        reporter = training.Reporter(emit, device, 1, steps, 64) if with_engine else None
        start = time.perf_counter()
        training.train_steps(
            model, training._batches(x, y, 64, 0, 0), opt, loss_fn, device,
            reporter.step if reporter else None,
        )  # fmt: skip
        elapsed = time.perf_counter() - start
        os.close(write_fd)
        reader.join()
        return elapsed

    once(False)  # warm-up: allocator and kernels
    bare, engine = [], []
    for _ in range(repeats):
        bare.append(once(False))
        engine.append(once(True))
    result = {"bare_s": min(bare), "engine_s": min(engine)}
    result["ratio"] = result["engine_s"] / result["bare_s"]
    out(f"{steps} steps of an MLP on MNIST-shaped batches of 64 on {device}, best of {repeats}, bare and with events")
    out(
        f"engine_overhead device={device} bare_s={result['bare_s']:.3f} engine_s={result['engine_s']:.3f} ratio={result['ratio']:.3f}"
    )
    return result
