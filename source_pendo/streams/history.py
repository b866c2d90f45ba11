"""visitor_history: Pendo's activity of one visitor on one day (`GET /visitor/{id}/history`).

Pendo serves it one visitor and one day per request, so the stream asks only for the visitor-days
that had activity: for each window of days, one (paged) query of the `events` source says which
visitors were active on which day, then those days are fetched. Cost: one request per active
visitor per day, for the days since the last sync plus `lookback_window`, never further back than
the 180 days Pendo keeps.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, List, Mapping, MutableMapping, Optional, Tuple
from urllib.parse import quote

import requests
from airbyte_cdk.models import SyncMode

from ..config import PendoConfig
from ..jsonstream import ARRAY_ROWS, iter_rows
from ..records import iso_from_ms
from ..windows import Window
from .events import Events
from .windowed import WindowedStream

ANONYMOUS_PREFIX = "_PENDO_T_"
# parsedUserAgent's parts, lifted to columns so the primary key can use them.
BROWSER_COLUMNS = ("browser_name", "browser_version", "browser_os")


class ActiveVisitorDays(Events):
    """The `events` rows of a window of days, read only to learn who was active on which day."""

    name = "visitor_history"  # it works for that stream: its messages name it

    @staticmethod
    def window_period(config: PendoConfig) -> str:
        return "day"

    @property
    def shape(self) -> Callable[[Mapping[str, Any]], Mapping[str, Any]]:
        return lambda row: row

    def visitor_days(self, window: Window) -> List[Tuple[str, int]]:
        """(visitor id, start of the day in Pendo's time zone), each once, in the rows' order."""
        pairs: List[Tuple[str, int]] = []
        for row in self.read_window(window):
            pair = (row["visitorId"], row["day"])
            if not pairs or pairs[-1] != pair:
                pairs.append(pair)
        return pairs


class VisitorHistory(WindowedStream):
    name = "visitor_history"
    # Entries of one visitor at one moment differ by what was used, where, and in which browser.
    primary_key = [[column] for column in ("visitor_id", "ts", "type", "app_id", "page_id", "feature_id", "guide_id", "guide_step_id", "uri", *BROWSER_COLUMNS)]
    cursor_field = "ts"
    retention_days = 180

    def __init__(self, config: PendoConfig):
        self._active = ActiveVisitorDays(config)
        self._emitted_in_request = 0
        super().__init__(config)

    @staticmethod
    def window_period(config: PendoConfig) -> str:
        return "day"

    def stream_slices(self, *, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Optional[Mapping[str, Any]]]:
        for window in self.plan_windows(sync_mode).windows():
            pairs = self._active.visitor_days(window)
            if not self.config.include_anonymous_visitors:
                pairs = [pair for pair in pairs if not str(pair[0]).startswith(ANONYMOUS_PREFIX)]
            window_slice = {"first_label": window.first_label, "buckets": window.buckets, "active_rows": self._active.rows_in_window, "visitor_days": len(pairs)}
            for index, (visitor_id, day) in enumerate(pairs):
                yield {**window_slice, "visitor_id": visitor_id, "day": day, "last_of_window": index == len(pairs) - 1}
            if not pairs:
                yield {**window_slice, "last_of_window": True}

    def read_records(self, sync_mode, cursor_field=None, stream_slice=None, stream_state=None) -> Iterable[Mapping[str, Any]]:
        if "visitor_id" in stream_slice:
            self._emitted_in_request = 0
            yield from super().read_records(sync_mode, cursor_field, stream_slice, stream_state)
        if stream_slice["last_of_window"]:
            window = Window(self.period, stream_slice["first_label"], stream_slice["buckets"])
            self.window_done(window, stream_slice["active_rows"], f"{stream_slice['visitor_days']} active visitor-days fetched")

    def path(self, stream_slice: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> str:
        return f"visitor/{quote(str(stream_slice['visitor_id']), safe='')}/history"

    def request_params(self, stream_slice: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> MutableMapping[str, Any]:
        return {"starttime": stream_slice["day"]}

    def parse_response(self, response: requests.Response, stream_slice: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        shape = self.shape
        for index, row in enumerate(iter_rows(response, ARRAY_ROWS)):
            # A day asked for again after it broke off comes whole: skip what was already sent.
            if index < self._emitted_in_request:
                continue
            self._emitted_in_request += 1
            record = shape(row)
            browser = record.get("parsed_user_agent") or {}
            record.update(visitor_id=stream_slice["visitor_id"], browser_name=browser.get("name"), browser_version=browser.get("version"), browser_os=browser.get("os"))
            yield record

    def position(self) -> str:
        return "in its current window" if self._plan is None else f"in the window from {iso_from_ms(self._plan.next_label)}"
