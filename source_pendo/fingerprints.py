"""What a bucket of event rows holds, in a few bytes: the digest that tells a daily sync which
buckets it already has unchanged.

Pendo sums each bucket's pre-aggregated rows in one `group` stage per query (one row per bucket and
object with their count and the sums of numEvents and numMinutes). A late event raises a sum; a
retagged page or feature moves rows from one object to another. The digest of a bucket is 8 hex
digits of BLAKE2b over those rows in object order, so a few bytes of state per bucket stand for it.

Raw guide and poll rows have no bucket column. Pendo runs one pipeline per bucket of the time
series (contract row G2), so grouped per app they give one row per bucket and app with the count,
least, greatest and sum of their times (G3). Such a row counts towards the label its caller names:
the one bucket where Pendo's bucket starts are known (G4), else every label whose bucket may hold
its times in some time zone (a late event then makes two or three days read again, never none). A
row whose times lie further apart than a bucket lasts shows that Pendo grouped the whole range at
once, and the buckets cannot be told apart.
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
# Of the raw events of a bucket and app: their count, least, greatest and summed times.
TIME_FIELDS = ("rows", "first", "last", "total")
# Raw rows are grouped per app: the one column every raw row has that splits no bucket.
TIME_GROUP_PATHS = ("appId",)


def group_fields() -> List[Dict[str, Any]]:
    """The `fields` of the `group` stage, in the list form public Pendo clients send."""
    return [{"rows": {"count": None}}, {"numEvents": {"sum": "numEvents"}}, {"numMinutes": {"sum": "numMinutes"}}]


def time_group_fields(time_column: str) -> List[Dict[str, Any]]:
    """The `fields` that fingerprint raw events by their times."""
    return [{"rows": {"count": None}}, {"first": {"min": time_column}}, {"last": {"max": time_column}}, {"total": {"sum": time_column}}]


class UnreadableFingerprints(ValueError):
    """An answer to the fingerprint query that is not rows of buckets."""


class BucketsNotApart(UnreadableFingerprints):
    """A grouped row of raw events whose times span more than one bucket."""


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


def time_digests(rows: Iterable[Mapping[str, Any]], labels_touching: Callable[[int, int], Iterable[int]], longest_bucket_ms: int) -> Dict[int, str]:
    """{label: digest} of raw events grouped per bucket and app; each row counts towards every label
    `labels_touching` names for its times; labels no row touches are absent."""
    by_label: Dict[int, list] = defaultdict(list)
    for row in rows:
        first, last = (row.get(name) if isinstance(row, Mapping) else None for name in ("first", "last"))
        if not all(isinstance(time, int) and not isinstance(time, bool) for time in (first, last)):
            raise UnreadableFingerprints(f"a grouped row without its least and greatest times: {str(row)[:200]}")
        if last - first >= longest_bucket_ms:
            raise BucketsNotApart(f"one grouped row holds events {(last - first) / 3_600_000:.1f} hours apart, so Pendo grouped several buckets together")
        entry = [*(row.get(name) for name in TIME_GROUP_PATHS), *(row.get(name) for name in TIME_FIELDS)]
        for label in labels_touching(first, last):
            by_label[label].append(entry)
    return {label: _digest(entries) for label, entries in by_label.items()}


def _digest(entries: list) -> str:
    # Raw rows of neighbouring buckets can share a label and an app: the rest of the entry orders them.
    entries.sort(key=lambda entry: (json.dumps(entry[0]), json.dumps(entry[1:], default=str)))
    text = json.dumps(entries, separators=(",", ":"), default=str).encode()
    return hashlib.blake2b(text, digest_size=4).hexdigest()
