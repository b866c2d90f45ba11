"""Reading JSON bodies as a stream: one row at a time, never the whole body in memory."""

from __future__ import annotations

import http.client
import json
from typing import Any, Iterator

import ijson
import requests
import urllib3

RESULT_ROWS = "results.item"
ARRAY_ROWS = "item"
# Enough of a body's start to tell an empty answer from one without `results`.
HEAD_BYTES = 64 * 1024


class BrokenResponse(Exception):
    """A response that broke off or made no sense part-way: what was read before it stands, the rest
    must be asked for again."""

    def __init__(self, reason: str, timed_out: bool = False):
        super().__init__(reason)
        self.timed_out = timed_out


class _HeadRecorder:
    """A file-like view of a raw body that keeps its first bytes."""

    def __init__(self, raw: Any):
        self._raw = raw
        self.head = b""

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        return chunk


def iter_rows(response: requests.Response, prefix: str) -> Iterator[Any]:
    """The rows at `prefix` (RESULT_ROWS or ARRAY_ROWS) of a (possibly huge, possibly compressed)
    body, as they arrive.

    Raises BrokenResponse when the body breaks off, times out, is not JSON, or holds no rows
    because it is not the array it should be (`{"results": [...]}` or `[...]`)."""
    raw = response.raw
    raw.decode_content = True
    body = _HeadRecorder(raw)
    rows = 0
    try:
        for row in ijson.items(body, prefix, use_float=True):
            rows += 1
            yield row
    except (urllib3.exceptions.ReadTimeoutError, requests.exceptions.Timeout, TimeoutError) as error:
        raise BrokenResponse(f"the response stalled after {rows} rows ({type(error).__name__})", timed_out=True) from error
    except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, http.client.HTTPException, OSError) as error:
        raise BrokenResponse(f"the connection broke after {rows} rows ({type(error).__name__})") from error
    except ijson.JSONError as error:
        raise BrokenResponse(f"the response is not valid JSON after {rows} rows ({error})") from error
    if rows == 0 and not _holds_rows(body.head, prefix):
        expected = "a JSON array" if prefix == ARRAY_ROWS else "'results'"
        raise BrokenResponse(f"the response has no rows and is not {expected}: {body.head[:200]!r}")


def _holds_rows(head: bytes, prefix: str) -> bool:
    """Whether an empty answer is a real empty answer: an empty array where the rows belong."""
    try:
        document = json.loads(head)
    except ValueError:
        return False
    if prefix == ARRAY_ROWS:
        return isinstance(document, list)
    return isinstance(document, dict) and isinstance(document.get(prefix.split(".")[0]), list)
