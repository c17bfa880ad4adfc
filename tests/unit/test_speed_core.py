"""Speed mode's headless core: scores, sprints, retrying what was missed, the listing."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

from engine.lessons.loader import load_catalog
from tests.conftest import DATA, ROOT
from tutor.core import timed as speed


def verdict(*results: bool):
    checks = [SimpleNamespace(name=f"c{i}", passed=ok) for i, ok in enumerate(results)]
    return SimpleNamespace(passed=all(results), checks=checks)


def test_splits_score_and_time_to_green():
    attempt = speed.Attempt("x", "challenge", 100, [speed.Item("x")], started=0.0)
    attempt.record(verdict(True, False), 10.0)
    attempt.record(verdict(True, True), 40.0)
    assert attempt.splits == {"c0": 10.0, "c1": 40.0}
    assert attempt.done and attempt.time_to_green == 40.0
    assert attempt.score() == round(100 + 50 * 0.6 - 5)


def test_a_syntax_error_costs_a_run_but_adds_no_split():
    attempt = speed.Attempt("x", "challenge", 100, [speed.Item("x")], started=0.0, check_names=["c0"])
    attempt.record(SimpleNamespace(passed=False, checks=[SimpleNamespace(name="your code parses", passed=False, gate=True)]), 5.0)
    attempt.record(verdict(True), 20.0)
    assert attempt.check_names == ["c0"] and attempt.splits == {"c0": 20.0}
    assert attempt.failed_runs == 1 and attempt.passed_checks == 1


def test_a_timed_out_attempt_scores_its_green_share():
    attempt = speed.Attempt("x", "challenge", 60, [speed.Item("x")], started=0.0, check_names=["c0", "c1"])
    attempt.record(verdict(True, False), 70.0)
    attempt.finish(70.0, timed_out=True)
    assert attempt.elapsed(999.0) == 60.0 and attempt.time_to_green is None
    assert attempt.score() == 50 - 5


def test_sprints_draw_short_drills_and_retry_the_missed_ones():
    catalog = load_catalog()
    sprint = speed.new_sprint(catalog, lambda: 0.0, seconds=120, seed=3)
    assert len(sprint.items) == 4
    for item in sprint.items:
        lesson = catalog.get(item.lesson_id).lesson
        assert lesson.kind in ("drill", "quiz") and lesson.track in speed.SPRINT_TRACKS
    history = [
        {"kind": "sprint", "items": [
            {"lesson_id": "a", "variant": 1, "passed": True, "split_s": 5.0},
            {"lesson_id": "b", "variant": 0, "passed": True, "split_s": 50.0},
            {"lesson_id": "c", "variant": 2, "passed": False, "split_s": None},
        ]},
    ]  # fmt: skip
    missed = speed.missed_items(history, count=2)
    assert [(i.lesson_id, i.variant) for i in missed] == [("c", 2), ("b", 0)]


def test_every_sprint_topic_has_drills_with_variants():
    """Sprints promise creation, indexing, reshaping, broadcasting and autograd: each must be drawable."""
    pool = speed.sprint_pool(load_catalog())
    for track in speed.SPRINT_TRACKS:
        drills = [lesson for lesson in pool if lesson.track == track]
        assert len(drills) >= 2, f"no sprint drills in {track}"
        assert any(lesson.params for lesson in drills), f"{track} drills have no variants"


def test_code_examples_are_hidden_in_timed_tasks_but_outputs_stay():
    text = "Do it.\n\n```python\nanswer = 42\n```\nThen go."
    shown = speed.strip_code_examples(text)
    assert "answer = 42" not in shown and "Then go." in shown and "from memory" in shown
    untagged = "```\nimport torch\nz = torch.zeros(3)\n```"
    assert "torch.zeros" not in speed.strip_code_examples(untagged)
    outputs = "It prints:\n```\ntensor([[0, 1],\n        [2, 3]])\n```\nor fails:\n```\nTypeError: sin(): argument 'input' must be Tensor\n```"
    shown = speed.strip_code_examples(outputs)
    assert "tensor([[0, 1]," in shown and "TypeError: sin()" in shown and "hidden" not in shown
    assert "secret" not in speed.strip_code_examples("```python\nsecret = 1\n")  # an unclosed fence


def test_speed_list_json():
    out = subprocess.run(
        [sys.executable, "-m", "tutor.cli", "speed", "--list", "--json", "--lessons", str(DATA / "pack")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    rows = {r["id"]: r for r in json.loads(out.stdout)}
    assert rows["extra/challenge"]["time_limit"] == 60 and rows["extra/challenge"]["best_time_to_green"] is None
    assert rows["sprint"]["time_limit"] == [60, 120, 180]
