"""Streams read from Pendo's REST lists and metadata catalogues (full refresh: no paging, no filter)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, MutableMapping, Optional

import requests
from airbyte_cdk.sources.streams.call_rate import APIBudget

from ..config import PendoConfig
from ..jsonstream import ARRAY_ROWS, BrokenResponse, iter_rows
from ..reader import PageRead, Request, Token
from ..records import snake_keys
from .base import PendoStream


class SingleRequestStream(PendoStream):
    """A stream read in one request. It has nothing to resume, so it is not resumable: the CDK would
    otherwise save a "sync complete" state that makes the next full refresh (for example a PyAirbyte
    read, which passes state back) read nothing at all."""

    is_resumable = False


class RestListStream(SingleRequestStream):
    """`GET /<list_path>?expand=*`: every object of every app, kept to the chosen apps."""

    list_path: str

    def __init__(self, config: PendoConfig, budget: Optional[APIBudget] = None):
        super().__init__(config, budget)
        self._emitted_ids = set()

    def path(self, **kwargs: Any) -> str:
        return self.list_path

    def request_params(self, **kwargs: Any) -> MutableMapping[str, Any]:
        return {"expand": "*"}

    def parse_response(self, response: requests.Response, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        wanted_apps = set(self.config.app_ids)
        shape = self.shape
        for row in iter_rows(response, ARRAY_ROWS):
            if wanted_apps and row.get("appId") is not None and row.get("appId") not in wanted_apps:
                continue
            # A list asked for again after it broke off starts from its beginning: skip what was sent.
            if row.get("id") in self._emitted_ids:
                continue
            self._emitted_ids.add(row.get("id"))
            yield shape(row)


class Reports(RestListStream):
    name = "reports"
    list_path = "report"


class Segments(RestListStream):
    name = "segments"
    list_path = "segment"


class MetadataCatalogue:
    """The query of Pendo's catalogue of account or visitor metadata fields (`kind`): one answer, read
    as one record, a column per group, each mapping field name -> descriptor (type, display_name, ...)."""

    page_size = 1
    shrinks_pages_on_timeout = False

    def __init__(self, kind: str, request_kwargs: Callable[[], Mapping[str, Any]]):
        self.kind = kind
        self.request_kwargs = request_kwargs  # asked per request: the wait is shorter while Pendo is down

    def request(self, stream_slice: Optional[Mapping[str, Any]] = None, token: Token = None) -> Request:
        return Request("GET", f"metadata/schema/{self.kind}", request_kwargs={**self.request_kwargs(), "stream": False})

    def read_page(self, response: requests.Response, stream_slice: Optional[Mapping[str, Any]] = None, token: Token = None) -> PageRead:
        return PageRead([self.record(response)], next_token=lambda: None, resume_token=lambda: None)

    def record(self, response: requests.Response) -> Mapping[str, Any]:
        try:
            catalogue = response.json()
        except (ValueError, requests.exceptions.RequestException) as error:
            raise BrokenResponse(f"the metadata catalogue is not readable JSON ({type(error).__name__})") from error
        if not isinstance(catalogue, dict) or not all(isinstance(fields, dict) for fields in catalogue.values()):
            raise BrokenResponse(f"the metadata catalogue is not an object of groups of fields: {str(catalogue)[:200]}")
        return {group: snake_keys(fields) for group, fields in catalogue.items()}

    def position(self, stream_slice: Optional[Mapping[str, Any]] = None, token: Token = None) -> str:
        return f"reading Pendo's catalogue of {self.kind} metadata"


class MetadataCatalogueStream(SingleRequestStream):
    """Pendo's catalogue of account or visitor metadata fields, as its one record."""

    primary_key = None
    kind: str

    def query(self) -> MetadataCatalogue:
        return MetadataCatalogue(self.kind, self.streamed_request_kwargs)

    # The CDK's hooks, for what asks a stream rather than its query.
    def path(self, **kwargs: Any) -> str:
        return self.reader.query.request().path

    def parse_response(self, response: requests.Response, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        return self.reader.query.read_page(response).records


class MetadataAccounts(MetadataCatalogueStream):
    name = "metadata_accounts"
    kind = "account"


class MetadataVisitors(MetadataCatalogueStream):
    name = "metadata_visitors"
    kind = "visitor"
