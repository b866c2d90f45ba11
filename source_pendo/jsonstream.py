"""Reading JSON bodies as a stream: one row at a time, never the whole body in memory, exactly.

Pendo's answers are one array of rows (`{"startTime": …, "results": [row, …]}` or a bare
`[row, …]`), often hundreds of MB. The body is walked key by key (other keys' values are checked
and dropped, `"results": null` is an empty answer), and the rows' array is cut into rows.

Rows are cut in one pass: a scanner skips whole strings (a `}` in one is text) and counts brackets
to find where a row ends, keeping its place when a row goes on past what was read. That is only
needed for a body's first row and where the fast way fails: once a row showed how rows begin
(`},{"visitorId":`, say), all the rows a read brought in are parsed at once by orjson, up to the
last place where that text occurs. If `[` those bytes `]` parse as a list of objects they are
exactly those rows (a JSON value's end is fixed by reading it from its start); if not, the scanner
cuts the rows up to that place one by one, so no byte is parsed in a failed batch twice.

Every value comes out the same whichever way it was parsed: orjson, which reads integers beyond
64 bits as floats and refuses lone surrogates, gives way to Python's json for pieces that might hold
such integers (a run of 19 digits) or that it refuses. There an integer beyond 64 bits becomes its
exact decimal digits in a string (the CDK's message writer, orjson, refuses such ints), a number
beyond a double its text, and a lone surrogate U+FFFD.
"""

from __future__ import annotations

import http.client
import json
import math
import re
from typing import Any, Iterator, List, Optional

import orjson
import requests
import urllib3

RESULT_ROWS = "results.item"
ARRAY_ROWS = "item"
CHUNK_BYTES = 64 * 1024
RESULTS_KEY = "results"

