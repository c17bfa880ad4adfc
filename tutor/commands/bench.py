"""`tutor bench check`: benchmarks that print their figures and ratios."""

from __future__ import annotations

import argparse

from tutor.commands import EXIT_OK


def bench(args: argparse.Namespace) -> int:
    if args.what == "check":
        from engine.bench import check_latency

        check_latency(warm_runs=args.warm, cold_runs=args.cold)
    elif args.what == "engine":
        from engine.bench import engine_overhead

        engine_overhead(device=args.device)
    elif args.what == "ui":
        from tutor.bench.ui import ui_cost

        ui_cost()
    elif args.what == "startup":
        from tutor.bench.startup import startup

        startup()
    return EXIT_OK
