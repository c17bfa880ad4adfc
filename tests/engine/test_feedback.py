"""Feedback beyond the verdict, on real submissions through the sandbox: the shape trace."""

from __future__ import annotations

import textwrap

import pytest

from engine.lessons.loader import load_catalog
from engine.lessons.variants import instantiate

pytestmark = pytest.mark.slow

DISTANCE = "broadcasting/distance-matrix"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _lesson(catalog, lesson_id):
    return catalog.get(lesson_id).lesson


def test_a_wrong_broadcast_is_traced_to_the_shape_that_went_wrong(checker, catalog):
    lesson = _lesson(catalog, "manual-ml/standardize-columns")
    code = textwrap.dedent(
        """
        import torch


        def standardize(X, eps=1e-8):
            mean = X.mean(dim=1)
            std = X.std(dim=0, unbiased=False)
            return (X - mean) / (std + eps)
        """
    )
    verdict = checker.check(lesson, code)
    assert not verdict.passed
    rows = {(e["line"], e["name"]): e for e in verdict.trace}
    assert rows[(6, "mean")]["shape"] == [3] and rows[(6, "mean")]["dtype"] == "float32"  # a mean per row, not per column
    assert rows[(7, "std")]["shape"] == [2]
    assert rows[(8, "raises")]["error"] == "RuntimeError"
    assert verdict.trace_of == verdict.first_failure.name
    assert "trace" in verdict.to_json() and verdict.to_json()["trace"] == verdict.trace


def test_a_wrong_result_shape_is_traced_line_by_line_and_the_verdict_is_unchanged(checker, catalog):
    lesson = _lesson(catalog, "manual-ml/standardize-columns")
    code = textwrap.dedent(
        """
        import torch


        def standardize(X, eps=1e-8):
            centred = X - X.mean(dim=0, keepdim=True)
            scale = X.std(dim=0, unbiased=False) + eps
            return (centred / scale).sum(0)
        """
    )
    verdict = checker.check(lesson, code)
    untraced = checker.check(lesson, code, reuse=True)  # the self-test's path: no replay
    assert not untraced.trace and [c.passed for c in untraced.checks] == [c.passed for c in verdict.checks]
    returned = next(e for e in verdict.trace if e["name"] == "return")
    assert returned["line"] == 8 and len(returned["shape"]) == 1
    assert next(e for e in verdict.trace if e["name"] == "centred")["shape"] == [3, 2]


def test_a_passing_check_runs_no_trace(checker, catalog):
    lesson = _lesson(catalog, "manual-ml/standardize-columns")
    verdict = checker.check(lesson, instantiate(lesson, 0)[0].solution)
    assert verdict.passed and verdict.trace == [] and verdict.trace_of is None


def test_a_module_that_raises_is_traced_at_the_top_level(checker, catalog):
    lesson = _lesson(catalog, "manual-ml/standardize-columns")
    code = "import torch\nw = torch.ones(3, 4)\nv = torch.ones(5)\nprint(w @ v)\n"
    verdict = checker.check(lesson, code)
    assert verdict.trace_of == "your module"
    assert [(e["line"], e["name"], e.get("shape") or e.get("error")) for e in verdict.trace] == [
        (2, "w", [3, 4]), (3, "v", [5]), (4, "raises", "RuntimeError"),
    ]  # fmt: skip


def test_a_loop_is_traced_once_per_line_with_its_count(checker, catalog):
    lesson = _lesson(catalog, "manual-ml/standardize-columns")
    code = textwrap.dedent(
        """
        import torch


        def standardize(X, eps=1e-8):
            out = X.clone()
            for _ in range(3000):
                out = out * 1.0
            return out
        """
    )
    verdict = checker.check(lesson, code)
    loop = next(e for e in verdict.trace if e["name"] == "out" and e["line"] == 8)
    assert loop["count"] == 3000  # one row for the line, however often it ran


