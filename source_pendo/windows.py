"""Time windows over Pendo's day or hour buckets.

Pendo cuts days at midnight in the subscription's time zone, which the API does not tell. So a
window names its buckets by UTC labels (a UTC date or hour) and asks Pendo for the bucket that
holds a point safely inside the label: noon UTC of a date lies inside that local date for every
UTC offset between -12 and +12 hours, and :15 past a UTC hour inside the local hour that begins at
or before it. Consecutive labels hit consecutive buckets, so windows tile time with no gap or
overlap whatever the time zone and its daylight-saving changes.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

BUCKET_MS = {"day": 86_400_000, "hour": 3_600_000}
ANCHOR_OFFSET_MS = {"day": 12 * 3_600_000, "hour": 15 * 60_000}
# A bucket counts as complete (final for the cursor) once this long after its UTC label ends:
# local days end up to 14 h after UTC ones; hours are processed ~15 minutes after they end.
SETTLE_MS = {"day": 14 * 3_600_000, "hour": 3_600_000}
MAX_WINDOW_BUCKETS = {"day": 31, "hour": 7 * 24}
# The longest and shortest a Pendo bucket lasts: a local day is 23 to 25 hours long across
# daylight-saving changes, which move clocks by a whole hour.
LONGEST_BUCKET_MS = {"day": 25 * 3_600_000, "hour": 3_600_000}
SHORTEST_BUCKET_MS = {"day": 23 * 3_600_000, "hour": 3_600_000}


def now_ms() -> int:
    return int(time.time() * 1000)


def label_of(ms: int, period: str) -> int:
    """The UTC label (start of the UTC date or hour) of the moment `ms`."""
    return ms - ms % BUCKET_MS[period]


def anchor(label_ms: int, period: str) -> int:
    """The moment sent as `timeSeries.first` for the bucket labelled `label_ms`."""
    return label_ms + ANCHOR_OFFSET_MS[period]


def last_complete_label(now_ms: int, period: str, settling_ms: int = 0) -> int:
    """The label of the newest bucket that is complete at `now_ms`: ended in every time zone, and
    `settling_ms` more for the data Pendo adds to a bucket after it ends."""
    return label_of(now_ms - SETTLE_MS[period] - settling_ms, period) - BUCKET_MS[period]


def label_of_bucket(bucket_start_ms: int, period: str) -> int:
    """The label whose anchor lies in the Pendo bucket starting at `bucket_start_ms` (a row's `day` or
    `hour`): the one label in [start - anchor offset, start - anchor offset + a bucket)."""
    return label_of(bucket_start_ms - ANCHOR_OFFSET_MS[period] + BUCKET_MS[period] - 1, period)


def labels_touching(first_ms: int, last_ms: int, period: str) -> range:
    """Every label whose Pendo bucket may hold a moment from `first_ms` through `last_ms`, whatever the
    subscription's time zone: a bucket holds its label's anchor and lasts at most LONGEST_BUCKET_MS."""
    reach, offset = LONGEST_BUCKET_MS[period], ANCHOR_OFFSET_MS[period]
    first = label_of(first_ms - offset - reach, period) + BUCKET_MS[period]
    return range(first, last_ms - offset + reach, BUCKET_MS[period])


def label_between_starts(first_ms: int, last_ms: int, period: str, starts: Sequence[int]) -> Optional[int]:
    """The label of the one Pendo bucket that holds every moment from `first_ms` through `last_ms`,
    told by `starts` (the sorted starts of buckets Pendo named, contract row G4); None where the
    starts do not settle it: no start of a day at or before them, or after them, close enough."""
    if period == "hour" and starts:
        # Every hour starts the same minutes past a UTC hour (changes.bucket_starts checks it of the starts).
        start = first_ms - (first_ms - starts[0]) % BUCKET_MS[period]
        return label_of_bucket(start, period) if last_ms < start + BUCKET_MS[period] else None
    shortest = SHORTEST_BUCKET_MS[period]
    index = bisect_right(starts, first_ms)
    before = starts[index - 1] if index else None
    after = starts[index] if index < len(starts) else None
    if before is not None:
        # Two starts no longer apart than a bucket lasts are one bucket's start and end.
        end = after if after is not None and after - before <= LONGEST_BUCKET_MS[period] else before + shortest
        if last_ms < end:
            return label_of_bucket(before, period)
    if after is not None and after - shortest <= first_ms and last_ms < after:
        # Within the shortest bucket before a start: the bucket before it, whose label is the one before.
        return label_of_bucket(after, period) - BUCKET_MS[period]
    return None


def labels_touched_ahead(period: str) -> int:
    """How many labels past its own the moments of a bucket can touch (`labels_touching`)."""
    return -(-2 * LONGEST_BUCKET_MS[period] // BUCKET_MS[period]) - 1


def newest_label(now_ms: int, period: str) -> int:
    """The label of the newest bucket worth asking for: its anchor has passed."""
    label = label_of(now_ms, period)
    return label if anchor(label, period) <= now_ms else label - BUCKET_MS[period]


# A label in few bytes (state keeps one per bucket): "2026-11-24" for a day, "2026-11-24T05" for an hour.
COMPACT_FORMAT = {"day": "%Y-%m-%d", "hour": "%Y-%m-%dT%H"}


def compact_label(label_ms: int, period: str) -> str:
    return datetime.fromtimestamp(label_ms / 1000, tz=timezone.utc).strftime(COMPACT_FORMAT[period])


def label_from_compact(text: str, period: str) -> Optional[int]:
    """The label `compact_label` wrote for `period`; None for text of another period or none."""
    try:
        moment = datetime.strptime(text, COMPACT_FORMAT[period]).replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None
    return int(moment.timestamp() * 1000)


Run = Tuple[int, int]  # (first label, last label) of consecutive buckets


def runs_of(labels: Iterable[int], period: str) -> List[Run]:
    """The labels as runs of consecutive buckets, in order."""
    runs: List[Run] = []
    for label in sorted(set(labels)):
        if runs and runs[-1][1] + BUCKET_MS[period] == label:
            runs[-1] = (runs[-1][0], label)
        else:
            runs.append((label, label))
    return runs


@dataclass(frozen=True)
class Window:
    period: str
    first_label: int
    buckets: int

    @property
    def end_label(self) -> int:
        """The label after the window's last bucket."""
        return self.first_label + self.buckets * BUCKET_MS[self.period]

    @property
    def last_label(self) -> int:
        return self.end_label - BUCKET_MS[self.period]


