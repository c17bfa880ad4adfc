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


def test_writes_from_a_worker_and_the_ui_thread_never_collide(tmp_path):
    """The check worker records attempts while the UI thread autosaves, on one connection."""
    import sys
    import threading

    state = State(tmp_path / "state.db")
    errors: list[BaseException] = []

    def repeat(write) -> None:
        try:
            for i in range(300):
                write(i)
        except BaseException as exc:  # collected: the assertion below says which
            errors.append(exc)

    record = lambda i: state.record_attempt("a/b", passed=i % 2 == 0, checks_passed=1, checks_total=1, duration_ms=i)  # noqa: E731
    save = lambda i: state.save_code("a/b", f"x = {i}\n")  # noqa: E731
    read = lambda i: state.versions("a/b")  # noqa: E731
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show at once
    try:
        threads = [threading.Thread(target=repeat, args=(f,)) for f in (record, save, read)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == []
    assert state.progress("a/b").attempts == 300 and state.progress("a/b").passes == 150
    assert state.code("a/b") == "x = 299\n"
