"""The checks library on a lesson that uses every kind of check, right and wrong."""

from __future__ import annotations

import textwrap

import pytest

from engine.events import Metric
from engine.lessons.format import Lesson

SOLUTION = textwrap.dedent(
    """
    import torch
    import tutor


    def loss(X):
        Xs = (X - X.mean(0)) / X.std(0)
        return (Xs ** 2).mean()


    def fit(steps):
        torch.manual_seed(0)
        w = torch.zeros(3, requires_grad=True)
        target = torch.tensor([1.0, -2.0, 0.5])
        losses = []
        for step in range(steps):
            l = ((w - target) ** 2).sum()
            l.backward()
            with torch.no_grad():
                w -= 0.1 * w.grad
            w.grad.zero_()
            losses.append(l.item())
            tutor.log(step=step, loss=l.item())
        return losses


    def accumulated(X, y, w):
        g = torch.zeros_like(w)
        for part_X, part_y in zip(X.chunk(4), y.chunk(4)):
            wi = w.clone().requires_grad_(True)
            ((part_X @ wi - part_y) ** 2).mean().backward()
            g += wi.grad / 4
        return g


    def big_batch(X, y, w):
        wi = w.clone().requires_grad_(True)
        ((X @ wi - y) ** 2).mean().backward()
        return wi.grad


    def report(values):
        print(f"min={min(values):.2f} max={max(values):.2f}")
    """
)

LESSON = Lesson.model_validate(
    {
        "id": "lib/everything",
        "title": "Every kind of check",
        "track": "lib",
        "kind": "application",
        "skills": ["creation"],
        "source": {"seed": "tests", "section": "checks library"},
        "minutes": 1,
        "task": "Exercise every check kind.",
        "starter": "import torch\n",
        "solution": SOLUTION,
        "hints": ["a", "b"],
        "constraints": {"banned": ["torch.optim"]},
        "checks": [
            {
                "name": "gradient reaches X and is not zero",
                "expr": "grad_of(loss, X)",
                "inputs": {"X": "randn(n, d)"},
                "cases": [{"n": 6, "d": 3}, {"n": {"between": [5, 20]}, "d": 4}],
                "expect": {"nonzero": True, "finite": True},
            },
            {
                "name": "analytic and numerical gradients agree",
                "expr": "float((grad_of(loss, X).double() - numgrad(loss, X)).abs().max())",
                "inputs": {"X": "randn(5, 2, dtype=torch.float64)"},
                "expect": {"reference": False, "max": 1e-5},
            },
            {"name": "the loss curve falls", "expr": "fit(30)", "expect": {"reference": False, "curve": {"decreases_by": 100}}},
            {
                "name": "the logged losses match the returned ones",
                "expr": "metric('loss')",
                "inputs": {"_": "fit(5)"},
                "expect": {"same_as": "fit(5)", "reference": False},
            },
            {
                "name": "four accumulated micro-batches equal one big batch",
                "expr": "accumulated(X, y, w)",
                "inputs": {"X": "randn(16, 3)", "y": "randn(16)", "w": "randn(3)"},
                "expect": {"same_as": "big_batch(X, y, w)", "reference": False, "tolerance": {"rtol": 1e-4, "atol": 1e-6}},
            },
            {"name": "the report is printed", "expr": "report([1.0, 2.5])", "stdout": "reference"},
        ],
    }
)


def test_the_solution_passes_and_streams_its_metrics(checker):
    events = []
    verdict = checker.check(LESSON, SOLUTION, sink=events.append)
    assert verdict.passed, verdict.to_json()
    metrics = [e for e in events if isinstance(e, Metric)]
    assert len(metrics) >= 30 and metrics[0].values["loss"] > metrics[29].values["loss"]


@pytest.mark.parametrize(
    ("old", "new", "failing", "words"),
    [
        (
            "return (Xs ** 2).mean()",
            "return (Xs.detach() ** 2).mean()",
            "gradient reaches X",
            "element 0 of tensors does not require grad",
        ),
        ("w -= 0.1 * w.grad", "w -= 0.0001 * w.grad", "the loss curve falls", "fall by a factor"),
        ("g += wi.grad / 4", "g += wi.grad", "four accumulated", "disagree"),
        ("max={max(values):.2f}", "max={max(values):.1f}", "the report is printed", "printed output differs"),
        ("tutor.log(step=step, loss=l.item())", "tutor.log(step=step, loss=2 * l.item())", "the logged losses", "disagree"),
    ],
)
def test_each_mistake_fails_the_check_that_covers_it(checker, old, new, failing, words):
    assert old in SOLUTION
    verdict = checker.check(LESSON, SOLUTION.replace(old, new))
    assert not verdict.passed
    bad = [c for c in verdict.checks if not c.passed]
    assert any(c.name.startswith(failing) and words in c.message for c in bad), [(c.name, c.message) for c in bad]


def test_a_banned_module_fails_statically(checker):
    verdict = checker.check(LESSON, "import torch.optim as optim\n" + SOLUTION)
    assert not verdict.passed
    assert verdict.checks[0].name == "rule: banned" and "`torch.optim` is not allowed" in verdict.checks[0].message


def test_a_failure_of_the_checker_itself_is_never_blamed_on_the_learner(checker):
    """A child that cannot serve the request reports a probe error: the verdict says the checker failed."""
    from engine.checks.outcome import collect
    from engine.sandbox.request import CheckRequest

    # A forked child is confined for plain requests only; one that asks otherwise is refused by the probe.
    run = checker.runner.start(CheckRequest(code="x = 1\n", confine=False))
    outcome = collect(run.events(), run.token)
    assert outcome.probe_error and "another kind of request" in outcome.probe_error
    problem = outcome.problem(run.request)
    assert problem.startswith("the checker itself failed, not your code")
