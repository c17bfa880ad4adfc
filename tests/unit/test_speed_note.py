"""The speed note's wording and its noise guard, without running anything."""

from __future__ import annotations

from engine.feedback.speed import best_time, likely_cause, speed_note, training_cause

LOOP = "import torch\n\ndef f(x):\n    out = []\n    for row in x:\n        out.append(row.sum().item())\n    return torch.tensor(out)\n"


def test_a_large_gap_is_reported_with_the_loop_that_causes_it():
    note = speed_note(12.4, 0.33, "4000 × 256", LOOP)
    assert note == (
        "correct, but 38× slower than a vectorised solution (12.4 ms vs 0.33 ms on 4000 × 256): "
        "the Python loop over the rows of x on line 5, calling .item() on each element, "
        "runs once per row where one tensor operation would do"
    )


def test_slow_code_with_no_loop_is_compared_with_the_reference_not_called_unvectorised():
    broadcast = "def f(V):\n    return (V[:, None, :] * V[None, :, :]).sum(-1)\n"
    assert speed_note(127.7, 2.46, "a 400 × 400 matrix", broadcast) == (
        "correct, but 52× slower than the reference (127.7 ms vs 2.46 ms on a 400 × 400 matrix); "
        "now that it passes, compare it with the reference"
    )


def test_small_gaps_and_noise_are_not_findings():
    assert speed_note(1.2, 0.3, "n", LOOP) is None  # 4× but under the ratio
    assert speed_note(0.9, 0.1, "n", LOOP) is None  # 9× yet under 2 ms apart: noise at this size
    assert speed_note(30.0, 0.0, "n", LOOP) is None  # no reference figure: no claim


def test_the_cause_says_what_the_loop_walks():
    def cause(loop: str) -> str:
        return likely_cause(f"def f(X):\n    out = 0\n    {loop}:\n        out = out + 1\n    return out\n")

    assert cause("for i in range(len(X))").startswith("the Python loop over the rows of X on line 3")
    assert cause("for j in range(X.shape[1])").startswith("the Python loop over dim 1 of X on line 3")
    assert "runs once per index" in cause("for j in range(X.size(-1))")
    assert cause("for i in range(X.numel())").startswith("the Python loop over every element of X")
    assert cause("while out < 3").startswith("the Python loop on line 3") and "once per item" in cause("while out < 3")


def test_the_cause_names_a_comprehension_or_nothing():
    assert likely_cause("def f(x):\n    return sum([v for v in x])\n").startswith(
        "the comprehension over the rows of x on line 2"
    )
    assert likely_cause("def f(x):\n    return x.sum()\n") is None
    assert likely_cause("def f(:\n") is None


def test_best_time_keeps_the_fastest_call_and_stops_within_its_budget():
    delays = iter([0.05, 0.01, 0.02] + [0.01] * 10)
    import time

    best, runs = best_time(lambda: time.sleep(next(delays)), budget_s=0.2, most=5)
    assert 9 <= best < 30 and runs == 5  # the cold first call (50 ms) does not decide
    slow_best, slow_runs = best_time(lambda: time.sleep(0.15), budget_s=0.2)
    assert slow_runs == 1 and slow_best >= 150  # one call over half the budget: no second


TRAIN = """\
import torch
from torch.utils.data import DataLoader, TensorDataset


def fit(model, X, y, epochs):
    for epoch in range(epochs):
        loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for xb, yb in loader:
            opt.zero_grad()
            model(xb).sum().backward()
            opt.step()
"""


def test_a_slow_training_call_is_reported_as_throughput_with_its_cause():
    note = speed_note(400.0, 100.0, "3 epochs over 4,000 rows", TRAIN, samples=12000)
    assert note == (
        "correct, but trains 4.0× slower than the reference (30,000 samples/s vs 120,000 samples/s on 3 epochs over 4,000 rows): "
        "a DataLoader is built inside the loop on line 6, once per pass; build it once before the loop"
    )
    assert speed_note(130.0, 100.0, "r", TRAIN, samples=12000) is None  # 1.3×: within what a training loop varies by


def test_training_causes_name_the_rebuilt_optimizer_and_the_row_by_row_loop():
    no_loader = TRAIN.replace("        loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)\n", "")
    assert training_cause(no_loader) == "the optimizer is rebuilt inside the loop on line 6; build it once before the loop"
    rows = "def evaluate(model, loader):\n    for xb, yb in loader:\n        for i in range(len(xb)):\n            model(xb[i:i + 1])\n"
    assert training_cause(rows).startswith("the loop on line 3 runs one row at a time")
    usual = "def fit(model, loader, opt):\n    for xb, yb in loader:\n        opt.zero_grad()\n        model(xb).sum().backward()\n        opt.step()\n"
    assert training_cause(usual) is None
    assert (
        training_cause("def make():\n    for lr in (0.1, 0.01):\n        def build(p):\n            return SGD(p, lr)\n") is None
    )
