"""The learner's state: attempts, passes, hints used and saved code, in SQLite.

Every write is one transaction, and every use of the connection holds one
lock: the app's check worker records attempts while the UI thread autosaves,
and SQLite cannot nest transactions on one connection.  Saved code is never overwritten without a
copy: each replaced text is kept in `code_versions`.  A database that cannot
be read is moved aside (never deleted) and a fresh one started, with a
message saying where the old one went.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal

from engine import paths
from tutor.core import clock

Status = Literal["new", "attempted", "done"]

# 2: review cards, their logs, and lesson events (opened, hint, solution); 3: named mistakes hit
SCHEMA_VERSION = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS progress (
    lesson_id TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL DEFAULT 0,
    passes INTEGER NOT NULL DEFAULT 0,
    hints_used INTEGER NOT NULL DEFAULT 0,
    best_ms INTEGER,
    first_passed_at REAL,
    last_at REAL
);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id TEXT NOT NULL,
    at REAL NOT NULL,
    passed INTEGER NOT NULL,
    checks_passed INTEGER NOT NULL,
    checks_total INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    mode TEXT NOT NULL DEFAULT 'practice'
);
CREATE INDEX IF NOT EXISTS attempts_lesson ON attempts (lesson_id, at);
CREATE TABLE IF NOT EXISTS code (
    lesson_id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    saved_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS speed_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    challenge TEXT NOT NULL,
    kind TEXT NOT NULL,
    at REAL NOT NULL,
    time_to_green REAL,
    score INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS speed_challenge ON speed_attempts (challenge, at);
CREATE TABLE IF NOT EXISTS cards (
    lesson_id TEXT PRIMARY KEY,
    card TEXT NOT NULL,
    due REAL NOT NULL,
    day TEXT NOT NULL,
    before_day TEXT
);
CREATE TABLE IF NOT EXISTS review_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id TEXT NOT NULL,
    day TEXT NOT NULL,
    at REAL NOT NULL,
    rating INTEGER NOT NULL,
    time_to_green REAL,
    UNIQUE (lesson_id, day)
);
CREATE TABLE IF NOT EXISTS lesson_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lesson_events_lesson ON lesson_events (lesson_id, at);
CREATE TABLE IF NOT EXISTS mistakes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id TEXT NOT NULL,
    mistake TEXT NOT NULL,
    skills TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS code_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id TEXT NOT NULL,
    text TEXT NOT NULL,
    saved_at REAL NOT NULL,
    reason TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Progress:
    lesson_id: str
    attempts: int = 0
    passes: int = 0
    hints_used: int = 0
    best_ms: int | None = None

    @property
    def status(self) -> Status:
        if self.passes:
            return "done"
        return "attempted" if self.attempts else "new"


@dataclass(frozen=True)
class CodeVersion:
    id: int
    text: str
    saved_at: float
    reason: str


class State:
    """One open learner database.  Cheap to open; safe across processes."""

    def __init__(self, path: Path | None = None):
        self.path = path or paths.state_db()
        self.warning: str | None = None
        self._lock = threading.RLock()  # one connection, used from the UI thread and from workers
        self._db = self._open()

    # --- opening -----------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            self.path.rename(aside)
            self.warning = (
                f"Your progress database could not be read ({exc}). It was moved to {aside} "
                "and a new one started; nothing was deleted."
            )
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            ok = db.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {ok}")
            db.executescript(_SCHEMA)
            # Every table is created if missing, so an older database gains the new ones in place
            # with nothing lost; the version says which release last opened it.
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        """A read, whole, under the lock (a cursor left open would race the next write)."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _row(self, sql: str, args: tuple = ()) -> tuple | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None

    # --- progress ------------------------------------------------------------

    def progress(self, lesson_id: str) -> Progress:
        row = self._row("SELECT lesson_id, attempts, passes, hints_used, best_ms FROM progress WHERE lesson_id=?", (lesson_id,))
        return Progress(*row) if row else Progress(lesson_id)

    def all_progress(self) -> dict[str, Progress]:
        rows = self._rows("SELECT lesson_id, attempts, passes, hints_used, best_ms FROM progress")
        return {row[0]: Progress(*row) for row in rows}

    def record_attempt(
        self,
        lesson_id: str,
        *,
        passed: bool,
        checks_passed: int,
        checks_total: int,
        duration_ms: int,
        mode: str = "practice",
    ) -> None:
        now = clock.timestamp()
        with self._tx() as db:
            db.execute(
                "INSERT INTO attempts (lesson_id, at, passed, checks_passed, checks_total, duration_ms, mode)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (lesson_id, now, int(passed), checks_passed, checks_total, duration_ms, mode),
            )
            db.execute(
                "INSERT INTO progress (lesson_id, attempts, passes, best_ms, first_passed_at, last_at)"
                " VALUES (?, 1, ?, ?, ?, ?)"
                " ON CONFLICT (lesson_id) DO UPDATE SET attempts = attempts + 1,"
                " passes = passes + excluded.passes,"
                " best_ms = CASE WHEN excluded.best_ms IS NULL THEN best_ms"
                "   WHEN best_ms IS NULL OR excluded.best_ms < best_ms THEN excluded.best_ms ELSE best_ms END,"
                " first_passed_at = COALESCE(first_passed_at, excluded.first_passed_at),"
                " last_at = excluded.last_at",
                (lesson_id, int(passed), duration_ms if passed else None, now if passed else None, now),
            )
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_lesson', ?)", (lesson_id,))

    # --- review cards (tutor.core.review decides; this stores) ---------------------------

    def note(self, lesson_id: str, kind: str) -> None:
        """A lesson event that a review's rating reads: opened, hint, solution."""
        with self._tx() as db:
            db.execute("INSERT INTO lesson_events (lesson_id, at, kind) VALUES (?, ?, ?)", (lesson_id, clock.timestamp(), kind))

    def events_between(self, lesson_id: str, start: float, end: float) -> list[tuple[float, str]]:
        return self._rows(
            "SELECT at, kind FROM lesson_events WHERE lesson_id=? AND at>=? AND at<? ORDER BY id", (lesson_id, start, end)
        )

    def attempts_between(self, lesson_id: str, start: float, end: float) -> list[tuple[float, bool]]:
        rows = self._rows(
            "SELECT at, passed FROM attempts WHERE lesson_id=? AND at>=? AND at<? ORDER BY id", (lesson_id, start, end)
        )
        return [(at, bool(passed)) for at, passed in rows]

    def card(self, lesson_id: str) -> tuple[str, str, str | None] | None:
        """(card JSON, day of its last review, card JSON before that day's first review)."""
        row = self._row("SELECT card, day, before_day FROM cards WHERE lesson_id=?", (lesson_id,))
        return (row[0], row[1], row[2]) if row else None

    def cards(self) -> dict[str, tuple[str, float]]:
        """Every card: lesson id -> (card JSON, due timestamp)."""
        return {row[0]: (row[1], row[2]) for row in self._rows("SELECT lesson_id, card, due FROM cards")}

    def save_review(self, lesson_id: str, card: str, due: float, day: str, before_day: str | None, rating: int,
                    time_to_green: float | None) -> None:  # fmt: skip
        """The day's review of a lesson: its card after it, and one log row a day (replaced by a later attempt)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO cards (lesson_id, card, due, day, before_day) VALUES (?, ?, ?, ?, ?)",
                (lesson_id, card, due, day, before_day),
            )
            db.execute(
                "INSERT OR REPLACE INTO review_logs (lesson_id, day, at, rating, time_to_green) VALUES (?, ?, ?, ?, ?)",
                (lesson_id, day, clock.timestamp(), rating, time_to_green),
            )

    def review_log(self, lesson_id: str) -> list[tuple[str, int, float | None]]:
        """(day, rating, time to green) of every day the lesson was reviewed, oldest first."""
        return self._rows("SELECT day, rating, time_to_green FROM review_logs WHERE lesson_id=? ORDER BY day", (lesson_id,))

    def use_hint(self, lesson_id: str, level: int) -> None:
        """Remember the deepest hint level the learner has seen."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO progress (lesson_id, hints_used, last_at) VALUES (?, ?, ?)"
                " ON CONFLICT (lesson_id) DO UPDATE SET hints_used = MAX(hints_used, excluded.hints_used)",
                (lesson_id, level, clock.timestamp()),
            )
            db.execute("INSERT INTO lesson_events (lesson_id, at, kind) VALUES (?, ?, 'hint')", (lesson_id, clock.timestamp()))

    def touched_between(self, start: float, end: float) -> list[tuple[str, bool]]:
        """Lessons checked in a span, in the order first checked: (lesson id, passed at least once)."""
        rows = self._rows(
            "SELECT lesson_id, MAX(passed) FROM attempts WHERE at>=? AND at<? GROUP BY lesson_id ORDER BY MIN(id)",
            (start, end),
        )
        return [(lesson_id, bool(passed)) for lesson_id, passed in rows]

    # --- named mistakes -------------------------------------------------------------------

    def record_mistakes(self, lesson_id: str, mistakes: list[str], skills: list[str]) -> None:
        """The known mistakes one verdict named, each with the lesson's skills and the time."""
        if not mistakes:
            return
        now = clock.timestamp()
        with self._tx() as db:
            db.executemany(
                "INSERT INTO mistakes (lesson_id, mistake, skills, at) VALUES (?, ?, ?, ?)",
                [(lesson_id, m, ",".join(skills), now) for m in mistakes],
            )

    def mistake_counts(self) -> list[tuple[str, str, str, int, float]]:
        """(mistake, lesson id, skills, times hit, last hit), most frequent first, then most recent."""
        return self._rows(
            "SELECT mistake, lesson_id, skills, COUNT(*), MAX(at) FROM mistakes"
            " GROUP BY lesson_id, mistake ORDER BY COUNT(*) DESC, MAX(at) DESC"
        )

    def practice_days(self) -> list[str]:
        """The local days (ISO dates) on which the learner checked any code, oldest first."""
        rows = self._rows("SELECT DISTINCT date(at, 'unixepoch', 'localtime') FROM attempts ORDER BY 1")
        return [row[0] for row in rows]

    def practice_counts(self) -> dict[str, int]:
        """Checks run per local day (ISO date), for the practice calendar."""
        rows = self._rows("SELECT date(at, 'unixepoch', 'localtime'), COUNT(*) FROM attempts GROUP BY 1")
        return dict(rows)

    def reviews_done(self) -> int:
        """Days a lesson came back and was reviewed: each lesson's first day was learning, not review."""
        return self._row(
            "SELECT COUNT(*) FROM review_logs AS r WHERE r.day > (SELECT MIN(day) FROM review_logs WHERE lesson_id = r.lesson_id)"
        )[0]

    def setting(self, key: str) -> str | None:
        """A learner's setting (daily_goal, ...), kept beside their progress."""
        row = self._row("SELECT value FROM meta WHERE key=?", (f"setting:{key}",))
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"setting:{key}", value))

    def lesson_variant(self, lesson_id: str) -> int:
        """The variant the learner works on for a lesson: 0 until a review draws a fresh one."""
        value = self.setting(f"variant:{lesson_id}")
        return int(value) if value and value.isdigit() else 0

    def set_lesson_variant(self, lesson_id: str, variant: int) -> None:
        self.set_setting(f"variant:{lesson_id}", str(variant))

    def last_lesson(self) -> str | None:
        row = self._row("SELECT value FROM meta WHERE key='last_lesson'")
        return row[0] if row else None

    def set_last_lesson(self, lesson_id: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_lesson', ?)", (lesson_id,))

    # --- speed mode ----------------------------------------------------------------

    def record_speed(self, record: dict) -> None:
        """Store one timed attempt (its splits, items and code) for history and personal bests."""
        import json

        with self._tx() as db:
            db.execute(
                "INSERT INTO speed_attempts (challenge, kind, at, time_to_green, score, record) VALUES (?, ?, ?, ?, ?, ?)",
                (record["challenge"], record["kind"], clock.timestamp(), record.get("time_to_green"), record["score"],
                 json.dumps(record)),
            )  # fmt: skip

    def speed_history(self, challenge: str | None = None) -> list[dict]:
        import json

        query = "SELECT at, record FROM speed_attempts"
        args: tuple = ()
        if challenge:
            query += " WHERE challenge=?"
            args = (challenge,)
        rows = self._rows(query + " ORDER BY at, id", args)
        return [{**json.loads(record), "at": at} for at, record in rows]

    def personal_best(self, challenge: str) -> dict | None:
        """The fastest all-green attempt; failing that, the best score."""
        history = self.speed_history(challenge)
        green = [r for r in history if r.get("time_to_green") is not None]
        if green:
            return min(green, key=lambda r: r["time_to_green"])
        return max(history, key=lambda r: r["score"]) if history else None

    # --- code ------------------------------------------------------------------

    def code(self, lesson_id: str) -> str | None:
        row = self._row("SELECT text FROM code WHERE lesson_id=?", (lesson_id,))
        return row[0] if row else None

    def save_code(self, lesson_id: str, text: str, reason: str = "autosave") -> None:
        """Save the learner's code; the text it replaces becomes a version first."""
        now = clock.timestamp()
        with self._tx() as db:
            row = db.execute("SELECT text, saved_at FROM code WHERE lesson_id=?", (lesson_id,)).fetchone()
            if row and row[0] == text:
                return
            if row and reason != "autosave":
                _add_version(db, lesson_id, row[0], row[1], f"before {reason}")
            db.execute(
                "INSERT OR REPLACE INTO code (lesson_id, text, saved_at) VALUES (?, ?, ?)",
                (lesson_id, text, now),
            )

    def keep_version(self, lesson_id: str, text: str, reason: str) -> None:
        with self._tx() as db:
            _add_version(db, lesson_id, text, clock.timestamp(), reason)

    def versions(self, lesson_id: str) -> list[CodeVersion]:
        rows = self._rows("SELECT id, text, saved_at, reason FROM code_versions WHERE lesson_id=? ORDER BY id DESC", (lesson_id,))
        return [CodeVersion(*row) for row in rows]


def _add_version(db: sqlite3.Connection, lesson_id: str, text: str, saved_at: float, reason: str) -> None:
    """Keep `text` as a version, unless the latest version already holds exactly it."""
    latest = db.execute("SELECT text FROM code_versions WHERE lesson_id=? ORDER BY id DESC LIMIT 1", (lesson_id,)).fetchone()
    if latest and latest[0] == text:
        return
    db.execute(
        "INSERT INTO code_versions (lesson_id, text, saved_at, reason) VALUES (?, ?, ?, ?)",
        (lesson_id, text, saved_at, reason),
    )
