"""visitor_history: Pendo's activity of one visitor on one day (`GET /visitor/{id}/history`).

Pendo serves it one visitor and one day per request, so the stream asks only for the visitor-days
that had activity: for each window of days, one (paged) query of the `events` source says which
visitors were active on which day, then those days are fetched, `max_concurrent_requests` at a
time, and emitted in order. Cost: one request per active visitor per day, for the days since the
last sync plus `lookback_window`, never further back than the 180 days Pendo keeps.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, List, Mapping, Optional, Tuple
from urllib.parse import quote

from airbyte_cdk.models import FailureType, SyncMode
from airbyte_cdk.sources.streams.call_rate import APIBudget
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from ..concurrency import ordered_map
from ..config import PendoConfig
from ..http import request_timeout
from ..records import iso_from_ms
from ..windows import Window
from .base import MAX_RETRIES_WITHOUT_PROGRESS
from .events import Events
from .windowed import WindowedStream

ANONYMOUS_PREFIX = "_PENDO_T_"
# parsedUserAgent's parts, lifted to columns so the primary key can use them.
BROWSER_COLUMNS = ("browser_name", "browser_version", "browser_os")
VisitorDay = Tuple[str, int]  # (visitor id, start of the day in Pendo's time zone)


class ActiveVisitorDays(Events):
    """The `events` rows of a window of days, read only to learn who was active on which day."""

    name = "visitor_history"  # it works for that stream: its messages name it

    @staticmethod
    def window_period(config: PendoConfig) -> str:
        return "day"

    def shape_rows(self, rows: List[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
        return rows  # read for two columns, not emitted

    def visitor_days(self, window: Window) -> List[VisitorDay]:
        """Each active visitor-day of the window once, in (day, visitor) order."""
        pairs = {(row["visitorId"], row["day"]) for row in self.read_window(window)}
        return sorted(pairs, key=lambda pair: (pair[1], str(pair[0])))


class VisitorHistory(WindowedStream):
    name = "visitor_history"
    # Entries of one visitor at one moment differ by what was used, where, and in which browser.
    primary_key = [[column] for column in ("visitor_id", "ts", "type", "app_id", "page_id", "feature_id", "guide_id", "guide_step_id", "uri", *BROWSER_COLUMNS)]
    cursor_field = "ts"
    retention_days = 180

    def __init__(self, config: PendoConfig, budget: Optional[APIBudget] = None):
        self._active = ActiveVisitorDays(config, budget)
        self._window: Optional[Window] = None
        super().__init__(config, budget)

    @staticmethod
    def window_period(config: PendoConfig) -> str:
        return "day"

    # Requests are built and read in fetch_day; the CDK's one-request-per-page path is unused.
    def path(self, **kwargs: Any) -> str:
        return "visitor"

    def parse_response(self, response, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        raise NotImplementedError("visitor_history reads its responses in fetch_day")

    def stream_slices(self, *, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Optional[Mapping[str, Any]]]:
        for window in self.plan_windows(sync_mode).windows():
            yield {"first_label": window.first_label, "buckets": window.buckets}

    def read_records(self, sync_mode, cursor_field=None, stream_slice=None, stream_state=None) -> Iterable[Mapping[str, Any]]:
        self._window = Window(self.period, stream_slice["first_label"], stream_slice["buckets"])
        visitor_days = self._active.visitor_days(self._window)
        if not self.config.include_anonymous_visitors:
            visitor_days = [(visitor, day) for visitor, day in visitor_days if not str(visitor).startswith(ANONYMOUS_PREFIX)]
        try:
            for entries in ordered_map(self.fetch_day, visitor_days, self.config.max_concurrent_requests):
                yield from entries
        except AirbyteTracedException as error:
            raise self.stopped(error) from error
        self.window_done(self._window, self._active.rows_in_window, f"{len(visitor_days)} active visitor-days fetched")

    def fetch_day(self, visitor_day: VisitorDay) -> List[Mapping[str, Any]]:
        """One visitor's entries of one day (a small body: read whole, asked again if unreadable)."""
        visitor_id, day = visitor_day
        for attempt in range(1, MAX_RETRIES_WITHOUT_PROGRESS + 2):
            _, response = self._http_client.send_request(
                "GET",
                f"{self.url_base}visitor/{quote(str(visitor_id), safe='')}/history",
                request_kwargs={"timeout": request_timeout(self.config.request_timeout)},
                headers={},
                params={"starttime": day},
            )
            try:
                entries = response.json()
            except ValueError:
                entries = None
            if isinstance(entries, list):
                return [self.record(visitor_id, entry) for entry in entries]
            time.sleep(self._backoff.backoff_time(None, attempt))
        raise AirbyteTracedException(
            message=f"Pendo's history of a visitor for {iso_from_ms(day)} kept coming back unreadable.",
            failure_type=FailureType.transient_error,
        )

    def record(self, visitor_id: str, entry: Mapping[str, Any]) -> Mapping[str, Any]:
        record = self.shape(entry)
        browser = record.get("parsed_user_agent") or {}
        record.update(visitor_id=visitor_id, browser_name=browser.get("name"), browser_version=browser.get("version"), browser_os=browser.get("os"))
        return record

    def position(self) -> str:
        return "before its first window" if self._window is None else f"in the window from {iso_from_ms(self._window.first_label)}"
