"""Spaced review on a controllable clock: what comes back when, rated from what the learner did."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from fsrs import Rating

from tutor.core import clock, review
from tutor.core.state import SCHEMA_VERSION, State

FIXTURES = Path(__file__).parents[1] / "fixtures"

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
    assert state._row("SELECT value FROM meta WHERE key='schema'") == (str(SCHEMA_VERSION),)


def test_a_database_written_by_the_last_release_upgrades_with_nothing_lost(tmp_path, at):
    """A real schema-2 database, written by the release before this one through its Session."""
    path = tmp_path / "state.sqlite3"
    shutil.copy(FIXTURES / "state-schema2.sqlite3", path)
    state = State(path)
    assert state.warning is None
    assert state.progress("tensors/zeros").attempts == 2 and state.progress("tensors/arange").hints_used == 1
    assert state.code("tensors/zeros") is not None and len(state.versions("tensors/zeros")) == 1
    assert state.speed_history("sprint")[0]["score"] == 10 and state.setting("daily_goal") == "45"
    assert "tensors/zeros" in state.cards() and state.review_log("tensors/zeros")
    at(datetime(2026, 12, 7, 9, 0).astimezone())
    state.record_mistakes("tensors/zeros", ["built ones instead of zeros"], ["creation"])  # the new table works
    assert state.mistake_counts()[0][:2] == ("built ones instead of zeros", "tensors/zeros")
    assert state._row("SELECT value FROM meta WHERE key='schema'") == (str(SCHEMA_VERSION),)


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
    today = plan.build(state, catalog, goal=30)
    assert today.items[0].lesson_id == zeros.id and today.items[0].done  # done today: shown done, not again
    assert today.next_item().lesson_id != zeros.id
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
    assert state.reviews_done() == 2 and len(state.practice_days()) == 3  # the first day was learning, not a review


def test_the_day_plan_stays_put_as_items_are_done(tmp_path, at):
    """Finishing an item marks it done and counts toward the goal; it does not pull a new lesson in."""
    from engine.lessons.loader import load_catalog
    from tutor.core import plan

    catalog = load_catalog()
    state = State(tmp_path / "s.db")
    at(DAY1)
    morning = plan.build(state, catalog)
    first = catalog.get(morning.items[0].lesson_id).lesson
    attempt(state, first, passed=False)
    assert plan.build(state, catalog).left[0].lesson_id == first.id  # tried, not passed: still to do
    attempt(state, first, passed=True)
    noon = plan.build(state, catalog)
    assert [i.lesson_id for i in noon.items] == [i.lesson_id for i in morning.items]
    assert noon.items[0].done and noon.minutes_left == morning.minutes - first.minutes
    assert noon.next_item().lesson_id == morning.items[1].lesson_id


def test_a_lesson_failed_in_review_four_times_is_a_leech_with_a_refresher(tmp_path, at):
    from engine.lessons.loader import load_catalog
    from tutor.core import plan

    catalog = load_catalog()
    lesson = catalog.get("tensors/linspace").lesson
    state = State(tmp_path / "s.db")
    moment = at(DAY1)
    attempt(state, lesson, passed=True)
    for n in range(review.LEECH_LAPSES):
        moment = at(moment + timedelta(days=1 if n else 3))
        assert not review.is_leech(state, lesson.id)
        attempt(state, lesson, passed=False)
    assert review.lapses(state, lesson.id) == review.LEECH_LAPSES
    at(moment + timedelta(days=1))
    item = next(i for i in plan.build(state, catalog).items if i.lesson_id == lesson.id)
    track = [i.lesson.id for i in catalog.in_track("tensors")]
    assert item.leech and item.review and item.refresher == track[track.index(lesson.id) - 1]


def test_mastery_is_the_mean_recall_of_a_skills_lessons_weakest_first(tmp_path, at):
    strong = SimpleNamespace(id="a/strong", kind="drill", requires=DRILL.requires, skills=["creation"])
    weak = SimpleNamespace(id="a/weak", kind="drill", requires=DRILL.requires, skills=["indexing"])
    other = SimpleNamespace(id="a/other", kind="drill", requires=DRILL.requires, skills=["indexing"])
    state = State(tmp_path / "s.db")
    moment = at(DAY1)
    attempt(state, strong, passed=True)
    attempt(state, weak, passed=False)
    at(moment + timedelta(days=2))
    skills = review.mastery(state, [strong, weak, other])
    assert [m.skill for m in skills] == ["indexing", "creation"]
    indexing = skills[0]
    assert indexing.lessons == 2 and indexing.practised == 1 and indexing.mastery < skills[1].mastery


def test_a_placement_pass_schedules_lessons_instead_of_leaving_them_new(tmp_path, at):
    from engine.lessons.loader import load_catalog
    from tutor.core import plan, timed

    catalog = load_catalog()
    state = State(tmp_path / "s.db")
    moment = at(DAY1)
    attempt_ = timed.new_placement(catalog, "tensors", clock=lambda: 0.0, seed=1)
    drills = [i.lesson.id for i in catalog.in_track("tensors") if i.lesson.kind in ("drill", "quiz")]
    chosen = [item.lesson_id for item in attempt_.items]
    assert len(chosen) == min(len(drills), timed.PLACEMENT_DRILLS) and chosen[0] == drills[0]
    assert chosen == sorted(chosen, key=drills.index)  # in course order, drawn from across the whole track
    assert set(chosen) & set(drills[len(drills) * 2 // 3 :])
    assert timed.PLACEMENT_SECONDS[0] <= attempt_.limit_s <= timed.PLACEMENT_SECONDS[1]
    proven = [catalog.get(item.lesson_id).lesson for item in attempt_.items[:3]]
    for lesson in proven:  # what the app records for each drill passed in the placement
        attempt(state, lesson, passed=True)
    attempt_.skip(0.0)  # a drill the learner does not know is skipped, not failed
    assert attempt_.current == 1 and not attempt_.done
    tomorrow = plan.build(state, catalog, at(moment + timedelta(days=1)), goal=600)
    planned = {i.lesson_id for i in tomorrow.items}
    assert not planned & {lesson.id for lesson in proven}  # learned: not new, and not due yet
    assert all(lesson.id in state.cards() for lesson in proven)
    later = plan.build(state, catalog, at(moment + timedelta(days=60)), goal=600)
    assert {lesson.id for lesson in proven} <= {i.lesson_id for i in later.items if i.review}
