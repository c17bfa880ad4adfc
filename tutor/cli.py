"""The `tutor` command line.

With no command it opens the app.  Every other command is headless: it
imports neither textual nor (unless it must run code) torch, so `tutor list`
answers at once.  Command implementations live in `tutor.commands` and are
imported only when chosen.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module
from typing import Callable, Sequence

from engine.jobs.specs import SCHEDULES
from tutor import __version__
from tutor.commands import EXIT_OK


def _lessons_arg(p: argparse.ArgumentParser, top: bool = False) -> None:
    # Sub-commands leave the attribute unset when absent, so a --lessons
    # given before the command name is not clobbered.
    p.add_argument(
        "--lessons",
        action="append",
        default=[] if top else argparse.SUPPRESS,
        metavar="DIR",
        help="add a lesson pack folder (repeatable; TUTOR_LESSONS also adds packs)",
    )


def _json_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON for scripts")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tutor",
        description="Become fluent in PyTorch by writing real code against checkers that tell the truth.",
        epilog="Run `tutor` alone to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"tutor {__version__}")
    _lessons_arg(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list lessons with their status")
    p.add_argument("--track", help="only this track")
    _json_arg(p)
    _lessons_arg(p)
    p.set_defaults(run="tutor.commands.browse:list_lessons")

    p = sub.add_parser("show", help="show a lesson's task")
    p.add_argument("id", help="lesson id, e.g. tensors/zeros")
    p.add_argument("--variant", type=int, help="which seeded variant of a drill (default 0; with --solution, yours)")
    p.add_argument("--solution", action="store_true", help="once passed: your code beside the reference, and why")
    p.add_argument("--force", action="store_true", help="with --solution: show it before a pass")
    p.add_argument("--file", help="with --solution: your code from this file (default: your last saved code)")
    _json_arg(p)
    _lessons_arg(p)
    p.set_defaults(run="tutor.commands.browse:show")

    p = sub.add_parser("hint", help="show a lesson's hints up to a level")
    p.add_argument("id")
    p.add_argument("--level", type=int, default=1, help="how many hint levels to reveal (default 1)")
    p.add_argument("--variant", type=int, default=0)
    _lessons_arg(p)
    p.set_defaults(run="tutor.commands.browse:hint")

    p = sub.add_parser("lessons", help="author tools: validate lesson files, export the schema")
    lsub = p.add_subparsers(dest="lessons_command", metavar="ACTION", required=True)
    v = lsub.add_parser("validate", help="validate lesson files or folders (default: every pack)")
    v.add_argument("paths", nargs="*", help="files or folders")
    _json_arg(v)
    _lessons_arg(v)
    v.set_defaults(run="tutor.commands.authoring:validate")
    s = lsub.add_parser("schema", help="print the lesson JSON Schema")
    s.set_defaults(run="tutor.commands.authoring:schema")
    k = lsub.add_parser("skills", help="the skill vocabulary lessons are tagged with, and how many lessons each has")
    _json_arg(k)
    _lessons_arg(k)
    k.set_defaults(run="tutor.commands.authoring:skills")

    p = sub.add_parser("check", help="check a file against a lesson (exit 0 pass, 1 fail, 2 error)")
    p.add_argument("id", help="lesson id, or a path to a lesson YAML file")
    p.add_argument("file", help="your Python file")
    p.add_argument("--variant", type=int, help="which seeded variant (default: the one you are on)")
    _json_arg(p)
    _lessons_arg(p)
    p.set_defaults(run="tutor.commands.check:check")

    p = sub.add_parser("train", help="run a built-in training job with live progress (GPU when there is one)")
    p.add_argument("job", help="mnist-mlp, mnist-cnn, cifar-resnet18 or moons-mlp")
    p.add_argument("--device", help="cuda, mps or cpu (default: the best present)")
    p.add_argument("--epochs", type=int, help="train for this many epochs in all")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    p.add_argument("--limit", type=int, help="train on the first N examples only (a quick smoke run)")
    p.add_argument("--checkpoint-every", type=int, default=1, metavar="N", help="save a checkpoint every N epochs")
    p.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule instead of the job's own")
    p.add_argument("--compare-schedules", action="store_true",
                   help="run the job under every schedule in turn and compare them in one table")  # fmt: skip
    _json_arg(p)
    p.set_defaults(run="tutor.commands.train:train")

    p = sub.add_parser("data", help="datasets offline: get, list")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    g = dsub.add_parser("get", help="fetch or convert a dataset and verify it by checksum")
    g.add_argument("name", help="mnist, fashion-mnist, cifar10 or cifar-like")
    g.add_argument("--force", action="store_true", help="fetch again even if present")
    g.add_argument("--from", dest="source", help="cifar10: the folder holding the real dataset")
    g.set_defaults(run="tutor.commands.data:get")
    ls = dsub.add_parser("list", help="which datasets are present and sound")
    _json_arg(ls)
    ls.set_defaults(run="tutor.commands.data:list_datasets")

    p = sub.add_parser("today", help="today's plan: due reviews first, then new lessons, sized to your daily goal")
    p.add_argument("--goal", type=int, metavar="MINUTES", help="set your daily goal in minutes (default 30)")
    _json_arg(p)
    _lessons_arg(p)
    p.set_defaults(run="tutor.commands.today:today")

    p = sub.add_parser("stats", help="your progress per track and seed, attempts and timed runs")
    _json_arg(p)
    _lessons_arg(p)
    p.set_defaults(run="tutor.commands.stats:stats")

    p = sub.add_parser("speed", help="timed speed-coding: challenges and sprints against the clock")
    p.add_argument("challenge", nargs="?", help="start this challenge at once")
    p.add_argument("--list", action="store_true", help="list challenges with time limits and personal bests")
    _json_arg(p)
    _lessons_arg(p)
    p.set_defaults(run="tutor.commands.speed:speed")

    p = sub.add_parser("watch", help="check a lesson's file on every save, headless; pass moves on")
    p.add_argument("id", nargs="?", help="lesson id (default: where you left off)")
    p.add_argument("--once", action="store_true", help="stop after the first pass")
    _lessons_arg(p)
    p.set_defaults(run="tutor.commands.watch:watch")

    p = sub.add_parser("sheet", help="the API a track's lessons use: signature, meaning, the lesson that teaches it")
    p.add_argument("track", nargs="?", help="one track (default: all)")
    _json_arg(p)
    _lessons_arg(p)
    p.set_defaults(run="tutor.commands.sheet:sheet")

    p = sub.add_parser("review", help="work through today's plan in your editor: each item is checked on every save")
    p.add_argument("--once", action="store_true", help="stop after the first item passes")
    _lessons_arg(p)
    p.set_defaults(run="tutor.commands.review:review")

    p = sub.add_parser("dev", help="lesson author checks")
    dsub = p.add_subparsers(dest="dev_command", metavar="ACTION", required=True)
    d = dsub.add_parser("check", help="starter fails, reference passes, every decoy fails naming its mistake")
    d.add_argument("ids", nargs="*", help="lesson ids (default: all)")
    d.add_argument("--variants", type=int, default=3, help="variants to try for parameterised drills")
    _json_arg(d)
    _lessons_arg(d)
    d.set_defaults(run="tutor.commands.dev:check_lessons")
    d = dsub.add_parser("sheet", help="regenerate lessons/_sheet.json, the syntax sheets, from the lessons")
    d.set_defaults(run="tutor.commands.sheet:write_sheet")
    d = dsub.add_parser("variants", help="do a drill's variants change the code the learner types? (20 drawn, 5 must differ)")
    d.add_argument("ids", nargs="*", help="lesson ids (default: every drill with params)")
    _json_arg(d)
    _lessons_arg(d)
    d.set_defaults(run="tutor.commands.dev:variant_spread")

    p = sub.add_parser("bench", help="measure the engine and the app: figures and ratios in one run")
    p.add_argument(
        "what",
        choices=["check", "startup", "engine", "ui"],
        help="check: verdict latency, warm vs a fresh interpreter; startup: time to the app's first frame; "
        "engine: a training loop bare vs under the job engine; "
        "ui: the app's own CPU idle and during a training job, and its key latency",
    )
    p.add_argument("--warm", type=int, default=50, help="warm checks to time")
    p.add_argument("--cold", type=int, default=10, help="fresh-interpreter checks to time")
    p.add_argument("--device", default="cpu", help="engine: the device to train on (cpu, cuda)")
    p.set_defaults(run="tutor.commands.bench:bench")

    p = sub.add_parser("doctor", help="check Python, torch, devices, highlighting and data")
    _json_arg(p)
    p.set_defaults(run="tutor.commands.doctor:doctor")

    return parser


def _resolve(target: str) -> Callable[[argparse.Namespace], int]:
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from tutor.commands.app import open_app  # textual, only for the app

        return open_app(args)
    try:
        return _resolve(args.run)(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
