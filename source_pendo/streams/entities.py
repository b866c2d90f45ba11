"""Accounts, visitors and Pendo's product objects, read from the aggregation endpoint.

The first sync (and every full refresh) reads every object, in id order, whatever start_date says:
event tables refer to pages and features of any age, and objects without a last-updated time
(visitors Pendo does not process, for one) must arrive too. Later syncs read the objects changed
since, in last-updated order. Both are paged by pager.py, and the position is the stream's state, so
a sync that stops anywhere resumes after the last record it emitted.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable, Iterable, Mapping, MutableMapping, Optional, Tuple

import requests
from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources.streams import CheckpointMixin
from airbyte_cdk.sources.streams.call_rate import APIBudget
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .. import aggregation, windows
from ..config import PendoConfig
from ..jsonstream import RESULT_ROWS, BrokenResponse, iter_row_batches
from ..metadata_schema import with_catalogue
from ..pager import START, Page, Position, after
from ..reader import Reader
from ..records import MetadataEntityShaper, iso_from_ms, ms_from_iso
from .base import PendoStream
from .rest import MetadataCatalogue

# The state key of the last object read by a full read still under way.
READ_ALL_AFTER = "read_all_after"


def value_at(row: Mapping[str, Any], path: Tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(row, Mapping):
            return None
        row = row.get(part)
    return row


class AggregationEntityStream(PendoStream, CheckpointMixin):
    http_method = "POST"
    source_name: str
    cursor_path: str  # Pendo's name of the last-updated time, e.g. "lastUpdatedAt"
    key_path: str  # Pendo's name of the id, e.g. "id"
    cursor_field: str  # the record's name of the last-updated time

    shrinks_pages_on_timeout = True

    def __init__(self, config: PendoConfig, budget: Optional[APIBudget] = None):
        # A full read (by id), or a read of the changes (by last-updated time) since `_since_ms`. During
        # a full read, `_since_ms` is when it began; the changes to read after it are those since then
        # or since the newest change it saw, whichever is earlier.
        self._reading_all = True
        self._since_ms: Optional[int] = None
        self._newest_seen_ms: Optional[int] = None
        self._position: Position = START
        self._more_pages = True
        self._pages_read = 0
        self._rows_read = 0
        super().__init__(config, budget)

    @property
    def state_checkpoint_interval(self) -> int:
        return self.page_size

    def position(self, stream_slice: Optional[Mapping[str, Any]] = None, token: Any = None) -> str:
        """From the stream's own state, which moves with every record."""
        if self._reading_all:
            where = f"after {self.key_path} {self._position.after!r}" if self._position.started else "at the start"
            return f"reading every object, {where}"
        return f"reading changes, after {self.state}"

    @property
    def state(self) -> MutableMapping[str, Any]:
        if self._reading_all:
            if not self._position.started:
                return {}
            return {self.cursor_field: iso_from_ms(self.changes_after_full_read()), READ_ALL_AFTER: self._position.after}
        since = self._position.after if self._position.started else self._since_ms
        return {self.cursor_field: iso_from_ms(since)}

    def changes_after_full_read(self) -> int:
        if self._newest_seen_ms is None:
            return self._since_ms
        return min(self._since_ms, self._newest_seen_ms)

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        value = value or {}
        self._position, self._newest_seen_ms = START, None
        if not value:
            self._reading_all, self._since_ms = True, None
            return
        try:
            since = ms_from_iso(value[self.cursor_field])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self.unreadable_state(value, self.cursor_field)
        if READ_ALL_AFTER in value:
            self._reading_all, self._since_ms = True, since
            self._position = after(value[READ_ALL_AFTER])
        else:
            # A state of source-pendo 0.2 also named the last id read at that time: read it again.
            self._reading_all, self._since_ms = False, since - 1 if self.primary_key in value else since

    def source_params(self) -> Optional[Mapping[str, Any]]:
        return {"appId": self.config.app_id_param}

    def path(self, **kwargs: Any) -> str:
        return "aggregation"

    def stream_slices(self, *, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Optional[Mapping[str, Any]]]:
        if sync_mode == SyncMode.full_refresh:
            # A full refresh reads everything again, whatever an earlier incremental sync left.
            self.state = {}
        if self._reading_all and self._since_ms is None:
            self._since_ms = windows.now_ms()
        return [None]

    @property
    def group_path(self) -> str:
        return self.key_path if self._reading_all else self.cursor_path

    def request_body_json(self, **kwargs: Any) -> Optional[Mapping[str, Any]]:
        position = self._position
        if not self._reading_all and not position.started:
            position = after(self._since_ms)
        comparison, limited = position.query()
        return aggregation.keyset_page(
            self.source_name,
            self.source_params(),
            group_path=self.group_path,
            comparison=comparison,
            sort_paths=[self.group_path] if limited else [self.group_path, self.key_path],
            limit=self.page_size if limited else None,
            request_id=self.name,
        )

    def parse_response(self, response: requests.Response, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        position = self._position
        if not self._reading_all and not position.started:
            position = after(self._since_ms)
        cursor_path = tuple(self.cursor_path.split("."))
        group_of = (lambda row: row.get(self.key_path)) if self._reading_all else (lambda row: value_at(row, cursor_path))
        page = Page(position, group_of, self.page_size, unique=self._reading_all)
        try:
            for record in page.read(self._shaped_batches(response, group_of, cursor_path)):
                self._position = page.position  # before the yield: a state taken after the record counts it
                yield record
        finally:
            self._position = page.position
            response.close()
        self._pages_read += 1
        self._rows_read += page.rows
        self.logger.info(f"Stream '{self.name}': page {self._pages_read} read, {page.rows} rows ({self._rows_read} so far); now {self.position()}.")
        self._more_pages = not page.position.done
        if page.position.done and self._reading_all:
            # Every object is read: later syncs read what changed since the read began.
            self._reading_all, self._position = False, after(self.changes_after_full_read())

    def _shaped_batches(self, response: requests.Response, group_of: Callable, cursor_path: Tuple[str, ...]) -> Iterable[Tuple[list, list]]:
        shape = self.shape
        for batch in iter_row_batches(response, RESULT_ROWS):
            for row in batch:
                if group_of(row) is None:
                    raise BrokenResponse(f"Pendo sent a row without '{self.group_path}': {str(row)[:200]}")
            if self._reading_all:
                cursors = [cursor for cursor in (value_at(row, cursor_path) for row in batch) if isinstance(cursor, (int, float))]
                if cursors:
                    self._newest_seen_ms = max(self._newest_seen_ms or 0, int(max(cursors)))
            yield batch, [shape(row) for row in batch]

    def next_page_token(self, response: requests.Response) -> Optional[Mapping[str, Any]]:
        return {"page": self._pages_read} if self._more_pages else None


class ObjectStream(AggregationEntityStream):
    """Pages, features, guides, track types: `{"appId": …}` sources keyed by id and lastUpdatedAt."""

    cursor_path = "lastUpdatedAt"
    key_path = "id"
    cursor_field = "last_updated_at"


class Pages(ObjectStream):
    name = "pages"
    source_name = "pages"


class Features(ObjectStream):
    name = "features"
    source_name = "features"


class Guides(ObjectStream):
    name = "guides"
    source_name = "guides"


class TrackTypes(ObjectStream):
    name = "track_types"
    source_name = "trackTypes"


class MetadataEntityStream(AggregationEntityStream):
    """Accounts and visitors: metadata groups lifted to columns, custom fields typed from Pendo's catalogue."""

    cursor_path = "metadata.auto.lastupdated"
    cursor_field = "lastupdated"
    catalogue_kind: str  # of Pendo's metadata catalogues, e.g. "account"

    def get_json_schema(self) -> Mapping[str, Any]:
        try:
            return self.schema
        except AirbyteTracedException as error:
            raise self.stopped(error) from error

    @cached_property
    def schema(self) -> Mapping[str, Any]:
        catalogue = Reader(self, MetadataCatalogue(self.catalogue_kind, self.streamed_request_kwargs)).read(None)
        return with_catalogue(super().get_json_schema(), next(iter(catalogue), {}))

    @cached_property
    def shape(self) -> Callable[[Mapping[str, Any]], dict]:
        return MetadataEntityShaper(self.get_json_schema())


class Accounts(MetadataEntityStream):
    name = "accounts"
    source_name = "accounts"
    key_path = "accountId"
    primary_key = "account_id"
    catalogue_kind = "account"

    def source_params(self) -> Optional[Mapping[str, Any]]:
        return None


class Visitors(MetadataEntityStream):
    name = "visitors"
    source_name = "visitors"
    key_path = "visitorId"
    primary_key = "visitor_id"
    catalogue_kind = "visitor"

    def source_params(self) -> Optional[Mapping[str, Any]]:
        return None if self.config.include_anonymous_visitors else {"identified": True}
