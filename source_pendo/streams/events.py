"""Pendo's event data: one aggregation query per window for every object of the chosen apps, rows
paged inside a window by keyset over the columns that make a row unique."""

from __future__ import annotations

from functools import cached_property
from operator import methodcaller
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

import requests
from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources.streams.call_rate import APIBudget

from .. import aggregation
from ..concurrency import ordered_map
from ..config import PendoConfig
from ..jsonstream import RESULT_ROWS, BrokenResponse, iter_row_batches
from ..records import ObjectShaper, iso_from_ms, snake_case
from ..row_key import ROW_KEY, RowKeys
from ..windows import Window, anchor
from .windowed import WindowedStream

PER_ROW_DIMENSIONS = ["visitorId", "accountId", "appId", "remoteIp", "server", "userAgent"]


class EventStream(WindowedStream):
    http_method = "POST"
    shrinks_pages_on_timeout = True
    source_name: str
    # Pendo's names of the columns that make a row unique, in sort order; "{period}" is day or hour.
    key_columns: List[str]
    # Columns whose inner names are Pendo users' own (kept as they are).
    free_form_columns = ("parameters", "properties")
    # A digest of the key columns: they can be null (a row without an account, IP, ...), a key cannot.
    primary_key = [[ROW_KEY]]

    def __init__(self, config: PendoConfig, budget: Optional[APIBudget] = None):
        self._window: Optional[Window] = None
        self._last_row: Optional[Mapping[str, Any]] = None  # Pendo's last row emitted in the current window
        self._first_pages: Dict[int, Any] = {}  # first label -> a window's first request, sent ahead
        self._rows_in_page = 0
        self.rows_in_window = 0
        super().__init__(config, budget)

    # Asked for on every record by the CDK: computed once.
    @cached_property
    def sort_columns(self) -> List[str]:
        return [column.format(period=self.period) for column in self.key_columns]

    @cached_property
    def cursor_field(self) -> str:
        return snake_case(self.sort_columns[0])

    @cached_property
    def shape(self) -> Callable[[Mapping[str, Any]], dict]:
        identity = RowKeys(snake_case(column.format(period=self.period)) for column in self.key_columns)
        return ObjectShaper(self.get_json_schema(), keep_names_under=self.free_form_columns, add_keys=identity.add)

    def shape_rows(self, rows: List[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
        return self.shape.many(rows)

    def stream_slices(self, *, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Optional[Mapping[str, Any]]]:
        """The windows in order, each one's first request sent ahead: while a window is read, the next
        ones' requests are already waiting on Pendo (with the reading window's own, at most
        `max_concurrent_requests` at once)."""
        windows = ({"first_label": window.first_label, "buckets": window.buckets} for window in self.plan_windows(sync_mode).windows())
        for window_slice, first_page in ordered_map(self._send_first_request, windows, self.config.max_concurrent_requests - 1):
            self._first_pages[window_slice["first_label"]] = first_page
            yield window_slice

    def _send_first_request(self, window_slice: Mapping[str, Any]) -> tuple:
        """(slice, (request, response) or the error), in a worker thread; the error is raised where
        the window is read, after every earlier window was emitted and checkpointed."""
        try:
            return window_slice, super()._fetch_next_page(window_slice)
        except Exception as error:  # noqa: BLE001 - handed to the reading thread as is
            return window_slice, error

    def _fetch_next_page(self, stream_slice=None, stream_state=None, next_page_token=None):
        sent = self._first_pages.pop(stream_slice["first_label"], None) if next_page_token is None else None
        if sent is None:
            return super()._fetch_next_page(stream_slice, stream_state, next_page_token)
        if isinstance(sent, Exception):
            raise sent
        return sent

    def read_records(self, sync_mode, cursor_field=None, stream_slice=None, stream_state=None) -> Iterable[Mapping[str, Any]]:
        window = Window(self.period, stream_slice["first_label"], stream_slice["buckets"])
        yield from self.read_window(window)
        self.window_done(window, self.rows_in_window, f"{self.rows_in_window} rows")

    def read_window(self, window: Window) -> Iterable[Mapping[str, Any]]:
        self._window, self._last_row, self.rows_in_window = window, None, 0
        yield from super().read_records(SyncMode.full_refresh, stream_slice={"first_label": window.first_label, "buckets": window.buckets})

    @property
    def _after(self) -> Optional[list]:
        """The key of the last row emitted in the current window (worked out only when needed)."""
        row = self._last_row
        return None if row is None else [row.get(column) for column in self.sort_columns]

    def source_params(self) -> Optional[Mapping[str, Any]]:
        return {"appId": self.config.app_id_param}

    def path(self, **kwargs: Any) -> str:
        return "aggregation"

    def request_body_json(self, stream_slice: Optional[Mapping[str, Any]] = None, next_page_token: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> Optional[Mapping[str, Any]]:
        # Built in worker threads too (first requests sent ahead): the window comes from the slice, and
        # the position only from the window being read (a next page, or reading on after a break).
        first_label, buckets = stream_slice["first_label"], stream_slice["buckets"]
        after = next_page_token["after"] if next_page_token else self._after if self._window and self._window.first_label == first_label else None
        return aggregation.keyset_page(
            self.source_name,
            self.source_params(),
            sort_paths=self.sort_columns,
            lower_bound=aggregation.after_key(self.sort_columns, after) if after else None,
            page_size=self.page_size,
            request_id=self.name,
            window=aggregation.time_series(self.period, anchor(first_label, self.period), buckets),
        )

    def parse_response(self, response: requests.Response, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        cursor = self.sort_columns[0]
        cursor_of = methodcaller("get", cursor)
        rows = 0
        try:
            for batch in iter_row_batches(response, RESULT_ROWS):
                broken = None
                if None in map(cursor_of, batch):  # the rows before it stand; the rest is asked again
                    cut = list(map(cursor_of, batch)).index(None)
                    batch, broken = batch[:cut], batch[cut]
                for row, record in zip(batch, self.shape_rows(batch)):
                    self._last_row = row
                    rows += 1
                    yield record
                if broken is not None:
                    raise BrokenResponse(f"Pendo sent a {self.name} row without '{cursor}': {str(broken)[:200]}")
        finally:
            # Also when the body breaks off: the rows emitted so far count.
            self._rows_in_page = rows
            self.rows_in_window += rows

    def next_page_token(self, response: requests.Response) -> Optional[Mapping[str, Any]]:
        return {"after": self._after} if self._rows_in_page >= self.page_size else None

    def position(self) -> str:
        if self._window is None:
            return "before its first window"
        where = f"after {dict(zip(self.sort_columns, self._after))}" if self._after else "at its start"
        return f"in the window from {iso_from_ms(self._window.first_label)} ({self._window.buckets} {self.period}s) {where}"


class AggregatedEventStream(EventStream):
    """Pre-aggregated rows: one per bucket, visitor, account, app, IP, server, user agent (and object)."""

    key_columns = ["{period}", *PER_ROW_DIMENSIONS]


class Events(AggregatedEventStream):
    name = "events"
    source_name = "events"


class FeatureEvents(AggregatedEventStream):
    name = "feature_events"
    source_name = "featureEvents"
    key_columns = [*AggregatedEventStream.key_columns, "featureId"]


class PageEvents(AggregatedEventStream):
    name = "page_events"
    source_name = "pageEvents"
    key_columns = [*AggregatedEventStream.key_columns, "pageId"]


class TrackEvents(AggregatedEventStream):
    name = "track_events"
    source_name = "trackEvents"
    key_columns = [*AggregatedEventStream.key_columns, "trackTypeId"]


class GuideEvents(EventStream):
    """Raw guide events, windowed on their browser time."""

    name = "guide_events"
    source_name = "guideEvents"
    key_columns = ["browserTime", "visitorId", "accountId", "appId", "guideId", "guideStepId", "type"]


class PollEvents(EventStream):
    """Raw poll responses, windowed on their browser time."""

    name = "poll_events"
    source_name = "pollEvents"
    key_columns = ["browserTime", "visitorId", "accountId", "appId", "guideId", "guideStepId", "pollId", "type"]
