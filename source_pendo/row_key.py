"""`row_key`: a primary key that is never null, for rows whose identifying columns may be.

A SQL `MERGE ... ON key = key` never matches a null, so a key column that can be null (an event
without an account, a history entry without a guide) makes destinations append duplicates. The key
is instead one column: a 128-bit BLAKE2b digest, in hex, of the identifying values as compact JSON
(`[v1, v2, ...]`, null for an absent column), so null, "" and "null" stay apart.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from functools import partial
from itertools import repeat
from operator import itemgetter, setitem
from typing import Any, Dict, Iterable, List, Sequence, Tuple

import orjson

ROW_KEY = "row_key"

_digest = partial(hashlib.blake2b, digest_size=16)
_hex = hashlib.blake2b.hexdigest  # the unbound method: cheaper per call than a methodcaller


def _json(values: Tuple[Any, ...]) -> bytes:
    try:
        return orjson.dumps(values)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, which orjson refuses
        return json.dumps(values, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def identity_json(values: Sequence[Any]) -> bytes:
    """The values as the compact JSON array a key digests."""
    return _json(tuple(values))


def row_key(values: Sequence[Any]) -> str:
    return _digest(identity_json(values)).hexdigest()


class RowKeys:
    """Adds `row_key` to records, from their `columns` (record names).

    Hot: runs for every event record. Records of one read share one layout, so when every column is
    there the values are taken with one itemgetter and digested without a Python step per record."""

    def __init__(self, columns: Iterable[str]):
        self.columns = tuple(columns)
        if len(self.columns) < 2:
            raise ValueError("a row key is made of two or more columns")
        self._all_present = itemgetter(*self.columns)

    def _values_of(self, record: Dict[str, Any]) -> Tuple[Any, ...]:
        return tuple(map(record.get, self.columns))

    def add(self, records: List[Dict[str, Any]], names: Tuple[str, ...]) -> None:
        """`names`: the columns all `records` have."""
        getter = self._all_present if set(self.columns) <= set(names) else self._values_of
        try:
            keys = list(map(_hex, map(_digest, map(orjson.dumps, map(getter, records)))))
        except orjson.JSONEncodeError:
            keys = [row_key(getter(record)) for record in records]
        deque(map(setitem, records, repeat(ROW_KEY), keys), maxlen=0)