def test_the_trace_stops_itself_on_a_long_loop_and_keeps_few_rows():
    from engine.feedback.trace import MAX_ENTRIES, MAX_LINE_EVENTS, ShapeTracer

    code = "import torch\ndef f(n):\n    x = torch.ones(2)\n    for i in range(n):\n        x = x + 1\n"
    code += "".join(f"        v{i} = torch.zeros({i + 1})\n" for i in range(MAX_ENTRIES + 10))
    code += "    return x\n"
    ns: dict = {}
    exec(compile(code, "<learner>", "exec"), ns)
    with ShapeTracer("<learner>") as tracer:
        ns["f"](MAX_LINE_EVENTS // 100)
    assert tracer.capped and len(tracer.result()) == MAX_ENTRIES


SIGMOID = "manual-ml/stable-sigmoid-bce"
LOOPED_SIGMOID = """def stable_sigmoid(z):
    flat = z.reshape(-1)
    out = torch.empty_like(flat)
    for i in range(flat.numel()):
        v = flat[i]
        out[i] = 1 / (1 + torch.exp(-v)) if v >= 0 else torch.exp(v) / (1 + torch.exp(v))
    return out.reshape(z.shape)"""


def test_a_loop_based_correct_solution_gets_a_speed_note_and_the_vectorised_one_does_not(checker, catalog):
    lesson = _lesson(catalog, SIGMOID)
    reference = instantiate(lesson, 0)[0].solution
    head, _, tail = reference.partition("def stable_sigmoid(z):")
    looped = head + LOOPED_SIGMOID + "\n\n\ndef bce_with_logits" + tail.split("def bce_with_logits", 1)[1]
    assert checker.check(lesson, looped).passed  # correct: the note never fails a check
    slow = checker.speed(lesson, looped)
    assert slow["mine_ms"] > 5 * slow["reference_ms"]
    line = looped.splitlines().index("    for i in range(flat.numel()):") + 1
    assert (
        slow["note"].startswith("correct, but ") and f"the Python loop over every element of flat on line {line}" in slow["note"]
    )
    assert "50,000 logits" in slow["note"]
    fast = checker.speed(lesson, reference)
    assert fast["note"] is None and fast["mine_ms"] > 0
    assert checker.speed(_lesson(catalog, "broadcasting/grid"), "") is None  # no scale-up case: no timing


def test_the_scale_up_case_is_built_from_the_variants_params(checker, catalog):
    # The softmax lesson's scale-up input lays the classes along the variant's dim ({{dim}} in its inputs).
    lesson = _lesson(catalog, "manual-ml/softmax-cross-entropy")
    rendered, params = instantiate(lesson, 1)
    head, _, tail = rendered.solution.partition("def stable_softmax(Z):")
    across = 1 - params["dim"]
    looped = head + (
        "def stable_softmax(Z):\n"
        f"    Z = Z / {params['T']}\n"
        "    out = torch.empty_like(Z)\n"
        f"    for i in range(Z.shape[{across}]):\n"
        f"        z = Z.select({across}, i)\n"
        "        e = torch.exp(z - z.max())\n"
        f"        out.select({across}, i).copy_(e / e.sum())\n"
        "    return out\n\n\ndef cross_entropy" + tail.split("def cross_entropy", 1)[1]
    )
    assert checker.check(lesson, looped, variant=1).passed
    slow = checker.speed(lesson, looped, variant=1)
    assert slow is not None and slow["mine_ms"] > 5 * slow["reference_ms"]
    assert "4000 × 256 logits" in slow["note"] and f"the Python loop over dim {across} of Z on line 7" in slow["note"]


def test_a_training_call_that_goes_row_by_row_is_reported_in_samples_per_second(checker, catalog):
    lesson = _lesson(catalog, "loops/train-val")
    reference = instantiate(lesson, 0)[0].solution
    batched = "            total += criterion(model(xb), yb).item() * len(xb)\n            count += len(xb)\n"
    by_row = (
        "            for i in range(len(xb)):\n"
        "                total += criterion(model(xb[i:i + 1]), yb[i:i + 1]).item()\n"
        "                count += 1\n"
    )
    slow_code = reference.replace(batched, by_row)
    assert slow_code != reference and checker.check(lesson, slow_code).passed
    slow = checker.speed(lesson, slow_code)
    assert slow["samples"] == 12000 and slow["mine_ms"] > slow["reference_ms"]
    line = slow_code.splitlines().index("            for i in range(len(xb)):") + 1
    assert "samples/s" in slow["note"] and f"the loop on line {line} runs one row at a time" in slow["note"]


# --- errors in plain words and notes on how the code is written, through the checker ---------------------------


def test_a_raised_error_gets_its_paragraph_on_the_learners_line(checker, catalog):
    lesson = _lesson(catalog, "manual-ml/ridge-loss-and-batches")
    code = textwrap.dedent(
        """
        import torch


        def ridge_loss(X, y, w, b, lam=1e-2):
            pred = X @ w.T + b
            return ((pred - y) ** 2).mean() + lam * (w ** 2).sum()
        """
    )
    verdict = checker.check(lesson, code)
    failed = verdict.first_failure
    assert "mat1 and mat2" in failed.message
    assert "line 6, in ridge_loss\n    pred = X @ w.T + b\n" in failed.traceback  # quoted from the code that ran
    assert failed.explanation.startswith("Line 6 (`pred = X @ w.T + b`)")
    assert ".T" in failed.explanation and "inner sizes" in failed.explanation
    assert verdict.to_json()["checks"][0]["explanation"] == failed.explanation


def test_a_module_level_error_is_explained_on_the_verdict(checker, catalog):
    lesson = _lesson(catalog, "manual-ml/standardize-columns")
    code = "import torch\nx = torch.ones(3, requires_grad=True)\nx += 1\n"
    verdict = checker.check(lesson, code)
    assert verdict.explanation is not None and verdict.explanation.startswith("Line 3 (`x += 1`)")
    assert "leaf" in verdict.explanation


def test_a_habit_gets_a_note_with_its_line_and_the_pass_stands(checker, catalog):
    lesson = _lesson(catalog, "manual-ml/standardize-columns")
    solution = instantiate(lesson, 0)[0].solution
    head, sep, body = solution.partition("def standardize(")
    signature, newline, rest = body.partition("\n")
    code = head + sep + signature + newline + "    X = torch.tensor(X)\n" + rest
    line = code.splitlines().index("    X = torch.tensor(X)") + 1
    verdict = checker.check(lesson, code)
    assert verdict.passed
    assert [(n["id"], n["line"]) for n in verdict.notes] == [("tensor-from-tensor", line)]
    assert "clone()" in verdict.notes[0]["message"]
    assert verdict.to_json()["notes"] == verdict.notes


def test_the_reference_gets_no_note_and_the_self_test_computes_none(checker, catalog):
    lesson = _lesson(catalog, "loops/train-val")
    solution = instantiate(lesson, 0)[0].solution
    assert checker.check(lesson, solution).notes == []
    habit = solution.replace("    model.eval()\n", "")
    assert [n["id"] for n in checker.check(lesson, habit).notes] == ["eval-mode"]
    assert checker.check(lesson, habit, reuse=True).notes == []
