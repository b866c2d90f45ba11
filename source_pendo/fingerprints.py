"""What a bucket of pre-aggregated event rows holds, in a few bytes: the digest that tells a daily
sync which buckets it already has unchanged.

Pendo sums each bucket's rows in one `group` stage per query (one row per bucket and object with
their count and the sums of numEvents and numMinutes). A late event raises a sum; a retagged page
or feature moves rows from one object to another. The digest of a bucket is 8 hex digits of
BLAKE2b over those rows in object order, so a few bytes of state per bucket stand for it.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

# The digest of a bucket Pendo has no rows in: such buckets are remembered too.
EMPTY = "0"
# Summed per bucket and object; `rows` is Pendo's count of rows.
FIELDS = ("rows", "numEvents", "numMinutes")


def group_fields() -> List[Dict[str, Any]]:
    """The `fields` of the `group` stage, in the list form public Pendo clients send."""
    return [{"rows": {"count": None}}, {"numEvents": {"sum": "numEvents"}}, {"numMinutes": {"sum": "numMinutes"}}]


class UnreadableFingerprints(ValueError):
    """An answer to the fingerprint query that is not rows of buckets."""


def digests(rows: Iterable[Mapping[str, Any]], bucket_column: str, object_column: Optional[str], label_of_bucket: Callable[[int], int]) -> Dict[int, str]:
    """{bucket label: digest} of the grouped rows; buckets without a row are absent."""
    by_label: Dict[int, list] = defaultdict(list)
    for row in rows:
        bucket = row.get(bucket_column) if isinstance(row, Mapping) else None
        if not isinstance(bucket, int) or isinstance(bucket, bool):
            raise UnreadableFingerprints(f"a grouped row without a '{bucket_column}' time: {str(row)[:200]}")
        values = [row.get(name) for name in FIELDS]
        by_label[label_of_bucket(bucket)].append([None if object_column is None else row.get(object_column), *values])
    return {label: _digest(entries) for label, entries in by_label.items()}


def _digest(entries: list) -> str:
    entries.sort(key=lambda entry: json.dumps(entry[0]))
    text = json.dumps(entries, separators=(",", ":"), default=str).encode()
    return hashlib.blake2b(text, digest_size=4).hexdigest()