_WHITESPACE = re.compile(rb"[ \t\n\r]*")  # JSON's own whitespace: no form feed, no vertical tab
# What is not a bracket, skipping whole strings: the scanner stops at a bracket or an unclosed string.
_TO_BRACKET = re.compile(rb'(?:[^"{}\[\]]+|"[^"\\]*(?:\\.[^"\\]*)*")*', re.S)
# The rest of a string after its opening quote: stops at its closing quote, or at the end of what
# was read (or at a backslash that ends it).
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.S)
_SCALAR = re.compile(rb"[-+.0-9A-Za-z]*")
# A number that may not fit in 64 bits has 19 digits or more: found as a run of 19 nines after
# every digit became a nine (a tenth of what a regular expression takes on digit-heavy rows).
_DIGITS_AS_NINES = bytes.maketrans(b"0123456789", b"9" * 10)
_NINETEEN_DIGITS = b"9" * 19
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# Python's json pairs surrogates that belong together, so any left are lone.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1
_OPEN_OBJECT, _CLOSE_OBJECT, _OPEN_ARRAY, _CLOSE_ARRAY = b"{}[]"
_QUOTE, _COMMA, _COLON = b'",:'


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
    because it is not the array it should be (`{"results": [...]}`, `{"results": null}` or `[...]`)."""
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
        stream = _Bytes(body, chunk_bytes)
        reader = _array_rows(stream) if prefix == ARRAY_ROWS else _result_rows(stream)
        for batch in reader:
            yield batch
            rows += len(batch)
    except (urllib3.exceptions.ReadTimeoutError, requests.exceptions.Timeout, TimeoutError) as error:
        raise BrokenResponse(f"the response stalled after {rows} rows ({type(error).__name__})", timed_out=True) from error
    except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, http.client.HTTPException, OSError) as error:
        raise BrokenResponse(f"the connection broke after {rows} rows ({type(error).__name__})") from error
    except _InvalidJson as error:
        raise BrokenResponse(f"the response is not valid JSON after {rows} rows ({error})") from error
    except _BodyError as error:
        raise BrokenResponse(f"the response {error} after {rows} rows") from error


class _BodyError(Exception):
    """The body is cut short or not the JSON it should be (the message says how)."""


class _InvalidJson(Exception):
    """The body is not JSON (the message says where)."""


def _loads_exactly(data: bytes) -> Any:
    """One JSON value, parsed by orjson where that is exact (see the module's doc).

    Raises _InvalidJson for anything that is not one JSON value."""
    if _NINETEEN_DIGITS not in data.translate(_DIGITS_AS_NINES):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # maybe only a lone surrogate or a number beyond a double: Python's json says which
    return _loads_by_python(data)


def _loads_by_python(data: bytes) -> Any:
    try:
        value = json.loads(bytes(data).decode("utf-8"), parse_int=_exact_int, parse_float=_exact_float, parse_constant=_no_constant)
    except ValueError as error:
        raise _InvalidJson(str(error)) from None
    return _without_lone_surrogates(value) if _SURROGATE_ESCAPE.search(data) else value


def _exact_int(digits: str) -> Any:
    """An integer, or its digits in a string where it is beyond 64 bits."""
    if len(digits) > 20:  # longer than any 64-bit integer (and int() refuses thousands of digits)
        return digits
    number = int(digits)
    return number if _INT64_MIN <= number <= _UINT64_MAX else digits


def _exact_float(text: str) -> Any:
    number = float(text)
    return number if math.isfinite(number) else text


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _without_lone_surrogates(value: Any) -> Any:
    if type(value) is str:
        return _LONE_SURROGATE.sub("\ufffd", value)
    if type(value) is dict:
        return {_without_lone_surrogates(key): _without_lone_surrogates(item) for key, item in value.items()}
    if type(value) is list:
        return [_without_lone_surrogates(item) for item in value]
    return value


class _Bytes:
    """The body's bytes from `pos` on, read in chunks as they are needed."""

    def __init__(self, body: Any, chunk_bytes: int):
        self._body = body
        self._chunk_bytes = chunk_bytes
        self.data = bytearray()
        self.pos = 0
        self.base = 0  # where data[0] is in the body
        self.head = b""  # the body's first bytes, to show a body of the wrong shape

    def read_more(self) -> bool:
        chunk = self._body.read(self._chunk_bytes)
        if not chunk:
            return False
        if self.pos:
            del self.data[: self.pos]  # cheap: a bytearray drops its front without copying the rest
            self.base += self.pos
            self.pos = 0
        self.data += chunk
        if len(self.head) < 200:
            self.head += chunk[: 200 - len(self.head)]
        return True

    def next_byte(self) -> Optional[int]:
        """The next byte after whitespace (which is consumed), None at the end of the body."""
        while True:
            self.pos = _WHITESPACE.match(self.data, self.pos).end()
            if self.pos < len(self.data):
                return self.data[self.pos]
            if not self.read_more():
                return None

    def value(self, where: str) -> bytes:
        """The bytes of the JSON value that starts at `pos` (after whitespace), consumed; checked only
        as far as needed to find its end."""
        first = self.next_byte()
        if first is None:
            raise _BodyError(f"broke off {where}")
        if first in (_OPEN_OBJECT, _OPEN_ARRAY, _QUOTE):
            scanner = _ValueEnd(first)
            while True:
                end = scanner.end_in(self.data, self.pos)
                if end is not None:
                    break
                if not self.read_more():
                    raise _BodyError(f"broke off {where}")
        else:
            while True:
                end = _SCALAR.match(self.data, self.pos).end()
                if end < len(self.data) or not self.read_more():
                    break
        piece = bytes(self.data[self.pos : end])
        self.pos = end
        return piece

    def expect_end(self, what: str) -> None:
        if self.next_byte() is not None:
            raise _BodyError(f"has more after its {what}: {bytes(self.data[self.pos : self.pos + 100])!r}")


class _ValueEnd:
    """Where a JSON object, array or string ends, found in one pass over bytes that arrive in
    pieces: strings are skipped whole and brackets counted. The place reached is kept relative to
    the value's start, so the bytes before that start may be dropped between calls."""

    def __init__(self, first: int):
        self._offset = 1
        self._depth = 0 if first == _QUOTE else 1
        self._in_string = first == _QUOTE

    def end_in(self, data: bytearray, start: int) -> Optional[int]:
        """The value's end (exclusive) if `data` from `start` holds all of it, else None."""
        pos = start + self._offset
        size = len(data)
        depth = self._depth
        while True:
            if self._in_string:
                pos = _STRING_REST.match(data, pos).end()
                if pos >= size or data[pos] != _QUOTE:
                    break
                pos += 1
                self._in_string = False
                if depth == 0:
                    return pos
            pos = _TO_BRACKET.match(data, pos).end()
            if pos >= size:
                break
            byte = data[pos]
            pos += 1
            if byte == _QUOTE:
                self._in_string = True  # a string that goes on past what was read
            elif byte == _OPEN_OBJECT or byte == _OPEN_ARRAY:
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return pos
        self._offset = pos - start
        self._depth = depth
        return None


def _array_rows(stream: _Bytes) -> Iterator[List[dict]]:
    if stream.next_byte() is None:
        raise _BodyError("is empty")
    if stream.next_byte() != _OPEN_ARRAY:
        _refuse_shape(stream, "a JSON array")
    stream.pos += 1
    yield from _rows(stream)
    stream.expect_end("array")


def _result_rows(stream: _Bytes) -> Iterator[List[dict]]:
    """The rows of `{…, "results": [...], …}`, each other key's value checked and dropped."""
    if stream.next_byte() is None:
        raise _BodyError("is empty")
    if stream.next_byte() != _OPEN_OBJECT:
        _refuse_shape(stream, f"'{RESULTS_KEY}'")
    stream.pos += 1
    has_results = False
    if stream.next_byte() == _CLOSE_OBJECT:
        stream.pos += 1
    else:
        while True:
            if stream.next_byte() != _QUOTE:
                _refuse_byte(stream, "a key")
            key = _loads_exactly(stream.value("in a key"))
            if stream.next_byte() != _COLON:
                _refuse_byte(stream, "a colon")
            stream.pos += 1
            if key != RESULTS_KEY:
                _loads_exactly(stream.value("before its rows" if not has_results else "after its rows"))
            elif has_results:
                raise _BodyError(f"has '{RESULTS_KEY}' twice")
            else:
                has_results = True
                if stream.next_byte() == _OPEN_ARRAY:
                    stream.pos += 1
                    yield from _rows(stream)
                elif _loads_exactly(stream.value("before its rows")) is not None:
                    raise _BodyError(f"has '{RESULTS_KEY}' that is neither rows nor null")
            if _closed_after_member(stream, _CLOSE_OBJECT, "a comma or '}'"):
                break
    stream.expect_end("object")
    if not has_results:
        raise _BodyError(f"has no rows and is not '{RESULTS_KEY}': {stream.head!r}")


def _refuse_shape(stream: _Bytes, expected: str) -> None:
    """A body that is not the expected shape: invalid JSON, or JSON of another shape."""
    _loads_exactly(stream.value("at its start"))
    stream.expect_end("value")
    raise _BodyError(f"has no rows and is not {expected}: {stream.head!r}")


def _closed_after_member(stream, close: int, expected: str) -> bool:
    """Takes the comma or closing bracket after a member: True when it closed the container."""
    separator = stream.next_byte()
    stream.pos += 1
    if separator == close:
        return True
    if separator != _COMMA:
        stream.pos -= 1
        _refuse_byte(stream, expected)
    return False


def _refuse_byte(stream: _Bytes, expected: str) -> None:
    if stream.next_byte() is None:
        raise _BodyError(f"broke off where {expected} should be")
    raise _InvalidJson(f"{expected} expected at byte {stream.base + stream.pos}")


def _rows(stream: _Bytes) -> Iterator[List[dict]]:
    """The rows of an array whose `[` was read, up to and including its `]` (see the module's doc)."""
    first = stream.next_byte()
    if first is None:
        raise _BodyError("broke off before its first row")
    if first == _CLOSE_ARRAY:
        stream.pos += 1
        return
    row_boundary: Optional[bytes] = None  # `},` and how the first row began: where the next rows begin
    failed_batch_end = -1  # where in the body the last batch that did not parse ended
    unsearched = 0  # where in the body the bytes not yet searched for a row boundary begin
    while True:
        if row_boundary is not None and stream.base + stream.pos > failed_batch_end:
            last = stream.data.rfind(row_boundary, max(stream.pos, unsearched - stream.base))
            unsearched = stream.base + len(stream.data) - len(row_boundary) + 1
            if last > stream.pos:
                rows = _parse_rows(stream.data[stream.pos : last + 1])
                if rows is not None:
                    yield rows
                    stream.pos = last + 2
                    continue
                failed_batch_end = stream.base + last  # a row boundary inside a row (in a string)
        piece = stream.value("inside a row")
        row = _loads_exactly(piece)
        if type(row) is not dict:
            raise _BodyError(f"has a row that is not an object: {str(row)[:100]}")
        yield [row]
        if row_boundary is None:
            row_boundary = b"}," + piece[: piece.find(b":") + 1]
        if _closed_after_member(stream, _CLOSE_ARRAY, "a comma or ']' after a row"):
            return


def _parse_rows(rows: bytearray) -> Optional[list]:
    """Consecutive rows (`{…},{…}`) parsed at once, or None if they are not exactly that."""
    try:
        parsed = _loads_exactly(b"[" + rows + b"]")
    except _InvalidJson:
        return None
    return parsed if all(type(row) is dict for row in parsed) else None
