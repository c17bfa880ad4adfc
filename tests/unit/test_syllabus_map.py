"""docs/syllabus.md stays true: every syllabus row once, each COVERED by lessons that exist, or given a reason."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from engine.lessons.loader import load_catalog

MAP = Path(__file__).resolve().parents[2] / "docs" / "syllabus.md"
LESSON_ID = re.compile(r"\b([a-z][a-z-]*/[a-z0-9][a-z0-9-]*)\b")
ROWS = 222


def _rows() -> list[list[str]]:
    rows = []
    for line in MAP.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        # The totals table's rows ("| 002 | 117 | ...") have four cells, the map's five.
        if re.match(r"^\| \d+ \|", line) and len(cells) == 5:
            rows.append(cells)
    return rows


def test_every_syllabus_row_appears_once():
    numbers = Counter(int(row[0]) for row in _rows())
    assert sorted(numbers) == list(range(1, ROWS + 1))
    assert [n for n, count in numbers.items() if count > 1] == []


def test_covered_rows_name_lessons_of_the_catalog_and_reasons_are_written():
    known = {item.lesson.id for item in load_catalog().lessons}
    problems = []
    for number, _item, lessons, status, note in _rows():
        named = LESSON_ID.findall(lessons)
        if status == "COVERED" and not named:
            problems.append(f"row {number}: COVERED by no lesson")
        elif status == "REASON" and not note:
            problems.append(f"row {number}: REASON without its sentence")
        elif status not in ("COVERED", "REASON"):
            problems.append(f"row {number}: status {status!r}")
        problems += [f"row {number}: no lesson {name}" for name in named if name not in known]
    assert problems == []


def test_the_totals_table_counts_the_rows():
    text = MAP.read_text(encoding="utf-8")
    total = re.search(r"\| \*\*all\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \|", text)
    statuses = Counter(row[3] for row in _rows())
    assert total is not None
    assert tuple(map(int, total.groups())) == (ROWS, statuses["COVERED"], statuses["REASON"])
