"""Run the simulator from a shell: ``python -m integration_tests.pendo_simulator --port 8765``."""
from __future__ import annotations

import argparse
import signal
import threading

from .options import add_simulator_options, simulator_from


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integration_tests.pendo_simulator", description="Serve a simulated Pendo API on 127.0.0.1.")
    add_simulator_options(parser, port=8765)
    args = parser.parse_args(argv)

    stop_requested = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop_requested.set())

    try:
        simulator = simulator_from(args)
    except ValueError as error:  # an unknown time zone, a negative count
        parser.error(str(error))
    with simulator:
        print(f"Pendo simulator listening on {simulator.url} (integration key: {simulator.api_key})", flush=True)
        stop_requested.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