class WindowPlan:
    """Windows over runs of consecutive labels (one run: a whole range; several: the buckets that
    changed), sized as they go: a window that needed more than a page of rows makes the next ones
    smaller, one far below a page makes them larger. A window never spans two runs."""

    def __init__(self, period: str, runs: Sequence[Run], page_size: int, buckets: int = 1):
        self.period = period
        self.runs = list(runs)
        self.page_size = page_size
        self.buckets = buckets

    @classmethod
    def over(cls, period: str, first_label: int, last_label: int, page_size: int) -> "WindowPlan":
        """Every bucket from `first_label` through `last_label`."""
        return cls(period, [(first_label, last_label)] if first_label <= last_label else [], page_size)

    def windows(self) -> Iterator[Window]:
        bucket = BUCKET_MS[self.period]
        for first_label, last_label in self.runs:
            next_label = first_label
            while next_label <= last_label:
                window = Window(self.period, next_label, min(self.buckets, (last_label - next_label) // bucket + 1))
                yield window
                next_label = window.end_label

    def next_read_after(self, window: Window) -> Optional[int]:
        """The first label after `window` that the plan reads, None if it reads none."""
        return next((max(first, window.end_label) for first, last in self.runs if last >= window.end_label), None)

    def windows_left(self, after: Window) -> int:
        bucket = BUCKET_MS[self.period]
        left = 0
        for first, last in self.runs:
            remaining = max(0, (last - max(first, after.end_label)) // bucket + 1)
            left += -(-remaining // self.buckets)
        return left

    def observe(self, window: Window, rows: int) -> None:
        """Resize from what the window just read held."""
        if rows > self.page_size:
            self.buckets = max(1, window.buckets * self.page_size // rows)
        elif rows * 4 < self.page_size:
            self.buckets = min(MAX_WINDOW_BUCKETS[self.period], max(self.buckets, window.buckets) * 2)
