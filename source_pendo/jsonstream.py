"""Reading JSON bodies as a stream: one row at a time, never the whole body in memory.

Pendo's answers are one array of rows (`{"startTime": …, "results": [row, …]}` or a bare
`[row, …]`), often hundreds of MB. In that documented shape each row is cut off the byte stream
and parsed on its own by orjson (about three times faster than an incremental parser building the
same objects); any other shape is read by ijson.

Cutting rows is safe without a tokenizer: every row is an object, so it ends with a `}` followed
by `,` or `]`. Each such place is tried in turn and the first one at which the piece parses as one
complete JSON value is the row's end, because a JSON value's end is fixed by reading it from its
start: no shorter piece of it parses. A `}` inside a string or a nested object only costs a failed
attempt. Once a row showed how rows begin (`{"visitorId":`, say), all the rows a read brought in
are parsed at once, up to the last place where `},` and that beginning meet; the same argument
makes a successful parse of `[` those bytes `]` exactly those rows, and a failed one falls back to
one row at a time.
"""

from __future__ import annotations

import http.client
import json
import re
from typing import Any, Iterator, List, Optional

import ijson
import orjson
import requests
import urllib3

RESULT_ROWS = "results.item"
ARRAY_ROWS = "item"
CHUNK_BYTES = 64 * 1024
# Enough of a body's start to tell its shape, and an empty answer from one without `results`.
HEAD_BYTES = 64 * 1024
# What is left after the rows' array (`}` or more keys) is read whole to check it; it is small.
MAX_TAIL_BYTES = 1024 * 1024

_ARRAY_START = {
    ARRAY_ROWS: re.compile(rb"\s*\["),
    RESULT_ROWS: re.compile(rb'\s*\{\s*(?:"startTime"\s*:\s*-?\d+\s*,\s*)?"results"\s*:\s*\['),
}
# What _ARRAY_START matched, written so that the incremental parser can take over after it.
_OPENING = {ARRAY_ROWS: b"[", RESULT_ROWS: b'{"results":['}
_POSSIBLE_ROW_END = re.compile(rb"\}\s*([,\]])")
_NEXT_CHARACTER = re.compile(rb"\s*(\S)")


class BrokenResponse(Exception):
    """A response that broke off or made no sense part-way: what was read before it stands, the rest
    must be asked for again."""

    def __init__(self, reason: str, timed_out: bool = False):
        super().__init__(reason)
        self.timed_out = timed_out


def iter_rows(response: requests.Response, prefix: str) -> Iterator[dict]:
    """The rows at `prefix` (RESULT_ROWS or ARRAY_ROWS) of a (possibly huge, possibly compressed)
    body, as they arrive.

    Raises BrokenResponse when the body breaks off, times out, is not JSON, or holds no rows
    because it is not the array it should be (`{"results": [...]}` or `[...]`)."""
    return rows_of(_body_of(response), prefix)


def iter_row_batches(response: requests.Response, prefix: str) -> Iterator[List[dict]]:
    """iter_rows, in lists: the rows that each read of the body completed (for per-batch work)."""
    return row_batches_of(_body_of(response), prefix)


def _body_of(response: requests.Response) -> Any:
    raw = response.raw
    raw.decode_content = True
    return raw


