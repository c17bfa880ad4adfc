"""Finding lessons for the headless commands: the catalog plus friendly lookup errors."""

from __future__ import annotations

import argparse
import difflib
import sys

from engine.lessons.loader import Catalog, LoadedLesson, load_catalog


class LessonNotFound(LookupError):
    pass


def catalog_for(args: argparse.Namespace, *, warn: bool = True) -> Catalog:
    catalog = load_catalog(getattr(args, "lessons", []))
    if warn and catalog.errors:
        print(
            f"warning: {len(catalog.errors)} problem(s) in lesson files; run `tutor lessons validate`",
            file=sys.stderr,
        )
    return catalog


def find(catalog: Catalog, lesson_id: str) -> LoadedLesson:
    found = catalog.get(lesson_id)
    if found:
        return found
    ids = list(catalog.by_id())
    suffix = [i for i in ids if i.endswith("/" + lesson_id)]
    if len(suffix) == 1:
        return catalog.by_id()[suffix[0]]
    close = difflib.get_close_matches(lesson_id, ids, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `tutor list` shows every lesson"
    raise LessonNotFound(f"no lesson {lesson_id!r}{hint}")
