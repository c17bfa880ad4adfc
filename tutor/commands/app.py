"""`tutor` with no command: open the Textual app."""

from __future__ import annotations

import argparse


def open_app(args: argparse.Namespace) -> int:
    from tutor.app import run_app

    return run_app(lessons=args.lessons)
