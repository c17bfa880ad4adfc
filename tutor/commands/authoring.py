"""`tutor lessons validate`, `tutor lessons schema` and `tutor lessons skills`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.lessons.format import json_schema
from engine.lessons.loader import load_paths, pack_dirs
from tutor.commands import EXIT_OK, EXIT_USAGE


def validate(args: argparse.Namespace) -> int:
    roots = [Path(p) for p in args.paths] if args.paths else pack_dirs(getattr(args, "lessons", []))
    catalog = load_paths(roots)
    if args.json:
        print(
            json.dumps(
                {
                    "valid": not catalog.errors,
                    "checked": [str(root) for root in roots],
                    "lessons": len(catalog.lessons),
                    "errors": [
                        {"file": str(e.path), "line": e.line, "field": e.field, "message": e.message} for e in catalog.errors
                    ],
                },
                indent=2,
            )
        )
    else:
        for error in catalog.errors:
            print(error, file=sys.stderr)
        verdict = "invalid" if catalog.errors else "valid"
        # Say what was looked at: a pack left out (no --lessons) is not "valid", it was not checked.
        print("checked: " + ", ".join(str(root) for root in roots))
        print(f"{len(catalog.lessons)} lesson(s) valid, {len(catalog.errors)} error(s): {verdict}")
    return EXIT_USAGE if catalog.errors else EXIT_OK


def schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def skills(args: argparse.Namespace) -> int:
    """The vocabulary, each skill with what it covers and its number of lessons."""
    from collections import Counter

    from engine.lessons.loader import load_catalog
    from engine.lessons.skills import SKILLS

    catalog = load_catalog(getattr(args, "lessons", []))
    counts = Counter(skill for item in catalog.lessons for skill in item.lesson.skills)
    if args.json:
        print(json.dumps([{"skill": s, "covers": d, "lessons": counts[s]} for s, d in SKILLS.items()], indent=2))
        return EXIT_OK
    width = max(map(len, SKILLS))
    for skill, covers in SKILLS.items():
        print(f"{skill:<{width}}  {counts[skill]:>3}  {covers}")
    return EXIT_OK
