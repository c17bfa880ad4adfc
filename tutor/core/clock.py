"""The one clock of the app and the CLI: real time, or the time TUTOR_NOW says.

`TUTOR_NOW` (an ISO 8601 date-time, e.g. 2026-12-20T09:00) replaces "now"
everywhere, so tests and a person can live through weeks of practice in
minutes.  A time without a zone is read as local time.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

NOW_ENV = "TUTOR_NOW"


def now() -> datetime:
    """The current moment, zone-aware."""
    fixed = os.environ.get(NOW_ENV)
    if fixed:
        moment = datetime.fromisoformat(fixed)
        return moment if moment.tzinfo else moment.astimezone()
    return datetime.now(UTC)


def timestamp() -> float:
    return now().timestamp()


def today() -> date:
    """The learner's calendar day (local time): what "today's plan" and a streak count in."""
    return now().astimezone().date()


def day_of(ts: float) -> date:
    return datetime.fromtimestamp(ts).astimezone().date()
