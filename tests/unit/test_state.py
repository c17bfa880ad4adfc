"""Learner state: progress, attempts, code versions, and a corrupt database kept aside."""

from __future__ import annotations

from tutor.core.state import State


def test_progress_moves_from_new_to_attempted_to_done():
    state = State()
    assert state.progress("a/b").status == "new"
    state.record_attempt("a/b", passed=False, checks_passed=1, checks_total=3, duration_ms=50)
    assert state.progress("a/b").status == "attempted"
    state.record_attempt("a/b", passed=True, checks_passed=3, checks_total=3, duration_ms=40)
    state.record_attempt("a/b", passed=True, checks_passed=3, checks_total=3, duration_ms=70)
    p = state.progress("a/b")
    assert (p.status, p.attempts, p.passes, p.best_ms) == ("done", 3, 2, 40)
    assert state.last_lesson() == "a/b"


def test_state_survives_reopening(tutor_home):
    State().save_code("a/b", "x = 1\n")
    assert State().code("a/b") == "x = 1\n"


def test_replacing_code_keeps_the_old_text_as_a_version():
    state = State()
    state.save_code("a/b", "mine = 1\n")
    state.save_code("a/b", "mine = 2\n")  # autosave while typing
    state.save_code("a/b", "starter\n", reason="reset")
    assert state.code("a/b") == "starter\n"
    (version,) = state.versions("a/b")
    assert version.text == "mine = 2\n" and version.reason == "before reset"


def test_hints_used_keeps_the_deepest_level():
    state = State()
    state.use_hint("a/b", 2)
    state.use_hint("a/b", 1)
    assert state.progress("a/b").hints_used == 2


def test_corrupt_database_is_moved_aside_not_dropped(tutor_home):
    tutor_home.mkdir(parents=True, exist_ok=True)
    db = tutor_home / "state.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    state = State()
    assert state.warning and "moved to" in state.warning
    aside = list(tutor_home.glob("state.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    state.record_attempt("a/b", passed=True, checks_passed=1, checks_total=1, duration_ms=1)
    assert state.progress("a/b").status == "done"
