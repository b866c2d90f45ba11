"""HTTP side of the simulator: auth, routing, streamed responses, faults on the wire, request log.

The handler talks to a *backend* (the ``PendoSimulator``) through these attributes:
``dataset``, ``clock_ms``, ``faults``, ``key_ring``, ``log``, and optionally ``events``
(the ``EventLog`` behind the time-series sources and visitor history), ``variants`` (the
active variant names) and ``deleted_visitor_ids``.
"""
from __future__ import annotations

import itertools
import json
import re
import socket
import struct
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

from . import event_sources  # noqa: F401  (registers the time-series sources)
from .faults import Fault
from .pipeline import AggregationError, compile_aggregation, source_name_of

API_PREFIX = "/api/v1/"
KEY_HEADER = "x-pendo-integration-key"
JSON_TYPE = "application/json"
CHUNK_BYTES = 64 * 1024
# REST path -> Dataset rows attribute.
COLLECTIONS = {"page": "pages", "feature": "features", "guide": "guides", "report": "reports", "tracktype": "track_types", "segment": "segments"}
SCHEMAS = {"metadata/schema/account": "account_schema", "metadata/schema/visitor": "visitor_schema"}
WRONG_REGION_MESSAGE = "invalid subscription or key for this region"
# /api/v1/visitor/{visitorId}/history on the raw (still percent-encoded) path.
_HISTORY_PATH = re.compile(r"^/api/v1/visitor/([^/]+)/history/?$")
# Faults that replace the response instead of changing how it is sent.
_REPLACING_FAULTS = {"status", "missing_results"}
# What a mangled answer holds where a row should be.
_NOT_JSON = b'{"id":oops'



# --- auth ----------------------------------------------------------------------


@dataclass(frozen=True)
class IntegrationKey:
    key: str
    region: str
    revoked: bool = False
    read_only: bool = False


class KeyRing:
    def __init__(self, region: str, keys: Iterable[IntegrationKey], *, wrong_region_status: int = 400):
        self.region = region
        self.wrong_region_status = wrong_region_status
        self._keys = {key.key: key for key in keys}

    def check(self, key: str | None, *, aggregation: bool) -> tuple[int, str] | None:
        """(status, message) refusing the request, or None to let it through."""
        if not key:
            return 401, f"missing {KEY_HEADER} header"
        known = self._keys.get(key)
        if known is None:
            return 401, "invalid integration key"
        if known.region != self.region:
            return self.wrong_region_status, WRONG_REGION_MESSAGE
        if known.revoked:
            return 403, "integration key has been revoked"
        if aggregation and known.read_only:
            return 403, 'this integration key is read-only: the aggregation API needs a key with "Allow Write Access"'
        return None


# --- request log ---------------------------------------------------------------


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# --- response bodies -----------------------------------------------------------


@dataclass
class JsonStream:
    """A JSON document written row by row: ``prefix``, the encoded rows, ``suffix``."""

    prefix: bytes
    rows: Iterator[bytes]
    suffix: bytes

    def pieces(self) -> Iterator[bytes]:
        yield self.prefix
        yield from self.rows
        yield self.suffix


@dataclass
class Reply:
    status: int
    body: bytes | JsonStream
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)

    def pieces(self) -> Iterator[bytes]:
        return iter([self.body]) if isinstance(self.body, bytes) else self.body.pieces()


def encode_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _encoded_rows(rows: Iterable[Any]) -> Iterator[bytes]:
    separator = b""
    for row in rows:
        yield separator + encode_json(row)
        separator = b","


def array_stream(rows: Iterable[Any]) -> JsonStream:
    return JsonStream(b"[", _encoded_rows(rows), b"]")


def aggregation_stream(start_time: int, rows: Iterable[Any]) -> JsonStream:
    return JsonStream(b'{"startTime":%d,"results":[' % start_time, _encoded_rows(rows), b"]}")


def null_results_reply(start_time: int) -> Reply:
    return Reply(200, encode_json({"startTime": start_time, "results": None}))


def error_reply(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status, encode_json({"message": message}), headers=headers or [])


def _html_error_page(status: int) -> bytes:
    title = f"{status} {_phrase(status)}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def fault_reply(fault: Fault, clock_ms: int) -> Reply:
    params = fault.params
    if fault.kind == "status":
        status = params["status"]
        headers = [] if params["retry_after"] is None else [("Retry-After", str(params["retry_after"]))]
        if params["html"]:
            return Reply(status, _html_error_page(status), "text/html; charset=utf-8", headers)
        return error_reply(status, f"simulated {status} {_phrase(status)}", headers)
    if fault.kind == "missing_results":
        return Reply(200, encode_json({"startTime": clock_ms}))
    raise ValueError(f"fault {fault.kind!r} does not replace the response")


