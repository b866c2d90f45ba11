"""The simulator's command-line options, shared by `python -m integration_tests.pendo_simulator`
and the benchmark's server (bench/sim_server.py)."""
from __future__ import annotations

import argparse

from .events import DEFAULT_HITS_PER_DAY, DEFAULT_TIMEZONE
from .simulator import PendoSimulator
from .variants import ALL, VARIANTS


def add_simulator_options(parser: argparse.ArgumentParser, port: int) -> None:
    parser.add_argument("--port", type=int, default=port, help="port to listen on (0 picks a free one)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--accounts", type=int, default=120)
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--objects-per-app", type=int, default=12)
    parser.add_argument("--region", default="us")
    parser.add_argument("--timezone", default=DEFAULT_TIMEZONE, help="the subscription's IANA time zone (day buckets start at its midnight)")
    parser.add_argument("--hits-per-day", type=int, default=DEFAULT_HITS_PER_DAY, help="raw hits generated per day of event data")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        choices=[*VARIANTS, ALL],
        metavar="NAME",
        help=f"behave like a Pendo variant (repeatable; {ALL!r} for every one): {', '.join(VARIANTS)}",
    )


def simulator_from(args: argparse.Namespace) -> PendoSimulator:
    return PendoSimulator(
        seed=args.seed,
        accounts=args.accounts,
        visitors=args.visitors,
        objects_per_app=args.objects_per_app,
        port=args.port,
        region=args.region,
        verbose=args.verbose,
        timezone=args.timezone,
        hits_per_day=args.hits_per_day,
        variants=args.variant,
    )
