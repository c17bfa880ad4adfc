"""The speed note's wording and its noise guard, without running anything."""

from __future__ import annotations

from engine.feedback.speed import best_time, likely_cause, speed_note

LOOP = "import torch\n\ndef f(x):\n    out = []\n    for row in x:\n        out.append(row.sum().item())\n    return torch.tensor(out)\n"


def test_a_large_gap_is_reported_with_the_loop_that_causes_it():
    note = speed_note(12.4, 0.33, "4000 × 256", LOOP)
    assert note == (
        "correct, but 38× slower than a vectorised solution (12.4 ms vs 0.33 ms on 4000 × 256): "
        "the Python loop on line 5, calling .item() on each element, runs once per element where one tensor operation would do"
    )


def test_small_gaps_and_noise_are_not_findings():
    assert speed_note(1.2, 0.3, "n", LOOP) is None  # 4× but under the ratio
    assert speed_note(0.9, 0.1, "n", LOOP) is None  # 9× yet under 2 ms apart: noise at this size
    assert speed_note(30.0, 0.0, "n", LOOP) is None  # no reference figure: no claim


def test_the_cause_names_a_comprehension_or_nothing():
    assert likely_cause("def f(x):\n    return sum([v for v in x])\n").startswith("the comprehension on line 2")
    assert likely_cause("def f(x):\n    return x.sum()\n") is None
    assert likely_cause("def f(:\n") is None


def test_best_time_keeps_the_fastest_call_and_stops_within_its_budget():
    delays = iter([0.05, 0.01, 0.02] + [0.01] * 10)
    import time

    best, runs = best_time(lambda: time.sleep(next(delays)), budget_s=0.2, most=5)
    assert 9 <= best < 30 and runs == 5  # the cold first call (50 ms) does not decide
    slow_best, slow_runs = best_time(lambda: time.sleep(0.15), budget_s=0.2)
    assert slow_runs == 1 and slow_best >= 150  # one call over half the budget: no second
