"""Pendo's event data: one aggregation query per window for every object of the chosen apps (or, where
Pendo refuses that for a source, one per object and window), rows paged inside a window by visitor
(pager.py)."""

from __future__ import annotations

import time
from functools import cached_property
from operator import methodcaller
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

import requests
from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, SyncMode, Type
from airbyte_cdk.sources.streams.call_rate import APIBudget

from .. import aggregation
from ..concurrency import ordered_map
from ..config import PendoConfig
from ..jsonstream import RESULT_ROWS, BrokenResponse, iter_row_batches
from ..pager import START, Page
from ..reader import PageRead, Request, Token
from ..records import ObjectShaper, iso_from_ms, snake_case
from ..row_key import ROW_KEY, RowKeys
from ..windows import Window, anchor
from .changes import BucketColumn, EventTimes
from .query_form import find_query_form
from .windowed import FingerprintQuery, WindowedStream

PER_ROW_DIMENSIONS = ["visitorId", "accountId", "appId", "remoteIp", "server", "userAgent"]


class WindowRows:
    """The query of one Pendo event source over a window of buckets (a slice: `first_label`,
    `buckets`, and `object_id` where one object is asked for at a time), its rows paged by
    `group_column` (pager.py) and shaped into records by `shape_rows`."""

    shrinks_pages_on_timeout = True

    def __init__(
        self,
        name: str,
        source_name: str,
        period: str,
        sort_columns: List[str],
        group_column: str,
        page_size: int,
        request_kwargs: Callable[[], Mapping[str, Any]],
        source_params: Callable[[Mapping[str, Any]], Optional[Mapping[str, Any]]],
        shape_rows: Callable[[List[Mapping[str, Any]]], List[Mapping[str, Any]]],
        object_column: Optional[str] = None,
    ):
        self.name = name  # of the stream reading it: the request id and messages name it
        self.source_name = source_name
        self.period = period
        self.sort_columns = sort_columns
        self.page_size = page_size
        self.request_kwargs = request_kwargs  # asked per request: the wait is shorter while Pendo is down
        self.source_params = source_params
        self.shape_rows = shape_rows
        self.object_column = object_column
        self.group_column = group_column

    def request(self, stream_slice: Mapping[str, Any], token: Token) -> Request:
        # Built in worker threads too (first requests sent ahead): from the slice and the token only.
        position = token["position"] if token else START
        comparison, limited = position.query()
        body = aggregation.keyset_page(
            self.source_name,
            self.source_params(stream_slice),
            group_path=self.group_column,
            comparison=comparison,
            sort_paths=[self.group_column] if limited else [self.group_column, *self.sort_columns],
            limit=self.page_size if limited else None,
            request_id=self.name,
            window=aggregation.time_series(self.period, anchor(stream_slice["first_label"], self.period), stream_slice["buckets"]),
        )
        return Request("POST", "aggregation", json=body, request_kwargs=self.request_kwargs())

    def read_page(self, response: requests.Response, stream_slice: Optional[Mapping[str, Any]], token: Token) -> PageRead:
        """The answer's records, paged by `group_column` (pager.py) from the position in `token`."""
        page = Page(token["position"] if token else START, methodcaller("get", self.group_column), self.page_size, unique=False)
        return PageRead(
            self._page_records(response, page),
            next_token=lambda: None if page.position.done else {"position": page.position},
            resume_token=lambda: {"position": page.position},
        )

    def _page_records(self, response: requests.Response, page: Page) -> Iterator[Mapping[str, Any]]:
        try:
            yield from page.read(self._shaped_batches(response))
        finally:
            response.close()

    def _shaped_batches(self, response: requests.Response) -> Iterable[Tuple[list, list]]:
        """(rows, records) of each read of the body; a row without its time or group column ends
        the answer after the rows before it (the rest is asked for again)."""
        required = (self.sort_columns[0], self.group_column)
        for batch in iter_row_batches(response, RESULT_ROWS):
            broken = next((row for row in batch if row.get(required[0]) is None or row.get(required[1]) is None), None)
            if broken is not None:
                batch = batch[: batch.index(broken)]
            yield batch, self.shape_rows(batch)
            if broken is not None:
                raise BrokenResponse(f"Pendo sent a {self.name} row without '{required[0]}' or '{required[1]}': {str(broken)[:200]}")

    def position(self, stream_slice: Optional[Mapping[str, Any]] = None, token: Token = None) -> str:
        if stream_slice is None:
            return "before its first window"
        reached = token["position"] if token else START
        where = f"after {self.group_column} {reached.after!r}" if reached.started else "at its start"
        what = f", {self.object_column} {stream_slice['object_id']!r}" if stream_slice.get("object_id") is not None else ""
        return f"in the window from {iso_from_ms(stream_slice['first_label'])} ({stream_slice['buckets']} {self.period}s){what} {where}"


