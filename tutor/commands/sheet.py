"""`tutor sheet [TRACK]`: the API a track's lessons use, with signatures and what each does.

The built-in pack keeps its sheet in `lessons/_sheet.json` (`tutor dev sheet`
writes it; a test keeps it in step with the lessons); an extra pack's sheet
is generated on the spot, which needs torch.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from engine.lessons import sheet as sheets
from engine.lessons.loader import BUILTIN_LESSONS
from tutor.commands import EXIT_OK, EXIT_USAGE
from tutor.core.lookup import catalog_for


def course_sheet(args: argparse.Namespace) -> dict:
    """The built-in sheet, plus a generated one for each extra pack's tracks."""
    catalog = catalog_for(args)
    sheet = sheets.load(BUILTIN_LESSONS)
    extra = [item.lesson for item in catalog.lessons if item.pack != BUILTIN_LESSONS.resolve()]
    if extra:
        sheet.update(sheets.build(extra))
    return sheet


def sheet(args: argparse.Namespace) -> int:
    data = course_sheet(args)
    if args.track and args.track not in data:
        print(f"error: no track {args.track!r} with a sheet; tracks: {', '.join(data)}", file=sys.stderr)
        return EXIT_USAGE
    chosen = {args.track: data[args.track]} if args.track else data
    if args.json:
        print(json.dumps(chosen, indent=2, ensure_ascii=False))
        return EXIT_OK
    console = Console()
    for track, entries in chosen.items():
        table = Table(title=track, title_justify="left", show_lines=False, expand=True)
        table.add_column("name", style="cyan", no_wrap=True)
        table.add_column("signature and meaning", ratio=1)
        table.add_column("taught in", style="dim", max_width=28)
        for entry in entries:
            table.add_row(entry["name"], Text.assemble((entry["signature"], "bold"), "\n", entry["meaning"]),
                          ", ".join(entry["lessons"][:2]))  # fmt: skip
        console.print(table)
    return EXIT_OK


def write_sheet(args: argparse.Namespace) -> int:
    """`tutor dev sheet`: regenerate lessons/_sheet.json from the built-in lessons (needs torch)."""
    from engine.lessons.loader import load_paths

    catalog = load_paths([BUILTIN_LESSONS])
    path = BUILTIN_LESSONS / sheets.SHEET_FILE
    path.write_text(sheets.dump(sheets.build([item.lesson for item in catalog.lessons])), encoding="utf-8")
    print(f"wrote {path}")
    return EXIT_OK
