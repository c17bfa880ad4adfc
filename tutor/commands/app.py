"""`tutor` with no command: open the Textual app."""

from __future__ import annotations

import argparse
import sys


def open_app(args: argparse.Namespace) -> int:
    try:
        from tutor.app import run_app
    except ImportError:
        # The workspace app lands with issue 4; until then say so plainly.
        print("The tutor app is not built yet. Try `tutor list`, `tutor show ID` or `tutor --help`.", file=sys.stderr)
        return 2
    return run_app(lessons=args.lessons)