def rows_of(body: Any, prefix: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[dict]:
    """iter_rows over any file-like `body` (reads of `chunk_bytes`)."""
    for batch in row_batches_of(body, prefix, chunk_bytes):
        yield from batch


def row_batches_of(body: Any, prefix: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[List[dict]]:
    """iter_row_batches over any file-like `body` (reads of `chunk_bytes`)."""
    rows = 0
    try:
        head = _read_head(body, chunk_bytes)
        start = _ARRAY_START[prefix].match(head)
        if start:
            reader = _cut_rows(body, head, start.end(), prefix, chunk_bytes)
        else:
            reader = _incremental_rows(_Replay(head, body), prefix, head)
        for batch in reader:
            yield batch
            rows += len(batch)
    except (urllib3.exceptions.ReadTimeoutError, requests.exceptions.Timeout, TimeoutError) as error:
        raise BrokenResponse(f"the response stalled after {rows} rows ({type(error).__name__})", timed_out=True) from error
    except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, http.client.HTTPException, OSError) as error:
        raise BrokenResponse(f"the connection broke after {rows} rows ({type(error).__name__})") from error
    except (ijson.JSONError, orjson.JSONDecodeError) as error:
        raise BrokenResponse(f"the response is not valid JSON after {rows} rows ({error})") from error
    except _BodyError as error:
        raise BrokenResponse(f"the response {error} after {rows} rows") from error


class _BodyError(Exception):
    """The body is cut short or not the JSON it should be (the message says how)."""


def _read_head(body: Any, chunk_bytes: int) -> bytes:
    head = b""
    while len(head) < HEAD_BYTES:
        chunk = body.read(chunk_bytes)
        if not chunk:
            break
        head += chunk
    return head


def _cut_rows(body: Any, buffer: bytes, start: int, prefix: str, chunk_bytes: int) -> Iterator[List[dict]]:
    """The documented shape: rows cut at their ends and parsed one by one (see the module's doc)."""
    while True:
        first = _NEXT_CHARACTER.match(buffer, start)
        if first:
            break
        chunk = body.read(chunk_bytes)
        if not chunk:
            raise _BodyError("broke off before its first row")
        buffer += chunk
    if first.group(1) == b"]":
        _check_tail(body, buffer[first.end() :], prefix)
        return
    search = start
    row_boundary: Optional[bytes] = None  # `},` and how the first row began: where the next rows begin
    failed_batch_end = -1
    while True:
        if row_boundary is not None:
            last = buffer.rfind(row_boundary, start)
            if last > start and last != failed_batch_end:
                rows = _parse_rows(buffer[start : last + 1])
                if rows is not None:
                    yield rows
                    start = search = last + 2
                    continue
                failed_batch_end = last  # a row boundary inside a row (in a string): one row at a time
        end = _POSSIBLE_ROW_END.search(buffer, search)
        if end is None:
            row_start = _NEXT_CHARACTER.match(buffer, start)
            if row_start and row_start.group(1) != b"{":  # not an object: let the incremental parser say so
                yield from _read_on_incrementally(body, buffer[start:], prefix)
                return
            chunk = body.read(chunk_bytes)
            if not chunk:
                raise _BodyError("broke off inside a row")
            buffer = buffer[start:] + chunk
            search -= start
            start = 0
            continue
        piece = buffer[start : end.start() + 1]
        try:
            row = orjson.loads(piece)
        except orjson.JSONDecodeError as error:
            if _ends_early(piece, error):
                search = end.end()  # a `}` inside the row: its end is further on
                continue
            # Something orjson refuses (a lone surrogate, NaN, bad JSON): the incremental parser reads
            # the rest of the body, with its own rules and errors.
            yield from _read_on_incrementally(body, buffer[start:], prefix)
            return
        yield [row]
        if row_boundary is None:
            opening = piece.lstrip()
            row_boundary = b"}," + opening[: opening.find(b":") + 1]
        start = search = end.end()
        if end.group(1) == b"]":
            _check_tail(body, buffer[start:], prefix)
            return


def _parse_rows(rows: bytes) -> Optional[list]:
    """Consecutive rows (`{…},{…}`) parsed at once, or None if they are not exactly that."""
    try:
        parsed = orjson.loads(b"[" + rows + b"]")
    except orjson.JSONDecodeError:
        return None
    return parsed if all(type(row) is dict for row in parsed) else None


def _read_on_incrementally(body: Any, unread: bytes, prefix: str) -> Iterator[List[dict]]:
    """The rest of the rows by the incremental parser, from a row's start (`unread`) on."""
    return _incremental_rows(_Replay(_OPENING[prefix] + unread, body), prefix, b"")


def _ends_early(piece: bytes, error: orjson.JSONDecodeError) -> bool:
    """Whether the piece failed only for ending too soon (orjson counts characters, not bytes)."""
    characters = len(piece) if piece.isascii() else len(piece.decode("utf-8", "replace"))
    return error.pos >= characters


def _check_tail(body: Any, tail: bytes, prefix: str) -> None:
    """What follows the rows' array must close the body properly (else it was cut short)."""
    while len(tail) <= MAX_TAIL_BYTES:
        chunk = body.read(CHUNK_BYTES)
        if not chunk:
            break
        tail += chunk
    else:
        raise _BodyError("goes on for more than a MB after its rows")
    if prefix == ARRAY_ROWS:
        if tail.strip():
            raise _BodyError(f"has more after its array: {tail[:100]!r}")
    else:
        orjson.loads(b'{"results":[]' + tail)


class _Replay:
    """A file-like body whose first bytes were already read: those, then the rest."""

    def __init__(self, head: bytes, rest: Any):
        self._head: Optional[bytes] = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head and size != 0:  # ijson reads 0 bytes to learn the body's type
            head, self._head = self._head, None
            return head
        return self._rest.read(size)


def _incremental_rows(body: _Replay, prefix: str, head: bytes) -> Iterator[List[dict]]:
    rows = 0
    for row in ijson.items(body, prefix, use_float=True):
        if not isinstance(row, dict):
            raise _BodyError(f"has a row that is not an object: {str(row)[:100]}")
        rows += 1
        yield [row]
    if rows == 0 and not _holds_rows(head, prefix):
        expected = "a JSON array" if prefix == ARRAY_ROWS else "'results'"
        raise _BodyError(f"has no rows and is not {expected}: {head[:200]!r}")


def _holds_rows(head: bytes, prefix: str) -> bool:
    """Whether an empty answer is a real empty answer: an empty array where the rows belong."""
    try:
        document = json.loads(head)
    except ValueError:
        return False
    if prefix == ARRAY_ROWS:
        return isinstance(document, list)
    return isinstance(document, dict) and isinstance(document.get(prefix.split(".")[0]), list)
