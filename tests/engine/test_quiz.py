"""Quizzes decide a typed answer against the truth the snippet gives in the sandbox, and name mistakes."""

from __future__ import annotations

from engine.checks import quiz
from engine.checks.selftest import dev_check
from engine.lessons.format import Lesson
from engine.lessons.variants import instantiate

QUIZ = Lesson.model_validate(
    {
        "id": "t/quiz", "title": "Quiz: keepdim", "track": "t", "kind": "quiz", "skills": ["reductions"],
        "source": {"seed": "s", "section": "s"}, "minutes": 1, "task": "What shape does the sum have?",
        "params": {"n": {"choice": [2, 3, 4]}, "keep": {"choice": [True, False]}},
        "starter": "", "solution": "x = torch.ones({{n}}, 5)\ny = x.sum(dim=1, keepdim={{keep}})\n",
        "quiz": {"ask": "y.shape"}, "hints": ["a", "b"],
        "decoys": [{"mistake": "thought sum keeps the summed dimension", "replace": [["keepdim={{keep}}", "keepdim=True"]]},
                   {"mistake": "summed the other dimension", "replace": [["dim=1", "dim=0"]]}],
    }
)  # fmt: skip
RAISES = QUIZ.model_copy(update={"id": "t/raises", "solution": "x = torch.ones(3, 5)\ny = x.view(4, 4)\n", "params": {},
                                 "decoys": []})  # fmt: skip


def test_the_right_answer_passes_in_any_spelling_and_a_wrong_one_names_its_mistake(checker):
    for variant in range(4):
        rendered, params = instantiate(QUIZ, variant)
        n, keep = params["n"], params["keep"]
        right = (n, 1) if keep else (n,)
        assert quiz.truth(checker, QUIZ, variant) == ["shape", list(right)]
        assert quiz.decide(checker, QUIZ, str(right), variant).passed
        assert quiz.decide(checker, QUIZ, ", ".join(map(str, right)), variant).passed
        other = quiz.decide(checker, QUIZ, "(5,)" if not keep else "(1, 5)", variant)
        assert not other.passed and other.checks[0].mistake == "summed the other dimension"
        if not keep:
            kept = quiz.decide(checker, QUIZ, f"({n}, 1)", variant)
            assert kept.checks[0].mistake == "thought sum keeps the summed dimension"
            assert kept.checks[0].expected == f"({n},)" and kept.checks[0].actual == f"({n}, 1)"


def test_a_snippet_that_raises_is_answered_with_the_error_type(checker):
    assert quiz.truth(checker, RAISES, 0) == ["error", "RuntimeError"]
    assert quiz.decide(checker, RAISES, "error: RuntimeError", 0).passed
    assert not quiz.decide(checker, RAISES, "(4, 4)", 0).passed  # a shape where it raises: wrong, not unreadable
    unnamed = quiz.decide(checker, RAISES, "error", 0)
    assert not unnamed.passed and "name the error's type" in unnamed.checks[0].message


def test_the_answer_is_never_run(checker, tmp_path):
    marker = tmp_path / "ran"
    verdict = quiz.decide(checker, QUIZ, f"open({str(marker)!r}, 'w')", 0)
    assert not verdict.passed and not marker.exists()


def test_the_self_test_holds_for_a_quiz_and_lets_a_decoy_that_gives_the_truth_go_unnamed(checker):
    assert dev_check(checker, QUIZ, 0).ok and dev_check(checker, QUIZ, 1).ok
    harmless = QUIZ.model_copy(update={"decoys": [QUIZ.decoys[0].model_copy(update={"replace": [("x =", "x  =")]})]})
    report = dev_check(checker, harmless, 0)
    assert report.ok  # the same answer as the truth: nothing a learner could be told, so nothing to name
