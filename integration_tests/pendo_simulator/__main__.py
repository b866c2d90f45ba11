"""Run the simulator from a shell: ``python -m integration_tests.pendo_simulator --port 8765``."""
from __future__ import annotations

import argparse
import signal
import threading

from .events import DEFAULT_HITS_PER_DAY, DEFAULT_TIMEZONE
from .simulator import PendoSimulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integration_tests.pendo_simulator", description="Serve a simulated Pendo API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (0 picks a free one)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--accounts", type=int, default=120)
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--objects-per-app", type=int, default=12)
    parser.add_argument("--region", default="us")
    parser.add_argument("--timezone", default=DEFAULT_TIMEZONE, help="the subscription's IANA time zone (day buckets start at its midnight)")
    parser.add_argument("--hits-per-day", type=int, default=DEFAULT_HITS_PER_DAY, help="raw hits generated per day of event data")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    stop_requested = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop_requested.set())

    try:
        simulator = _simulator(args)
    except ValueError as error:  # an unknown time zone, a negative count
        parser.error(str(error))
    with simulator:
        print(f"Pendo simulator listening on {simulator.url} (integration key: {simulator.api_key})", flush=True)
        stop_requested.wait()
    return 0


def _simulator(args: argparse.Namespace) -> PendoSimulator:
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
    )


if __name__ == "__main__":
    raise SystemExit(main())
