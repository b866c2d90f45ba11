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
from dataclasses import dataclass
from typing import Iterator

BUCKET_MS = {"day": 86_400_000, "hour": 3_600_000}
ANCHOR_OFFSET_MS = {"day": 12 * 3_600_000, "hour": 15 * 60_000}
# A bucket counts as complete (final for the cursor) once this long after its UTC label ends:
# local days end up to 14 h after UTC ones; hours are processed ~15 minutes after they end.
SETTLE_MS = {"day": 14 * 3_600_000, "hour": 3_600_000}
MAX_WINDOW_BUCKETS = {"day": 31, "hour": 7 * 24}


def now_ms() -> int:
    return int(time.time() * 1000)


def label_of(ms: int, period: str) -> int:
    """The UTC label (start of the UTC date or hour) of the moment `ms`."""
    return ms - ms % BUCKET_MS[period]


def anchor(label_ms: int, period: str) -> int:
    """The moment sent as `timeSeries.first` for the bucket labelled `label_ms`."""
    return label_ms + ANCHOR_OFFSET_MS[period]


def last_complete_label(now_ms: int, period: str) -> int:
    """The label of the newest bucket that is complete at `now_ms`."""
    return label_of(now_ms - SETTLE_MS[period], period) - BUCKET_MS[period]


def label_of_bucket(bucket_start_ms: int, period: str) -> int:
    """The label whose anchor lies in the Pendo bucket starting at `bucket_start_ms` (a row's `day` or
    `hour`): the one label in [start - anchor offset, start - anchor offset + a bucket)."""
    return label_of(bucket_start_ms - ANCHOR_OFFSET_MS[period] + BUCKET_MS[period] - 1, period)


def newest_label(now_ms: int, period: str) -> int:
    """The label of the newest bucket worth asking for: its anchor has passed."""
    label = label_of(now_ms, period)
    return label if anchor(label, period) <= now_ms else label - BUCKET_MS[period]


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
    """Windows from `first_label` through `last_label`, sized as they go: a window that needed more
    than a page of rows makes the next ones smaller, one far below a page makes them larger."""

    def __init__(self, period: str, first_label: int, last_label: int, page_size: int, buckets: int = 1):
        self.period = period
        self.next_label = first_label
        self.last_label = last_label
        self.page_size = page_size
        self.buckets = buckets

    def windows(self) -> Iterator[Window]:
        bucket = BUCKET_MS[self.period]
        while self.next_label <= self.last_label:
            remaining = (self.last_label - self.next_label) // bucket + 1
            window = Window(self.period, self.next_label, min(self.buckets, remaining))
            yield window
            self.next_label = window.end_label

    def windows_left(self, after: Window) -> int:
        remaining = max(0, (self.last_label - after.end_label) // BUCKET_MS[self.period] + 1)
        return -(-remaining // self.buckets)

    def observe(self, window: Window, rows: int) -> None:
        """Resize from what the window just read held."""
        if rows > self.page_size:
            self.buckets = max(1, window.buckets * self.page_size // rows)
        elif rows * 4 < self.page_size:
            self.buckets = min(MAX_WINDOW_BUCKETS[self.period], max(self.buckets, window.buckets) * 2)
