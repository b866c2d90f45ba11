"""Reading JSON bodies as a stream: one row at a time, never the whole body in memory."""

from __future__ import annotations

import http.client
import json
from typing import Any, Iterator, Optional

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


def iter_rows(response: requests.Response, prefix: str, required_key: Optional[str] = None) -> Iterator[Any]:
    """The values at `prefix` of a (possibly huge, possibly compressed) body, as they arrive.

    Raises BrokenResponse when the body breaks off, times out, is not JSON, or (given
    `required_key`) holds no rows and lacks that key."""
    raw = response.raw
    raw.decode_content = True
    body = _HeadRecorder(raw) if required_key else raw
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
    if required_key and rows == 0 and not _has_key(body.head, required_key):
        raise BrokenResponse(f"the response has no '{required_key}': {body.head[:200]!r}")


def _has_key(head: bytes, key: str) -> bool:
    try:
        document = json.loads(head)
    except ValueError:
        return False
    return isinstance(document, dict) and key in document
