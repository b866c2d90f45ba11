"""The project's Pendo simulator, served from its own process for benchmarks, with three additions
made here by wrapping (the simulator itself is not changed):

* a latency model: every aggregation request waits ``--latency-ms`` before its first byte, and its
  body is paced at ``--per-row-us`` per row while it streams; every other request (REST objects,
  metadata, visitor history) waits ``--rest-latency-ms`` before its first byte;
* a response cache (``--cache``): an aggregation body is computed once and replayed byte for byte
  for the same request, so that a measured reader does not wait for the simulator's own sorting
  and filtering (Pendo does that on its servers, not on the reader's CPU);
* a request log under ``GET /__bench/stats`` (and ``GET /__bench/reset`` to clear it): per
  request its kind, source, status, rows, the latency injected and the aggregation body.

It prints one JSON line when ready (``url``, ``api_key``, ``clock_ms``, optionally
``expected_rows``), then serves until its stdin closes or it gets SIGTERM/SIGINT.

    python bench/sim_server.py --visitors 2000 --hits-per-day 2000 --cache --latency-ms 300
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from typing import Any, Iterator

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from integration_tests.pendo_simulator.options import add_simulator_options, simulator_from  # noqa: E402
from integration_tests.pendo_simulator.pipeline import source_name_of  # noqa: E402
from integration_tests.pendo_simulator.server import JsonStream, PendoRequestHandler, Reply, encode_json  # noqa: E402

DAY_MS = 86_400_000
CHUNK_BYTES = 64 * 1024
BENCH_PREFIX = "/__bench/"


class LatencyModel:
    def __init__(self, latency_ms: float, per_row_us: float, rest_latency_ms: float):
        self.aggregation_s = latency_ms / 1000.0
        self.per_row_s = per_row_us / 1_000_000.0
        self.rest_s = rest_latency_ms / 1000.0


class BenchState:
    """What every handler thread shares: the model, the cache and the log."""

    def __init__(self, model: LatencyModel, cache: bool):
        self.model = model
        self.cache_enabled = cache
        self.cache: dict[str, list[tuple[bytes, int]]] = {}
        self.cache_hits = 0
        self.cache_misses = 0
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": list(self.requests),
                "cache": {"enabled": self.cache_enabled, "entries": len(self.cache), "hits": self.cache_hits, "misses": self.cache_misses},
            }

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()


def _chunks(stream: JsonStream) -> Iterator[tuple[bytes, int]]:
    """The body as (about 64 KB of bytes, rows ending in it) pieces, in order."""
    buffer = bytearray(stream.prefix)
    rows = 0
    for row in stream.rows:
        buffer += row
        rows += 1
        if len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer), rows
            buffer.clear()
            rows = 0
    buffer += stream.suffix
    yield bytes(buffer), rows


class BenchHandler(PendoRequestHandler):
    """The simulator's handler, with the latency model, the cache and the log around it."""

    bench: BenchState  # set on the class by serve()

    def _serve(self) -> None:
        if self.path.startswith(BENCH_PREFIX):
            self._entry = None  # a keep-alive handler serves many requests
            self._bench_endpoint()
            return
        self._entry = {"method": self.command, "path": self.path.split("?")[0], "kind": _kind_of(self.path), "status": None, "rows": None, "latency_s": 0.0}
        started = time.perf_counter()
        self._entry["started"] = started
        super()._serve()
        self._entry["seconds"] = round(time.perf_counter() - started, 6)
        self.bench.record(self._entry)

    def _bench_endpoint(self) -> None:
        # Drain a body, if any, so keep-alive framing stays right.
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path.startswith(BENCH_PREFIX + "stats"):
            reply = Reply(200, encode_json(self.bench.snapshot()))
        elif self.path.startswith(BENCH_PREFIX + "reset"):
            self.bench.reset()
            reply = Reply(200, b"{}")
        else:
            reply = Reply(404, b'{"message":"no such bench endpoint"}')
        self._send(reply, None)

    def _send(self, reply: Reply, fault: Any) -> None:
        entry = getattr(self, "_entry", None)
        if entry is not None:
            entry["status"] = reply.status
        super()._send(reply, fault)

    def _route(self, path: str, query: dict, headers: dict, body: Any, raw_path: str = "") -> Reply:
        reply = super()._route(path, query, headers, body, raw_path)
        if self._entry["kind"] != "aggregation" and self.bench.model.rest_s > 0:
            self._wait(self.bench.model.rest_s)
            self._entry["latency_s"] += self.bench.model.rest_s
        return reply

    def _aggregate(self, headers: dict, body: Any) -> Reply:
        bench = self.bench
        self._entry["source"] = source_name_of(body)
        self._entry["body"] = body
        key = json.dumps(body, sort_keys=True, separators=(",", ":")) if bench.cache_enabled else None
        chunks = bench.cache.get(key) if key is not None else None
        if chunks is None:
            reply = super()._aggregate(headers, body)
            if not isinstance(reply.body, JsonStream):
                return reply  # an error answer: sent as the simulator made it
            if key is not None:
                chunks = list(_chunks(reply.body))
                with bench.lock:
                    bench.cache[key] = chunks
                    bench.cache_misses += 1
            else:
                chunks = _chunks(reply.body)
        else:
            with bench.lock:
                bench.cache_hits += 1
        if bench.model.aggregation_s > 0:
            self._wait(bench.model.aggregation_s)
            self._entry["latency_s"] += bench.model.aggregation_s
        return Reply(200, JsonStream(b"", self._paced(chunks), b""))

    def _paced(self, chunks: Any) -> Iterator[bytes]:
        """The chunks, no faster than the per-row cost allows; counts the rows."""
        per_row = self.bench.model.per_row_s
        started = time.perf_counter()
        rows = 0
        for data, count in chunks:
            rows += count
            if per_row > 0:
                ahead = started + rows * per_row - time.perf_counter()
                if ahead > 0:
                    self._wait(ahead)
            yield data
        self._entry["rows"] = rows
        self._entry["latency_s"] += rows * per_row

    def _wait(self, seconds: float) -> None:
        if self.server.stopping.wait(seconds):
            raise ConnectionAbortedError("simulator stopping")


