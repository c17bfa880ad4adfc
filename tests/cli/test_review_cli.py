"""`tutor review` and `tutor stats` on a controllable clock, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from engine.checks.checker import decoy_code
from engine.lessons.loader import load_catalog
from engine.lessons.variants import instantiate
from tests.conftest import ROOT, run_cli, wait_until

LESSON = "tensors/linspace"
DAY1 = {"TUTOR_NOW": "2026-12-01T09:00"}
LATER = {"TUTOR_NOW": "2027-01-20T09:00"}


def _lesson(variant: int):
    return instantiate(load_catalog().get(LESSON).lesson, variant)[0]


@pytest.mark.slow
def test_review_writes_a_fresh_variant_checks_each_save_and_moves_on(tutor_home, tmp_path):
    exercise = tutor_home / "workspace" / "tensors" / "linspace.py"  # where `tutor watch` keeps it
    exercise.parent.mkdir(parents=True)
    exercise.write_text(_lesson(0).solution)
    assert run_cli("check", LESSON, str(exercise), env=DAY1).returncode == 0
    out_path = tmp_path / "review.out"
    with open(out_path, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tutor.cli", "review", "--once"], stdout=out,
                                stderr=subprocess.STDOUT, cwd=ROOT, env=dict(os.environ, COLUMNS="120", **LATER))  # fmt: skip
    try:
        fresh = _lesson(1)
        assert wait_until(lambda: exercise.exists() and exercise.read_text() == fresh.starter), out_path.read_text()
        assert wait_until(lambda: "review, from memory" in out_path.read_text()), out_path.read_text()
        exercise.write_text(fresh.solution)
        assert proc.wait(timeout=120) == 0, out_path.read_text()
    finally:
        proc.kill()
    assert "Passed" in out_path.read_text()
    from tutor.core.state import State

    state = State()
    assert [day for day, _rating, _t in state.review_log(LESSON)] == ["2026-12-01", "2027-01-20"]
    assert _lesson(0).solution in [v.text for v in state.versions(LESSON)]  # the earlier answer in the file is kept
    assert state.lesson_variant(LESSON) == 1


def test_stats_json_has_mastery_per_skill_and_the_mistakes_a_verdict_named(tmp_path):
    lesson = _lesson(0)
    wrong = tmp_path / "wrong.py"
    wrong.write_text(decoy_code(lesson, lesson.decoys[0]))
    assert run_cli("check", LESSON, str(wrong), env=DAY1).returncode == 1
    right = tmp_path / "right.py"
    right.write_text(lesson.solution)
    assert run_cli("check", LESSON, str(right), env=DAY1).returncode == 0
    stats = json.loads(run_cli("stats", "--json", env={"TUTOR_NOW": "2026-12-03T09:00"}).stdout)
    assert stats["mistakes"][0]["mistake"] == lesson.decoys[0].mistake and stats["mistakes"][0]["lesson"] == LESSON
    assert stats["mistakes"][0]["count"] == 1 and stats["mistakes"][0]["skills"] == list(lesson.skills)
    practised = [s for s in stats["skills"] if s["practised"]]
    assert {s["skill"] for s in practised} == set(lesson.skills) and all(0 < s["mastery"] < 1 for s in practised)
    assert stats["streak_days"] == 0 and stats["days_practised"] == 1  # two days ago, not yesterday
