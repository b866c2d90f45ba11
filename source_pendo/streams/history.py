"""visitor_history: Pendo's activity of one visitor on one day (`GET /visitor/{id}/history`).

Pendo serves it one visitor and one day per request, so the stream asks only for the visitor-days
that had activity: for each window of days, one (paged) query of the `events` source says which
visitors were active on which day, then those days are fetched, `max_concurrent_requests` at a
time, and emitted in order. A full refresh fetches every active visitor-day of the last 180 days at
most (up to the current day). An incremental sync fetches complete days only, and of the days since
its state plus `lookback_window` only those whose activity changed since they were fetched
(history_days.py); where Pendo cannot tell, every active visitor-day of that range, as a full
refresh would.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Dict, Iterable, List, Mapping, MutableMapping, Optional, Tuple
from urllib.parse import quote

import requests
from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources.streams.call_rate import APIBudget
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from ..concurrency import ordered_map
from ..config import PendoConfig
from ..jsonstream import BrokenResponse
from ..reader import Reader
from ..records import iso_from_ms
from ..row_key import ROW_KEY, identity_json, row_key
from .. import windows
from ..windows import BUCKET_MS, Window, WindowPlan
from .events import Events, WindowRows
from .history_days import DayChanges, find_changes, from_saved, saved_form
from .windowed import WindowedStream

ANONYMOUS_PREFIX = "_PENDO_T_"
# parsedUserAgent's parts, lifted to columns of their own (and part of what identifies an entry).
BROWSER_COLUMNS = ("browser_name", "browser_version", "browser_os")
# What tells one entry of a visitor from another: when, what was used, where, in which browser.
IDENTITY_COLUMNS = ("visitor_id", "ts", "type", "app_id", "page_id", "feature_id", "guide_id", "guide_step_id", "uri", *BROWSER_COLUMNS)
VisitorDay = Tuple[str, int]  # (visitor id, start of the day in Pendo's time zone)
DAY_MS = BUCKET_MS["day"]
FINGERPRINTS = "fingerprints"  # the state's {day: fingerprint} of the days fetched (history_days.py)


def active_visitors(config: PendoConfig, stream_name: str, request_kwargs: Callable[[], Mapping[str, Any]]) -> WindowRows:
    """The `events` rows of a window of days, read only to learn who was active on which day."""
    return WindowRows(
        stream_name,
        Events.source_name,
        "day",
        Events.sort_columns_of("day"),
        Events.group_column,
        config.page_size,
        request_kwargs,
        source_params=lambda window_slice: {"appId": config.app_id_param},
        shape_rows=lambda rows: rows,  # read for two columns, not emitted
    )


class VisitorHistory(WindowedStream):
    name = "visitor_history"
    # Identity columns are often null (guide_id in most entries): the key is their digest instead.
    primary_key = [[ROW_KEY]]
    cursor_field = "ts"
    retention_days = 180
    # A visitor deleted since its events has no history any more: Pendo's 404 is handed back to
    # read_day, which skips that visitor-day instead of failing the stream.
    hand_back_status = 404

    def __init__(self, config: PendoConfig, budget: Optional[APIBudget] = None):
        self._window: Optional[Window] = None
        self._fetched_days: Dict[int, str] = {}  # day label -> fingerprint of what was emitted
        self._changes: Optional[DayChanges] = None  # None: every active day of the range is fetched
        self._visitor_days_fetched = 0
        self._state_with_days: Optional[MutableMapping[str, Any]] = None
        self._activity: Dict[int, Any] = {}  # window's first label -> what learn_activity found, learned ahead
        super().__init__(config, budget)
        # Which visitors were active on which day: Pendo's events, paged as the events stream pages them.
        self.activity = Reader(self, active_visitors(config, self.name, self.streamed_request_kwargs))

    @staticmethod
    def window_period(config: PendoConfig) -> str:
        return "day"

    @property
    def state(self) -> MutableMapping[str, Any]:
        # Read by the CDK after every record: built again only when it changed.
        if self._state_with_days is None:
            cursor = super().state
            self._state_with_days = {**cursor, FINGERPRINTS: saved_form(self._fetched_days)} if cursor and self._fetched_days else cursor
        return self._state_with_days

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        WindowedStream.state.fset(self, value)
        self._fetched_days = from_saved((value or {}).get(FINGERPRINTS))
        self._state_with_days = None

    # One request per visitor-day: its slice is {"visitor_id": …, "day": label}.
    def path(self, stream_slice: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> str:
        """The id as exactly one path segment, whatever it holds (`/ ? # % +`, spaces, non-ASCII)."""
        return f"visitor/{quote(str(stream_slice['visitor_id']), safe='')}/history"

    def request_kwargs(self, **kwargs: Any) -> Mapping[str, Any]:
        # A small body, read whole while the client still retries a connection that breaks.
        return {**self.streamed_request_kwargs(), "stream": False}

    def request_params(self, stream_slice: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> MutableMapping[str, Any]:
        return {"starttime": stream_slice["day"]}

    def parse_response(self, response: requests.Response, stream_slice: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        """A visitor's entries of one day (a small body: read whole)."""
        try:
            entries = response.json()
        except ValueError:
            entries = None
        if not isinstance(entries, list):
            raise BrokenResponse(f"Pendo's history of a visitor for {iso_from_ms(stream_slice['day'])[:10]} was not a readable list of entries")
        return self.records(stream_slice["visitor_id"], entries)

    def stream_slices(self, *, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Optional[Mapping[str, Any]]]:
        plan = self.plan_windows(sync_mode)
        self._visitor_days_fetched = 0
        self._changes = None
        self._activity = {}
        if sync_mode == SyncMode.full_refresh:
            self._fetched_days = {}
        else:
            self._changes = self.find_changes(plan)
        self._state_with_days = None
        range_days = sum((last - first) // DAY_MS + 1 for first, last in plan.runs)
        # While a window's visitor-days are fetched, the next window's are already being learned.
        ahead = min(1, self.config.max_concurrent_requests - 1)
        for window, activity in ordered_map(self.learn_activity, plan.windows(), ahead):
            self._activity[window.first_label] = activity
            yield {"first_label": window.first_label, "buckets": window.buckets}
        if self._changes is not None:
            self.logger.info(
                f"Stream '{self.name}': {len(self._changes.changed)} of {range_days} days changed since the last sync;"
                f" fetched {self._visitor_days_fetched} visitor-days."
            )

    def find_changes(self, plan: WindowPlan) -> Optional[DayChanges]:
        """The days of the plan's range to fetch, the range cut to complete days; None (the range as
        it is, every day fetched) when Pendo cannot tell which days changed."""
        if not plan.runs:
            return None
        # Without fingerprints of its own source, the plan is one run: the whole range.
        [(first, range_last)] = plan.runs
        last = min(range_last, self.last_complete_day())
        try:
            changes, refusal = find_changes(self, self._fetched_days, first, last, self.first_day_kept(last))
        except AirbyteTracedException as error:
            raise self.stopped(error) from error
        if changes is None:
            days = (range_last - first) // DAY_MS + 1
            self.logger.warning(
                f"Stream '{self.name}': Pendo could not tell which days' activity changed ({refusal}). This sync fetches every"
                f" active visitor-day of the {days} days from {iso_from_ms(first)[:10]} again: one request per active"
                " visitor per day, as without change detection."
            )
            return None
        plan.runs = [(first, last)] if first <= last else []
        return changes

    def last_complete_day(self) -> int:
        """The newest day that has ended in every time zone, `settling_hours` after it where set."""
        return self.last_complete_label(windows.now_ms())

    def first_day_kept(self, completed_label: int) -> int:
        """The oldest day a sync after a state of `completed_label` reads again: older days' fingerprints are of no use."""
        return completed_label + DAY_MS - self.config.lookback_window_days * DAY_MS

    def read_records(self, sync_mode, cursor_field=None, stream_slice=None, stream_state=None) -> Iterable[Mapping[str, Any]]:
        self._window = Window(self.period, stream_slice["first_label"], stream_slice["buckets"])
        activity = self._activity.pop(self._window.first_label, None) or self.learn_activity(self._window)[1]
        if isinstance(activity, Exception):
            raise activity
        parts, visitor_days, rows = activity
        skipped = 0
        try:
            for entries in ordered_map(self.fetch_day, visitor_days, self.config.max_concurrent_requests):
                if entries is None:
                    skipped += 1
                    continue
                yield from entries
        except AirbyteTracedException as error:
            raise self.stopped(error) from error
        self._visitor_days_fetched += len(visitor_days) - skipped
        fetched = f"{len(visitor_days) - skipped} active visitor-days fetched, {skipped} skipped (visitor unknown to Pendo)"
        if self._changes is not None:
            changed = sum(part.buckets for part in parts)
            fetched = f"{changed} of {self._window.buckets} days changed, {fetched}"
        self.window_done(self._window, rows, fetched)
        if self._changes is not None:
            kept_from = self.first_day_kept(self._completed_label)
            self._fetched_days.update(self._changes.fingerprints_of(self._window))
            self._fetched_days = {label: digest for label, digest in self._fetched_days.items() if label >= kept_from}
        self._state_with_days = None

    def learn_activity(self, window: Window) -> Tuple[Window, Any]:
        """(window, (the parts of it to fetch, their active visitor-days, rows of events read)), or
        (window, the error that stopped it), to be raised where the window is read: learned in a
        worker thread ahead of the window, after every earlier window was emitted and checkpointed."""
        try:
            parts = [window] if self._changes is None else self._changes.parts_to_fetch(window)
            visitor_days: List[VisitorDay] = []
            rows = 0
            for part in parts:
                active, rows_read = self.active_visitor_days(part)
                visitor_days += active
                rows += rows_read
            if not self.config.include_anonymous_visitors:
                visitor_days = [(visitor, day) for visitor, day in visitor_days if not str(visitor).startswith(ANONYMOUS_PREFIX)]
            return window, (parts, visitor_days, rows)
        except Exception as error:  # noqa: BLE001 - handed to the reading thread as is
            return window, error

    def active_visitor_days(self, window: Window) -> Tuple[List[VisitorDay], int]:
        """Each active visitor-day of the window once, in (day, visitor) order, and how many rows of
        events told them."""
        pairs = set()
        rows = 0
        for row in self.activity.read({"first_label": window.first_label, "buckets": window.buckets}):
            pairs.add((row["visitorId"], row["day"]))
            rows += 1
        return sorted(pairs, key=lambda pair: (pair[1], str(pair[0]))), rows

    def fetch_day(self, visitor_day: VisitorDay) -> Optional[List[Mapping[str, Any]]]:
        """One visitor's entries of one day (a small body: read whole, asked again if unreadable);
        None when Pendo no longer knows the visitor (deleted since its events)."""
        visitor_id, day = visitor_day
        unreadable = f"Pendo's history of a visitor for {iso_from_ms(day)} kept coming back unreadable."
        return self.reader.fetch_readable(lambda: self.read_day({"visitor_id": visitor_id, "day": day}), unreadable)

    def read_day(self, day_slice: Mapping[str, Any]) -> Optional[List[Mapping[str, Any]]]:
        response = self.reader.send(day_slice, None)
        if response.status_code == 404:
            self.logger.warning(
                f"Stream '{self.name}': Pendo has no visitor {day_slice['visitor_id']!r} any more (HTTP 404; deleted since its events?):"
                f" its history of {iso_from_ms(day_slice['day'])[:10]} is skipped."
            )
            return None
        return self.parse_response(response, stream_slice=day_slice)

    def records(self, visitor_id: str, entries: List[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
        """The entries as records, each keyed by its identity and how many entries of the same
        identity came before it in the day's answer: entries equal in every column stay apart."""
        records = []
        seen: Counter = Counter()  # JSON of an identity (hashable whatever the values) -> entries so far
        for entry in entries:
            record = self.shape(entry)
            browser = record.get("parsed_user_agent")
            browser = browser if isinstance(browser, dict) else {}
            record.update(visitor_id=visitor_id, browser_name=browser.get("name"), browser_version=browser.get("version"), browser_os=browser.get("os"))
            identity = tuple(map(record.get, IDENTITY_COLUMNS))
            text = identity_json(identity)
            record[ROW_KEY] = row_key((*identity, seen[text]))
            seen[text] += 1
            records.append(record)
        return records

    def position(self, stream_slice: Optional[Mapping[str, Any]] = None, token: Any = None) -> str:
        return "before its first window" if self._window is None else f"in the window from {iso_from_ms(self._window.first_label)}"