class EventStream(WindowedStream):
    """A stream of one Pendo event source, read window by window (windowed.py) through its WindowRows query."""

    shrinks_pages_on_timeout = True
    source_name: str
    # Pendo's names of the columns that make a row unique, in sort order; "{period}" is day or hour.
    key_columns: List[str]
    # Every row has it, and one window holds few rows of each value: rows are paged by it (pager.py).
    group_column = "visitorId"
    object_column: Optional[str] = None  # set by streams that may query one object at a time
    # Columns whose inner names are Pendo users' own (kept as they are).
    free_form_columns = ("parameters", "properties")
    # A digest of the key columns: they can be null (a row without an account, IP, ...), a key cannot.
    primary_key = [[ROW_KEY]]

    def __init__(self, config: PendoConfig, budget: Optional[APIBudget] = None):
        self._first_answers: Dict[tuple, Any] = {}  # slice -> its first answer (or error), sent ahead
        # Rows of the window being read, from its slices so far (one query per object: one slice each).
        self._rows_of_window = 0
        super().__init__(config, budget)

    @classmethod
    def sort_columns_of(cls, period: str) -> List[str]:
        return [column.format(period=period) for column in cls.key_columns]

    # Asked for on every record by the CDK: computed once.
    @cached_property
    def sort_columns(self) -> List[str]:
        return self.sort_columns_of(self.period)

    @cached_property
    def cursor_field(self) -> str:
        return snake_case(self.sort_columns[0])

    @cached_property
    def shape(self) -> Callable[[Mapping[str, Any]], dict]:
        identity = RowKeys(snake_case(column) for column in self.sort_columns)
        return ObjectShaper(self.get_json_schema(), keep_names_under=self.free_form_columns, add_keys=identity.add)

    def query(self) -> WindowRows:
        return WindowRows(
            self.name,
            self.source_name,
            self.period,
            self.sort_columns,
            self.group_column,
            self.config.page_size,
            self.streamed_request_kwargs,
            source_params=self.source_params,
            shape_rows=lambda rows: record_messages(self.name, self.shape.many(rows)),
            object_column=self.object_column,
        )

    def stream_slices(self, *, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Optional[Mapping[str, Any]]]:
        """The windows in order, each one's first request sent ahead: while a window is read, the next
        ones' requests are already waiting on Pendo (with the reading window's own, at most
        `max_concurrent_requests` at once)."""
        slices = self.window_slices(self.plan_windows(sync_mode).windows())
        for window_slice, first_answer in ordered_map(self.send_first_request, slices, self.config.max_concurrent_requests - 1):
            if first_answer is not None:
                self._first_answers[slice_key(window_slice)] = first_answer
            yield window_slice

    def window_slices(self, windows: Iterable[Window]) -> Iterable[Mapping[str, Any]]:
        """One slice per window: every object of the chosen apps in one query."""
        for window in windows:
            yield {"first_label": window.first_label, "buckets": window.buckets}

    def send_first_request(self, window_slice: Mapping[str, Any]) -> tuple:
        """(slice, its first answer or the error that stopped it), in a worker thread; an error is
        raised where the window is read, after every earlier window was emitted and checkpointed."""
        if window_slice.get("no_objects"):
            return window_slice, None
        return window_slice, self.reader.send_ahead(window_slice)

    def read_records(self, sync_mode, cursor_field=None, stream_slice=None, stream_state=None) -> Iterable[Mapping[str, Any]]:
        window = Window(self.period, stream_slice["first_label"], stream_slice["buckets"])
        rows = 0 if stream_slice.get("first_of_window", True) else self._rows_of_window
        if not stream_slice.get("no_objects"):
            rows += yield from self.reader.read(stream_slice, self._first_answers.pop(slice_key(stream_slice), None))
        self._rows_of_window = rows
        if stream_slice.get("last_of_window", True):
            self.window_done(window, rows, f"{rows} rows")

    def source_params(self, window_slice: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
        return {"appId": self.config.app_id_param}

    # The CDK's hooks, for what asks a stream rather than its query.
    def path(self, **kwargs: Any) -> str:
        return "aggregation"

    def parse_response(self, response: requests.Response, next_page_token: Token = None, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        yield from self.reader.query.read_page(response, kwargs.get("stream_slice"), next_page_token).records


def record_messages(stream_name: str, records: List[Dict[str, Any]]) -> List[AirbyteMessage]:
    """The records as the CDK's RECORD messages, stamped once per batch. The CDK passes a message on
    as it is, where a record is copied, put through the stream's transformer and wrapped one at a
    time: ~0.7 µs a record, a tenth of what source-pendo adds to the CDK's own message path."""
    emitted_at = time.time_ns() // 1_000_000
    return [AirbyteMessage(type=Type.RECORD, record=AirbyteRecordMessage(stream=stream_name, data=record, emitted_at=emitted_at)) for record in records]


def slice_key(window_slice: Mapping[str, Any]) -> tuple:
    return window_slice["first_label"], window_slice.get("object_id")


class AggregatedEventStream(EventStream):
    """Pre-aggregated rows: one per bucket, visitor, account, app, IP, server, user agent (and object)."""

    key_columns = ["{period}", *PER_ROW_DIMENSIONS]
    # The object a row counts: a retag moves rows between objects, so buckets are fingerprinted per object.
    fingerprinted_object: Optional[str] = None

    def fingerprint_query(self) -> Optional[FingerprintQuery]:
        return FingerprintQuery(self.source_name, self.source_params({}), BucketColumn(self.fingerprinted_object))


class Events(AggregatedEventStream):
    name = "events"
    source_name = "events"


class ObjectEventStream(AggregatedEventStream):
    """featureEvents and trackEvents: one query per window for every object where Pendo takes an
    `appId`; where it refuses one (`bad parameters for source type …: unexpected parameters`, as
    tap-pendo's changelog records), one query per object and window, as tap-pendo reads them."""

    object_column: str  # the source parameter and row column naming the object, e.g. "featureId"
    object_list_path: str  # the REST list of the objects, e.g. "feature"
    object_name: str  # for messages, e.g. "feature"

    def __init__(self, config: PendoConfig, budget: Optional[APIBudget] = None):
        self._object_ids: Optional[List[Any]] = None  # None: one query for every object
        super().__init__(config, budget)

    def stream_slices(self, *, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Optional[Mapping[str, Any]]]:
        form = find_query_form(self)
        self.logger.info(f"Stream '{self.name}': {form.describe(self)}")
        self._object_ids = None if form.one_query else form.object_ids
        yield from super().stream_slices(sync_mode=sync_mode, **kwargs)

    def window_slices(self, windows: Iterable[Window]) -> Iterable[Mapping[str, Any]]:
        if self._object_ids is None:
            yield from super().window_slices(windows)
            return
        for window in windows:
            window_slice = {"first_label": window.first_label, "buckets": window.buckets}
            if not self._object_ids:
                # No objects, no events: the window is complete without asking.
                yield {**window_slice, "no_objects": True}
            for index, object_id in enumerate(self._object_ids):
                yield {**window_slice, "object_id": object_id, "first_of_window": index == 0, "last_of_window": index == len(self._object_ids) - 1}

    def fingerprint_query(self) -> Optional[FingerprintQuery]:
        if self._object_ids is not None:
            self.logger.info(
                f"Stream '{self.name}': without one query for every {self.object_name}, changed {self.period}s are not looked for;"
                " every sync reads the whole lookback."
            )
            return None
        return super().fingerprint_query()

    def source_params(self, window_slice: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
        if self._object_ids is None:
            return super().source_params(window_slice)
        return {self.object_column: window_slice["object_id"]}


class FeatureEvents(ObjectEventStream):
    name = "feature_events"
    source_name = "featureEvents"
    key_columns = [*AggregatedEventStream.key_columns, "featureId"]
    object_column = "featureId"
    fingerprinted_object = "featureId"
    object_list_path = "feature"
    object_name = "feature"


class PageEvents(AggregatedEventStream):
    name = "page_events"
    source_name = "pageEvents"
    key_columns = [*AggregatedEventStream.key_columns, "pageId"]
    fingerprinted_object = "pageId"


class TrackEvents(ObjectEventStream):
    name = "track_events"
    source_name = "trackEvents"
    key_columns = [*AggregatedEventStream.key_columns, "trackTypeId"]
    object_column = "trackTypeId"
    fingerprinted_object = "trackTypeId"
    object_list_path = "tracktype"
    object_name = "track type"


class RawEventStream(EventStream):
    """Raw rows, windowed on their browser time: buckets are fingerprinted by those times (contract G3)."""

    def fingerprint_query(self) -> Optional[FingerprintQuery]:
        return FingerprintQuery(self.source_name, self.source_params({}), EventTimes("browserTime"))


class GuideEvents(RawEventStream):
    """Raw guide events, windowed on their browser time."""

    name = "guide_events"
    source_name = "guideEvents"
    key_columns = ["browserTime", "visitorId", "accountId", "appId", "guideId", "guideStepId", "type"]


class PollEvents(RawEventStream):
    """Raw poll responses, windowed on their browser time."""

    name = "poll_events"
    source_name = "pollEvents"
    key_columns = ["browserTime", "visitorId", "accountId", "appId", "guideId", "guideStepId", "pollId", "type"]
