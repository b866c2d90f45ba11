"""Reading JSON bodies as a stream: one row at a time, never the whole body in memory."""

from __future__ import annotations

from typing import Any, Iterator

import ijson
import requests

RESULT_ROWS = "results.item"
ARRAY_ROWS = "item"


def iter_rows(response: requests.Response, prefix: str) -> Iterator[Any]:
    """The values at `prefix` of a (possibly huge, possibly compressed) body, as they arrive."""
    raw = response.raw
    raw.decode_content = True
    return ijson.items(raw, prefix, use_float=True)
