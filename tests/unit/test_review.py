"""Spaced review on a controllable clock: what comes back when, rated from what the learner did."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from fsrs import Rating

from tutor.core import clock, review
from tutor.core.state import State

DAY1 = datetime(2026, 12, 1, 9, 0).astimezone()
DRILL = SimpleNamespace(id="tensors/zeros", kind="drill", requires=SimpleNamespace(device="cpu"))
OTHER = SimpleNamespace(id="tensors/ones", kind="drill", requires=SimpleNamespace(device="cpu"))


@pytest.fixture
def at(monkeypatch):
    """Set TUTOR_NOW: every timestamp the state writes and every 'now' follows it."""

    def set_time(moment: datetime) -> datetime:
        monkeypatch.setenv(clock.NOW_ENV, moment.isoformat())
        return moment

    return set_time


def attempt(state: State, lesson, passed: bool) -> None:
    state.record_attempt(lesson.id, passed=passed, checks_passed=int(passed), checks_total=1, duration_ms=5)
    review.record(state, lesson)


def due_ids(state: State) -> list[str]:
    return [d.lesson_id for d in review.due_reviews(state)]


def test_tutor_now_is_the_clock(at):
    at(DAY1)
    assert clock.now() == DAY1 and clock.today() == DAY1.date()


def test_passed_today_is_not_due_tomorrow_and_is_due_once_its_interval_passed(tmp_path, at):
    state = State(tmp_path / "s.db")
    at(DAY1)
    attempt(state, DRILL, passed=True)
    at(DAY1 + timedelta(days=1))
    assert due_ids(state) == []
    (card_json, due) = state.cards()[DRILL.id]
    at(datetime.fromtimestamp(due).astimezone() + timedelta(minutes=1))
    assert due_ids(state) == [DRILL.id]


def test_a_failed_review_comes_back_sooner_than_a_passed_one(tmp_path, at):
    state = State(tmp_path / "s.db")
    at(DAY1)
    attempt(state, DRILL, passed=True)
    attempt(state, OTHER, passed=True)
    later = at(DAY1 + timedelta(days=5))
    attempt(state, DRILL, passed=False)
    attempt(state, OTHER, passed=True)
    cards = state.cards()
    assert cards[DRILL.id][1] < cards[OTHER.id][1]
    assert datetime.fromtimestamp(cards[DRILL.id][1]).astimezone().date() > later.date()  # never the same day


def test_one_review_a_day_rated_from_the_whole_day(tmp_path, at):
    state = State(tmp_path / "s.db")
    at(DAY1)
    for _ in range(3):
        attempt(state, DRILL, passed=False)
    attempt(state, DRILL, passed=True)
    assert state.review_log(DRILL.id) == [(DAY1.date().isoformat(), int(Rating.Hard), pytest.approx(0.0))]
    at(DAY1 + timedelta(hours=1))
    state.note(DRILL.id, "solution")  # after today's green: does not change today's rating
    review.record(state, DRILL)
    assert [r for _day, r, _t in state.review_log(DRILL.id)] == [int(Rating.Hard)]


@pytest.mark.parametrize(
    ("day", "usual", "rating"),
    [
        (review.Day(False, 1, False, False, None), None, Rating.Again),
        (review.Day(True, 0, False, True, 30.0), None, Rating.Again),
        (review.Day(True, 0, True, False, 30.0), None, Rating.Hard),
        (review.Day(True, 3, False, False, 30.0), None, Rating.Hard),
        (review.Day(True, 0, False, False, 90.0), 40.0, Rating.Hard),
        (review.Day(True, 0, False, False, 15.0), 40.0, Rating.Easy),
        (review.Day(True, 1, False, False, 15.0), 40.0, Rating.Good),
        (review.Day(True, 0, False, False, 30.0), 40.0, Rating.Good),
    ],
)
def test_the_rating_comes_from_what_the_learner_did(day, usual, rating):
    assert review.rate(day, usual) == rating


def test_projects_and_gpu_lessons_get_no_card(tmp_path, at):
    state = State(tmp_path / "s.db")
    at(DAY1)
    project = SimpleNamespace(id="p/x", kind="project", requires=SimpleNamespace(device="cpu"))
    gpu = SimpleNamespace(id="t/mnist", kind="application", requires=SimpleNamespace(device="gpu-preferred"))
    assert review.record(state, project) is None and review.record(state, gpu) is None
    assert state.cards() == {}


def test_a_database_of_the_previous_release_upgrades_with_nothing_lost(tmp_path):
    """Schema 1 as the previous release wrote it, with a learner's history in it."""
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE progress (lesson_id TEXT PRIMARY KEY, attempts INTEGER NOT NULL DEFAULT 0,
            passes INTEGER NOT NULL DEFAULT 0, hints_used INTEGER NOT NULL DEFAULT 0, best_ms INTEGER,
            first_passed_at REAL, last_at REAL);
        CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, lesson_id TEXT NOT NULL, at REAL NOT NULL,
            passed INTEGER NOT NULL, checks_passed INTEGER NOT NULL, checks_total INTEGER NOT NULL,
            duration_ms INTEGER NOT NULL, mode TEXT NOT NULL DEFAULT 'practice');
        CREATE TABLE code (lesson_id TEXT PRIMARY KEY, text TEXT NOT NULL, saved_at REAL NOT NULL);
        CREATE TABLE speed_attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, challenge TEXT NOT NULL, kind TEXT NOT NULL,
            at REAL NOT NULL, time_to_green REAL, score INTEGER NOT NULL, record TEXT NOT NULL);
        CREATE TABLE code_versions (id INTEGER PRIMARY KEY AUTOINCREMENT, lesson_id TEXT NOT NULL, text TEXT NOT NULL,
            saved_at REAL NOT NULL, reason TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema', '1'), ('last_lesson', 'tensors/zeros');
        INSERT INTO progress VALUES ('tensors/zeros', 2, 1, 1, 12, 1000.0, 1001.0);
        INSERT INTO attempts (lesson_id, at, passed, checks_passed, checks_total, duration_ms) VALUES
            ('tensors/zeros', 1000.0, 0, 0, 1, 10), ('tensors/zeros', 1001.0, 1, 1, 1, 12);
        INSERT INTO code VALUES ('tensors/zeros', 'z = 1', 1001.0);
        INSERT INTO code_versions (lesson_id, text, saved_at, reason) VALUES ('tensors/zeros', 'z = 0', 1000.0, 'reset');
        INSERT INTO speed_attempts (challenge, kind, at, time_to_green, score, record)
            VALUES ('sprint', 'sprint', 1002.0, 40.0, 130, '{"challenge": "sprint", "score": 130}');
        """
    )
    db.commit()
    db.close()
    state = State(path)
    assert state.warning is None
    assert state.progress("tensors/zeros").attempts == 2 and state.progress("tensors/zeros").status == "done"
    assert state.code("tensors/zeros") == "z = 1" and [v.text for v in state.versions("tensors/zeros")] == ["z = 0"]
    assert state.speed_history("sprint")[0]["score"] == 130 and state.last_lesson() == "tensors/zeros"
    assert state.cards() == {}  # the new tables are there, empty
    assert state._row("SELECT value FROM meta WHERE key='schema'") == ("2",)


def test_the_plan_mixes_repetition_and_applications_65_35_by_minutes(tmp_path, at):
    from engine.lessons.loader import load_catalog
    from tutor.core import plan

    at(DAY1)
    state = State(tmp_path / "s.db")
    catalog = load_catalog()
    day = plan.build(state, catalog, goal=120)
    assert abs(day.share() - plan.REPETITION_SHARE) <= 0.05
    short = plan.build(state, catalog)  # the default goal: filled, by no more than one lesson
    assert plan.DEFAULT_GOAL_MINUTES <= short.minutes < plan.DEFAULT_GOAL_MINUTES + max(i.minutes for i in short.items)
    assert all(not i.review for i in short.items) and short.items[0].lesson_id == catalog.lessons[0].lesson.id


def test_due_reviews_come_first_in_the_plan_as_a_new_variant(tmp_path, at):
    from engine.lessons.loader import load_catalog
    from tutor.core import plan

    catalog = load_catalog()
    zeros = catalog.get("tensors/zeros").lesson
    state = State(tmp_path / "s.db")
    at(DAY1)
    attempt(state, zeros, passed=True)
    assert plan.build(state, catalog, goal=30).items[0].lesson_id != zeros.id  # done today: not planned again
    at(DAY1 + timedelta(days=30))
    first = plan.build(state, catalog, goal=30).items[0]
    assert first.lesson_id == zeros.id and first.review and first.variant == 1 and 0 < first.recall < 0.9


def test_the_streak_counts_days_in_a_row_up_to_today(tmp_path, at):
    from tutor.core import plan

    state = State(tmp_path / "s.db")
    for n in range(3):
        at(DAY1 + timedelta(days=n))
        attempt(state, DRILL, passed=n > 0)
    assert plan.streak(state) == 3
    at(DAY1 + timedelta(days=3, hours=1))
    assert plan.streak(state) == 3  # today is still open
    at(DAY1 + timedelta(days=4))
    assert plan.streak(state) == 0
    assert state.reviews_done() == 3 and len(state.practice_days()) == 3
