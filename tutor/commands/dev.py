"""`tutor dev check [ID...]`: every lesson's starter fails, reference passes, decoys fail by name."""

from __future__ import annotations

import argparse
import json
import sys
import time

from rich.console import Console
from rich.markup import escape

from engine.checks.checker import Checker
from engine.checks.selftest import dev_check, variants_to_try
from engine.sandbox.client import Runner
from tutor.commands import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from tutor.core.lookup import LessonNotFound, catalog_for, find
from tutor.core.text import plural


def _asked_for(args: argparse.Namespace) -> list | None:
    """The lessons named on the command line (all when none); None, said on stderr, if one is unknown."""
    catalog = catalog_for(args)
    try:
        return [find(catalog, i) for i in args.ids] if args.ids else catalog.lessons
    except LessonNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def check_lessons(args: argparse.Namespace) -> int:
    items = _asked_for(args)
    if items is None:
        return EXIT_USAGE
    console = Console(stderr=args.json)
    reports = []
    start = time.monotonic()
    with Runner() as runner:
        checker = Checker(runner)
        for item in items:
            variants = variants_to_try(item.lesson, args.variants)
            for variant in variants:
                report = dev_check(checker, item.lesson, variant)
                reports.append(report)
                mark = "[green]✔[/]" if report.ok else "[red]✘[/]"
                label = escape(report.lesson_id) + (f" (variant {variant})" if len(variants) > 1 else "")
                console.print(f"{mark} {label}")
                for problem in report.problems:
                    console.print(f"    [red]{escape(problem)}[/]", highlight=False)
    bad = [r for r in reports if not r.ok]
    if args.json:
        print(
            json.dumps([{"id": r.lesson_id, "variant": r.variant, "ok": r.ok, "problems": r.problems} for r in reports], indent=2)
        )
    console.print(f"{len(reports) - len(bad)} passed, {len(bad)} failed ({time.monotonic() - start:.1f} s)")
    return EXIT_FAIL if bad else EXIT_OK


def variant_spread(args: argparse.Namespace) -> int:
    """`tutor dev variants`: do each drill's variants change the code the learner types?"""
    from engine.lessons.diversity import SAMPLED, spread

    items = _asked_for(args)
    if items is None:
        return EXIT_USAGE
    drills = [item.lesson for item in items if item.lesson.params or item.lesson.kind == "drill"]
    spreads = [spread(lesson, SAMPLED) for lesson in drills]
    bad = [s for s in spreads if not s.ok]
    if args.json:
        print(json.dumps([
            {"id": s.lesson_id, "sampled": s.sampled, "distinct": s.distinct, "required": s.required, "ok": s.ok}
            for s in spreads
        ], indent=2))  # fmt: skip
        return EXIT_FAIL if bad else EXIT_OK
    console = Console()
    for s in spreads:
        mark = "[green]✔[/]" if s.ok else "[red]✘[/]"
        what = "ask a different question" if s.quiz else "differ in what is typed"
        console.print(f"{mark} {escape(s.lesson_id)}: {s.distinct} of {s.sampled} variants {what}"
                      + ("" if s.ok else f" (needs {s.required})"), highlight=False)  # fmt: skip
    good = len(spreads) - len(bad)
    console.print(f"{plural(good, 'drill')} {'varies' if good == 1 else 'vary'} enough, {len(bad)} do not")
    return EXIT_FAIL if bad else EXIT_OK