def _kind_of(path: str) -> str:
    path = path.split("?")[0].rstrip("/")
    if path.endswith("/aggregation"):
        return "aggregation"
    if "/visitor/" in path and path.endswith("/history"):
        return "history"
    return "rest"


def serve(args: argparse.Namespace) -> int:
    simulator = simulator_from(args)
    started = time.perf_counter()
    simulator.events.hits  # generate the event log now, not inside the first measured request
    ready: dict[str, Any] = {"generate_seconds": round(time.perf_counter() - started, 3)}
    if args.expect:
        clock = simulator.clock_ms
        ready["expected_rows"] = {
            source: len(simulator.event_rows(source, "day", clock - 60 * DAY_MS, clock + DAY_MS, 'expandAppIds("*")')) for source in args.expect
        }
    BenchHandler.bench = BenchState(LatencyModel(args.latency_ms, args.per_row_us, args.rest_latency_ms), args.cache)
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    simulator.start()
    # The simulator's server takes its handler class from this attribute for every connection.
    simulator._server.RequestHandlerClass = BenchHandler
    ready.update({"url": simulator.url, "api_key": simulator.api_key, "clock_ms": simulator.clock_ms, "pid": os.getpid()})
    print(json.dumps(ready), flush=True)
    if not sys.stdin.isatty():
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    try:
        stop.wait()
    finally:
        simulator.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_simulator_options(parser, port=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="wait before the first byte of every aggregation answer")
    parser.add_argument("--per-row-us", type=float, default=0.0, help="pace aggregation bodies at this many microseconds per row")
    parser.add_argument("--rest-latency-ms", type=float, default=0.0, help="wait before the first byte of every other answer")
    parser.add_argument("--cache", action="store_true", help="compute each aggregation answer once, replay it after")
    parser.add_argument("--expect", nargs="*", default=[], help="time-series sources whose visible row count to put in the ready line")
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