def _collection_rows(rows: list[dict[str, Any]], default_app_id: int, expand_all: bool) -> Iterator[dict[str, Any]]:
    # Subscription-wide objects (appId null: some reports and segments) belong to every app.
    return (row for row in list(rows) if expand_all or row.get("appId") in (default_app_id, None))


# --- handler -------------------------------------------------------------------


class PendoRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "PendoSimulator/1.0"
    # Headers and body go out in separate writes; with Nagle on, each response would
    # wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: SimulatorServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # --- one request ---

    def _serve(self) -> None:
        backend = self.server.backend
        target = urlsplit(self.path)
        path = unquote(target.path)
        try:
            raw = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(error_reply(400, "malformed request body framing"), None)
            return
        body = _parse_json(raw)
        source = source_name_of(body) if path.rstrip("/").endswith("/aggregation") else None
        fault = backend.faults.match(path, source)
        entry = {
            "method": self.command,
            "path": path,
            "query": dict(parse_qsl(target.query, keep_blank_values=True)),
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body": body,
            "status": None,
            "fault": fault.kind if fault else None,
        }
        gate = getattr(backend, "gate", None)
        if gate is not None:
            gate.hold(path)
        if fault is not None and fault.kind == "reset":
            backend.log.append(entry)
            self._reset_connection()
            return
        if fault is not None and fault.kind in _REPLACING_FAULTS:
            reply = fault_reply(fault, backend.clock_ms)
        else:
            try:
                reply = self._route(path, entry["query"], entry["headers"], body, target.path)
            except Exception as error:  # a simulator bug: answer it rather than drop the connection
                traceback.print_exc()
                reply = error_reply(500, f"simulator error: {error!r}")
        entry["status"] = reply.status
        # Logged before the first byte goes out, so a client that got its answer sees the entry.
        backend.log.append(entry)
        self._send(reply, fault)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _route(self, path: str, query: dict[str, str], headers: dict[str, str], body: Any, raw_path: str = "") -> Reply:
        backend = self.server.backend
        if not path.startswith(API_PREFIX):
            return error_reply(404, f"no such endpoint: {path}")
        resource = path[len(API_PREFIX):].strip("/")
        refusal = backend.key_ring.check(headers.get(KEY_HEADER), aggregation=resource == "aggregation" and self.command == "POST")
        if refusal is not None:
            return error_reply(*refusal)
        if resource in COLLECTIONS:
            return self._require("GET") or Reply(
                200, array_stream(_collection_rows(backend.dataset.rows(COLLECTIONS[resource]), backend.dataset.default_app_id, query.get("expand") == "*"))
            )
        if resource in SCHEMAS:
            return self._require("GET") or Reply(200, encode_json(getattr(backend.dataset, SCHEMAS[resource])))
        if resource == "aggregation":
            return self._require("POST") or self._aggregate(headers, body)
        history = _HISTORY_PATH.match(raw_path)
        if history is not None and getattr(backend, "events", None) is not None:
            # Only the id segment is decoded, so an encoded "/" inside an id survives.
            return self._require("GET") or self._history(unquote(history.group(1)), query)
        return error_reply(404, f"no such endpoint: {path}")

    def _require(self, method: str) -> Reply | None:
        if self.command == method:
            return None
        return error_reply(405, f"{self.command} is not allowed here; use {method}", [("Allow", method)])

    def _aggregate(self, headers: dict[str, str], body: Any) -> Reply:
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON_TYPE:
            return error_reply(415, f"Content-Type must be {JSON_TYPE}, got {content_type or 'none'}")
        if body is None:
            return error_reply(400, "request body is empty or not valid JSON")
        backend = self.server.backend
        now = backend.clock_ms  # one clock for what is visible and for startTime
        variants = getattr(backend, "variants", frozenset())
        try:
            aggregation = compile_aggregation(body, backend.dataset, clock_ms=now, events=getattr(backend, "events", None), variants=variants)
        except AggregationError as error:
            return error_reply(error.status, str(error))
        rows = aggregation.rows()
        if "null_results" in variants:
            first = next(rows, None)  # rows are objects, never null
            if first is None:
                return null_results_reply(now)
            rows = itertools.chain([first], rows)
        return Reply(200, aggregation_stream(now, rows))

    def _history(self, visitor_id: str, query: dict[str, str]) -> Reply:
        backend = self.server.backend
        events = backend.events
        if "starttime" not in query:
            return error_reply(400, "starttime is required (epoch milliseconds)")
        raw_start = query["starttime"].strip()
        if not re.fullmatch(r"-?[0-9]{1,16}", raw_start):
            return error_reply(400, f"starttime must be epoch milliseconds, got {json.dumps(query['starttime'], ensure_ascii=False)}")
        if visitor_id in getattr(backend, "deleted_visitor_ids", frozenset()):
            return error_reply(404, "visitor not found")
        if not events.has_visitor(visitor_id):
            return error_reply(404, f"visitor {json.dumps(visitor_id, ensure_ascii=False)} not found")
        return Reply(200, array_stream(events.history(visitor_id, int(raw_start), backend.clock_ms)))

    # --- writing, with faults on the wire ---

    def _send(self, reply: Reply, fault: Fault | None) -> None:
        kind = fault.kind if fault else None
        try:
            if kind == "truncate":
                self._send_truncated(reply, fault.params["keep_fraction"])
            elif kind == "reset_mid_body":
                self._send_then_reset(reply, fault.params["after_rows"])
            elif kind == "invalid_json":
                self._send_mangled(reply, fault.params["after_rows"])
            elif kind == "stall":
                self._send_then_stall(reply, fault.params["after_rows"], fault.params["seconds"])
            elif kind == "slow":
                self._send_chunked(reply, self._paced(reply.pieces(), fault.params["delay"], fault.params["rows_per_chunk"]))
            elif isinstance(reply.body, bytes):
                self._send_head(reply, len(reply.body))
                self.wfile.write(reply.body)
            else:
                self._send_chunked(reply, _coalesced(reply.pieces()))
        except OSError:
            self.close_connection = True  # the client went away

    def _send_head(self, reply: Reply, content_length: int | None) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        if content_length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(content_length))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()

    def _send_chunked(self, reply: Reply, chunks: Iterator[bytes]) -> None:
        self._send_head(reply, None)
        try:
            for chunk in chunks:
                if chunk:
                    self.wfile.write(b"%X\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            raise  # the client went away; _send handles it
        except Exception:
            # A bug while producing rows: leave the body unterminated so the client sees a failure.
            traceback.print_exc()
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")

    def _paced(self, pieces: Iterator[bytes], delay: float, rows_per_chunk: int) -> Iterator[bytes]:
        while batch := list(itertools.islice(pieces, rows_per_chunk)):
            # Waiting on the stop event (not sleeping) lets stop() cut a slow response short.
            if self.server.stopping.wait(delay):
                raise ConnectionAbortedError("simulator stopping")
            yield b"".join(batch)

    def _send_truncated(self, reply: Reply, keep_fraction: float) -> None:
        whole = b"".join(reply.pieces())
        self._send_head(reply, len(whole))
        self.wfile.write(whole[: min(int(len(whole) * keep_fraction), len(whole) - 1)])
        self.close_connection = True

    def _send_then_reset(self, reply: Reply, after_rows: int) -> None:
        if isinstance(reply.body, bytes):
            self._send_head(reply, len(reply.body))
            self.wfile.write(reply.body[: len(reply.body) // 2])
        else:
            self._send_head(reply, None)
            sent = reply.body.prefix + b"".join(itertools.islice(reply.body.rows, after_rows))
            self.wfile.write(b"%X\r\n%s\r\n" % (len(sent), sent))
        self._reset_connection()

    def _send_mangled(self, reply: Reply, after_rows: int) -> None:
        """The answer's first rows (real ones: only what follows is broken), then text that is not JSON."""
        if isinstance(reply.body, bytes):
            body = reply.body[: len(reply.body) // 2] + _NOT_JSON
        else:
            rows = list(itertools.islice(reply.body.rows, after_rows))
            body = reply.body.prefix + b"".join(rows) + (b"," if rows else b"") + _NOT_JSON
        self._send_head(reply, len(body))
        self.wfile.write(body)

    def _send_then_stall(self, reply: Reply, after_rows: int, seconds: float) -> None:
        """Headers and the first rows, then nothing for `seconds` (cut short by stop()), then the rest."""
        if isinstance(reply.body, bytes):
            self._send_head(reply, len(reply.body))
            self.wfile.write(reply.body[: len(reply.body) // 2])
            rest = [reply.body[len(reply.body) // 2 :]]
        else:
            self._send_head(reply, None)
            sent = reply.body.prefix + b"".join(itertools.islice(reply.body.rows, after_rows))
            self.wfile.write(b"%X\r\n%s\r\n" % (len(sent), sent))
            rest = [b"%X\r\n%s\r\n" % (len(chunk), chunk) for chunk in _coalesced(itertools.chain(reply.body.rows, [reply.body.suffix]))] + [b"0\r\n\r\n"]
        self.wfile.flush()
        if self.server.stopping.wait(seconds):
            raise ConnectionAbortedError("simulator stopping")
        for piece in rest:
            self.wfile.write(piece)

    def _reset_connection(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0) instead of an orderly close."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()  # drop the makefile reference, or close() would not close
            self.connection.close()
        except OSError:
            pass


def _coalesced(pieces: Iterator[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        if len(buffer) >= size:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:  # includes JSONDecodeError and UnicodeDecodeError
        return None


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: Any, *, verbose: bool = False):
        self.backend = backend
        self.verbose = verbose
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, PendoRequestHandler)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Wake handlers idling on keep-alive connections so their threads end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError) and not self.verbose:
            return  # clients disconnecting, resets we caused ourselves
        super().handle_error(request, client_address)
