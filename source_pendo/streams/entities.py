"""Accounts, visitors and Pendo's product objects, read from the aggregation endpoint.

Rows are read in (last-updated time, id) order and paged by keyset: each page asks for the rows
strictly after the last one emitted. The same position is the stream's state, so a sync that stops
anywhere resumes exactly after the last record it emitted, and the next incremental sync reads
only rows updated since.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable, Iterable, Mapping, MutableMapping, Optional, Tuple

import requests
from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources.streams import CheckpointMixin
from airbyte_cdk.sources.streams.call_rate import APIBudget
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .. import aggregation
from ..config import PendoConfig
from ..jsonstream import RESULT_ROWS, BrokenResponse, iter_rows
from ..metadata_schema import with_catalogue
from ..records import MetadataEntityShaper, iso_from_ms, ms_from_iso
from .base import PendoStream
from .rest import MetadataAccounts, MetadataCatalogueStream, MetadataVisitors

Position = Tuple[int, Any]  # (last-updated epoch ms, id) of the last row emitted


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
        self._position: Optional[Position] = None
        self._rows_in_page = 0
        self._pages_read = 0
        self._rows_read = 0
        super().__init__(config, budget)

    @property
    def state_checkpoint_interval(self) -> int:
        return self.page_size

    def position(self) -> str:
        if self._position is None:
            return f"at the start ({self.cursor_field} from {iso_from_ms(self.config.start_ms)})"
        return f"after {self.state}"

    @property
    def state(self) -> MutableMapping[str, Any]:
        if self._position is None:
            return {}
        cursor_ms, key = self._position
        state = {self.cursor_field: iso_from_ms(cursor_ms)}
        if key is not None:
            state[self.primary_key] = key
        return state

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        self._position = self.position_from_state(value or {})

    def position_from_state(self, value: Mapping[str, Any]) -> Optional[Position]:
        if not value:
            return None
        cursor = value.get(self.cursor_field)
        try:
            return ms_from_iso(cursor), value.get(self.primary_key)
        except (TypeError, ValueError, AttributeError):
            raise self.unreadable_state(value, self.cursor_field)

    def source_params(self) -> Optional[Mapping[str, Any]]:
        return {"appId": self.config.app_id_param}

    def path(self, **kwargs: Any) -> str:
        return "aggregation"

    def stream_slices(self, *, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Optional[Mapping[str, Any]]]:
        if sync_mode == SyncMode.full_refresh:
            # A full refresh reads everything again, whatever an earlier incremental sync left.
            self._position = None
        return [None]

    def lower_bound(self) -> str:
        if self._position is None:
            return aggregation.at_least(self.cursor_path, self.config.start_ms)
        cursor_ms, key = self._position
        if key is None:
            return aggregation.at_least(self.cursor_path, cursor_ms)
        return aggregation.after_key([self.cursor_path, self.key_path], [cursor_ms, key])

    def request_body_json(self, **kwargs: Any) -> Optional[Mapping[str, Any]]:
        return aggregation.keyset_page(
            self.source_name,
            self.source_params(),
            sort_paths=[self.cursor_path, self.key_path],
            lower_bound=self.lower_bound(),
            page_size=self.page_size,
            request_id=self.name,
        )

    def parse_response(self, response: requests.Response, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        cursor_path = tuple(self.cursor_path.split("."))
        shape = self.shape
        self._rows_in_page = 0
        for row in iter_rows(response, RESULT_ROWS):
            key = row.get(self.key_path)
            cursor = value_at(row, cursor_path)
            if key is None or not isinstance(cursor, (int, float)):
                raise BrokenResponse(f"Pendo sent a row without '{self.key_path}' or '{self.cursor_path}': {str(row)[:200]}")
            record = shape(row)
            self._position = (cursor, key)
            self._rows_in_page += 1
            yield record
        self._pages_read += 1
        self._rows_read += self._rows_in_page
        self.logger.info(f"Stream '{self.name}': page {self._pages_read} read, {self._rows_in_page} rows ({self._rows_read} so far); now {self.position()}.")

    def next_page_token(self, response: requests.Response) -> Optional[Mapping[str, Any]]:
        if self._rows_in_page < self.page_size:
            return None
        return {"after": self.state}


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
    catalogue_stream: type

    def __init__(self, config: PendoConfig, budget: Optional[APIBudget] = None):
        super().__init__(config, budget)
        self._catalogue: MetadataCatalogueStream = self.catalogue_stream(config, budget)

    def get_json_schema(self) -> Mapping[str, Any]:
        try:
            return self.schema
        except AirbyteTracedException as error:
            raise self.stopped(error) from error

    @cached_property
    def schema(self) -> Mapping[str, Any]:
        return with_catalogue(super().get_json_schema(), self._catalogue.catalogue)

    @cached_property
    def shape(self) -> Callable[[Mapping[str, Any]], dict]:
        return MetadataEntityShaper(self.get_json_schema())


class Accounts(MetadataEntityStream):
    name = "accounts"
    source_name = "accounts"
    key_path = "accountId"
    primary_key = "account_id"
    catalogue_stream = MetadataAccounts

    def source_params(self) -> Optional[Mapping[str, Any]]:
        return None


class Visitors(MetadataEntityStream):
    name = "visitors"
    source_name = "visitors"
    key_path = "visitorId"
    primary_key = "visitor_id"
    catalogue_stream = MetadataVisitors

    def source_params(self) -> Optional[Mapping[str, Any]]:
        return None if self.config.include_anonymous_visitors else {"identified": True}
