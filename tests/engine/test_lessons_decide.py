"""Every lesson decides: the starter fails, the reference passes, each decoy fails naming its mistake."""

from __future__ import annotations

import pytest

from engine.checks.selftest import dev_check, variants_to_try
from engine.lessons.loader import load_catalog
from tests.conftest import ensure_dataset, run_cli

pytestmark = pytest.mark.slow


def _variants(lesson):
    # Drills are cheap: three draws of their params and hidden inputs (`tutor dev check` tries as many).  Training lessons: two.  A lesson
    # on a real dataset trains it in full for the reference, every decoy and every alternative (up to a
    # minute a variant here): one variant in the suite, the three of `tutor dev check` when it is edited;
    # scripts/gpu-check.sh runs the GPU-preferring one on a GPU.
    if lesson.requires.device != "cpu" or lesson.requires.dataset:
        return [0]
    return variants_to_try(lesson, 3 if lesson.kind == "drill" else 2)


def _heaviest_first(item) -> int:
    # pytest-xdist hands tests out in order: the long real-dataset self-tests go first, so that no
    # worker is left running one alone at the end while the other sits idle.
    requires = item.lesson.requires
    return 0 if requires.device != "cpu" else 1 if requires.dataset else 2


# A GPU-preferring lesson trains real MNIST several times (reference, decoys, alternatives) on the CPU here.
CASES = [
    pytest.param(item.lesson, v, id=f"{item.lesson.id}@{v}",
                 marks=[pytest.mark.timeout(1200)] if item.lesson.requires.device != "cpu" else [])
    for item in sorted(load_catalog().lessons, key=_heaviest_first)
    for v in _variants(item.lesson)
]  # fmt: skip


@pytest.mark.parametrize(("lesson", "variant"), CASES)
def test_lesson_decides(checker, lesson, variant):
    if lesson.requires.dataset:
        ensure_dataset(lesson.requires.dataset)
    report = dev_check(checker, lesson, variant)
    assert report.ok, "\n".join(report.problems)
    assert lesson.decoys, "every lesson needs decoys"
    assert lesson.quiz is not None or lesson.alternatives, (
        "every lesson needs an alternative (a right answer written differently)"
    )


def test_dev_check_command_reports_a_lesson_whose_decoy_passes(tmp_path):
    pack = tmp_path / "weak"
    pack.mkdir()
    (pack / "weak.yaml").write_text(
        """
id: weak/sum
title: A weak check
track: weak
kind: drill
skills: [reductions]
source: {seed: none, section: tests}
minutes: 1
task: Write total(x) returning the sum of x.
starter: "def total(x):\\n    ...\\n"
solution: "def total(x):\\n    return x.sum()\\n"
decoys:
  - mistake: returned the mean
    replace: [["x.sum()", "x.mean()"]]
alternatives:
  - note: torch.sum, kept as a 1-element tensor
    replace: [["x.sum()", "x.sum(dim=0, keepdim=True)"]]
hints: [a, b]
checks:
  - name: shape only
    expr: total(x).shape
    inputs: {x: randn(5)}
"""
    )
    out = run_cli("dev", "check", "weak/sum", "--lessons", str(pack))
    assert out.returncode == 1
    assert "decoy passes: returned the mean" in out.stdout
    assert "alternative 'torch.sum, kept as a 1-element tensor' fails" in out.stdout


def test_dev_check_reports_a_scale_up_case_that_does_not_run(checker):
    # A scale-up case only gives advice after a pass, so nothing else would notice it failing.
    lesson = next(item.lesson for item in load_catalog().lessons if item.lesson.id == "manual-ml/softmax-cross-entropy")
    broken = lesson.model_copy(update={"scale": lesson.scale.model_copy(update={"expr": "stable_softmax(Z, 3)"})})
    assert "the scale-up case does not run on the reference" in " ".join(dev_check(checker, broken, 0).problems)
    assert dev_check(checker, lesson, 0).ok
