"""Period buckets in the subscription's time zone, and the window a ``timeSeries`` selects.

Buckets
-------
``dayRange``
    A bucket starts at local midnight of the subscription's time zone and ends at the
    next local midnight. In America/New_York that is 04:00Z in summer and 05:00Z in
    winter; the day of a DST change lasts 23 or 25 hours (2026-11-01 runs from
    2026-11-01T04:00Z to 2026-11-02T05:00Z). Where local midnight does not exist (a DST
    gap at midnight), the day starts at the first instant of that local date.
``hourRange``
    A bucket starts at the local top of the hour and lasts 3,600,000 ms (UTC-hour
    aligned for whole-hour offsets; :30 past a UTC hour for e.g. Asia/Kolkata). During a
    fall-back the repeated local hour is two buckets, one per UTC hour.

A row's ``day`` / ``hour`` is the start of its bucket, in epoch ms.

The ``timeSeries`` window
-------------------------
``{"period": "dayRange" | "hourRange", "first": F, "count": N}`` or ``{..., "first": F, "last": L}``
where ``F`` and ``L`` are epoch ms (integers) or ``"now()"`` (the simulator clock).
Exactly one of ``count`` and ``last`` is required; any other key is refused. Let ``B``
be the start of the bucket containing ``F``:

* ``count = N > 0``: the ``N`` buckets starting with ``B``: ``[B, B + N buckets)``.
* ``count = -N < 0``: the ``N`` buckets *ending with* the bucket containing ``F``:
  ``[B - (N - 1) buckets, B + 1 bucket)``. So ``count: -1`` equals ``count: 1``, and
  ``{"first": "now()", "count": -7}`` is the last 7 buckets including the one in progress.
* ``count = 0`` is refused (HTTP 400).
* ``last = L``: from ``B`` up to the bucket containing ``L``, with an exclusive end when
  ``L`` falls on a bucket boundary: ``[B, ceil(L))`` where ``ceil(L)`` is ``L`` itself on a
  boundary, else the start of the bucket after the one containing ``L``. ``L < F`` is
  refused; ``L == F`` on a boundary is an empty window.

A window is a half-open range of bucket starts; every bound is a bucket boundary. Rows
whose bucket lies in it are returned (for raw guide/poll events: ``browserTime`` in
``[start, end)``). Buckets after the clock are empty; the bucket containing the clock is
partial: it grows as the clock advances.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone as dt_timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_RANGE = "dayRange"
HOUR_RANGE = "hourRange"
# timeSeries period -> the row field carrying the bucket start.
PERIOD_FIELDS = {DAY_RANGE: "day", HOUR_RANGE: "hour"}
_PERIOD_ALIASES = {"day": DAY_RANGE, "hour": HOUR_RANGE, DAY_RANGE: DAY_RANGE, HOUR_RANGE: HOUR_RANGE}
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
MAX_BUCKETS = 100_000  # |count| above this is refused rather than overflowing dates
_MIN_MS = 0
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_TIME_SERIES_KEYS = {"period", "first", "count", "last"}


class TimeSeriesError(ValueError):
    """A ``timeSeries`` the API refuses (HTTP 400)."""


def normalize_period(period: Any) -> str:
    """``dayRange``/``hourRange`` (``day``/``hour`` accepted too) or ValueError."""
    normalized = _PERIOD_ALIASES.get(period) if isinstance(period, str) else None
    if normalized is None:
        raise TimeSeriesError(f'timeSeries period must be "dayRange" or "hourRange", got {_show(period)}')
    return normalized


class Calendar:
    """Bucket arithmetic in one IANA time zone (DST-correct, via zoneinfo)."""

    def __init__(self, timezone: str):
        if not isinstance(timezone, str) or not timezone:
            raise ValueError(f"unknown time zone {timezone!r}")
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        self.name = timezone

    def local(self, ms: int) -> datetime:
        seconds, millis = divmod(ms, 1000)
        return datetime.fromtimestamp(seconds, self.zone).replace(microsecond=millis * 1000)

    def day_start(self, day: date) -> int:
        """The first instant (epoch ms) of local date ``day``."""
        # fold=0 resolves a non-existent midnight to the instant the gap ends.
        return int(datetime(day.year, day.month, day.day, tzinfo=self.zone).timestamp()) * 1000

    def bucket_start(self, ms: int, period: str) -> int:
        period = normalize_period(period)
        if period == DAY_RANGE:
            return self.day_start(self.local(ms).date())
        offset = int(self.local(ms).utcoffset().total_seconds()) * 1000
        local_ms = ms + offset
        return local_ms - local_ms % HOUR_MS - offset

    def shift(self, start: int, buckets: int, period: str) -> int:
        """The start of the bucket ``buckets`` periods after (before, if negative) the one starting at ``start``."""
        period = normalize_period(period)
        if period == DAY_RANGE:
            return self.day_start(self.local(start).date() + timedelta(days=buckets))
        return start + buckets * HOUR_MS

    def ceil(self, ms: int, period: str) -> int:
        """``ms`` if it is a bucket start, else the start of the next bucket."""
        start = self.bucket_start(ms, period)
        return start if start == ms else self.shift(start, 1, period)

    def buckets(self, start: int, end: int, period: str) -> list[int]:
        """The bucket starts in ``[start, end)`` (both bucket boundaries)."""
        starts = []
        while start < end:
            starts.append(start)
            start = self.shift(start, 1, period)
        return starts

    def window(self, spec: Any, clock_ms: int) -> tuple[str, int, int]:
        """``(period, start, end)`` of a ``timeSeries`` object; raises TimeSeriesError."""
        if not isinstance(spec, Mapping):
            raise TimeSeriesError(f"timeSeries must be an object, got {_show(spec)}")
        unknown = sorted(set(spec) - _TIME_SERIES_KEYS)
        if unknown:
            raise TimeSeriesError(f"timeSeries does not take {', '.join(unknown)}")
        if "period" not in spec:
            raise TimeSeriesError("no period specified for time series source")
        period = normalize_period(spec["period"])
        if "first" not in spec:
            raise TimeSeriesError("timeSeries needs first (epoch ms or \"now()\")")
        first = _time_value("first", spec["first"], clock_ms)
        has_count, has_last = "count" in spec, "last" in spec
        if has_count == has_last:
            raise TimeSeriesError("timeSeries needs exactly one of count and last")
        start = self.bucket_start(first, period)
        if has_count:
            count = spec["count"]
            if not _is_integer(count) or count == 0 or abs(count) > MAX_BUCKETS:
                raise TimeSeriesError(f"timeSeries count must be a non-zero integer within ±{MAX_BUCKETS}, got {_show(count)}")
            if count > 0:
                return period, start, self.shift(start, count, period)
            return period, self.shift(start, count + 1, period), self.shift(start, 1, period)
        last = _time_value("last", spec["last"], clock_ms)
        if last < first:
            raise TimeSeriesError("timeSeries last must not be before first")
        return period, start, self.ceil(last, period)


def _time_value(name: str, value: Any, clock_ms: int) -> int:
    if isinstance(value, str) and value.replace(" ", "") == "now()":
        return clock_ms
    if not _is_integer(value) or not _MIN_MS <= value <= _MAX_MS:
        raise TimeSeriesError(f'timeSeries {name} must be epoch milliseconds or "now()", got {_show(value)}')
    return value


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def iso(ms: int) -> str:
    """Epoch ms as an ISO UTC string (for messages and debugging)."""
    return datetime.fromtimestamp(ms / 1000, dt_timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
