"""The requests source-pendo sends, as HttpMocker matches them: URL, query, the key header and (for
aggregations) the whole body, so a test names exactly what it expects to be asked.

An aggregation body is written here from Pendo's documented shape (docs/pendo-api-contract.md), not
by the connector's aggregation.py: the tests check that module's output rather than reuse it.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional

from airbyte_cdk.test.mock_http import HttpRequest

from .config import API_KEY, API_ROOT

KEY_HEADER = "x-pendo-integration-key"
ALL_APPS = {"appId": 'expandAppIds("*")'}
# source-pendo asks for a day bucket by the moment noon UTC of its UTC date (windows.py).
NOON_MS = 12 * 3_600_000


def day_anchor(day_label_ms: int) -> int:
    return day_label_ms + NOON_MS


class AggregationRequestBuilder:
    """`POST /aggregation`: a source, its time series, then the stages in the order Pendo runs them."""

    def __init__(self, request_id: str) -> None:
        self._request_id = request_id
        self._source: Dict[str, Any] = {}
        self._filter: Optional[str] = None
        self._sort: Optional[List[str]] = None
        self._limit: Optional[int] = None
        self._group: Optional[Dict[str, Any]] = None
        self._count = False

    def source(self, name: str, params: Optional[Mapping[str, Any]] = None) -> "AggregationRequestBuilder":
        self._source = {name: dict(params) if params is not None else None}
        return self

    def days(self, first_label_ms: int, count: int) -> "AggregationRequestBuilder":
        self._source["timeSeries"] = {"period": "dayRange", "first": day_anchor(first_label_ms), "count": count}
        return self

    def after(self, path: str, value: Any) -> "AggregationRequestBuilder":
        """The keyset filter of the next page: rows whose `path` sorts after `value`."""
        self._filter = f"{path} > {json.dumps(value, ensure_ascii=False)}"
        return self

    def equal_to(self, path: str, value: Any) -> "AggregationRequestBuilder":
        """The rows tied on `path` that filled a page, asked for whole."""
        self._filter = f"{path} == {json.dumps(value, ensure_ascii=False)}"
        return self

    def sort(self, *paths: str) -> "AggregationRequestBuilder":
        self._sort = list(paths)
        return self

    def limit(self, rows: int) -> "AggregationRequestBuilder":
        self._limit = rows
        return self

    def grouped_by(self, *paths: str, fields: List[Mapping[str, Any]]) -> "AggregationRequestBuilder":
        self._group = {"group": list(paths), "fields": list(fields)}
        return self

    def count(self) -> "AggregationRequestBuilder":
        """Only the number of rows (check's probe)."""
        self._count = True
        return self

    def body(self) -> Dict[str, Any]:
        stages: List[Dict[str, Any]] = [{"source": self._source}]
        if self._filter is not None:
            stages.append({"filter": self._filter})
        if self._sort is not None:
            stages.append({"sort": self._sort})
        if self._limit is not None:
            stages.append({"limit": self._limit})
        if self._group is not None:
            stages.append({"group": self._group})
        if self._count:
            stages.append({"count": None})
        return {"response": {"mimeType": "application/json"}, "request": {"requestId": f"source-pendo:{self._request_id}", "pipeline": stages}}

    def build(self) -> HttpRequest:
        return HttpRequest(url=f"{API_ROOT}aggregation", headers={KEY_HEADER: API_KEY}, body=self.body())


class RestRequestBuilder:
    """`GET /<path>` with its query."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._params: Dict[str, str] = {}

    def with_param(self, name: str, value: Any) -> "RestRequestBuilder":
        self._params[name] = str(value)
        return self

    def build(self) -> HttpRequest:
        return HttpRequest(url=f"{API_ROOT}{self._path}", query_params=self._params or None, headers={KEY_HEADER: API_KEY})


class PendoRequests:
    """Where each kind of request starts."""

    @staticmethod
    def aggregation(request_id: str) -> AggregationRequestBuilder:
        return AggregationRequestBuilder(request_id)

    @staticmethod
    def rest_list(path: str) -> RestRequestBuilder:
        return RestRequestBuilder(path).with_param("expand", "*")

    @staticmethod
    def metadata_catalogue(kind: str) -> RestRequestBuilder:
        return RestRequestBuilder(f"metadata/schema/{kind}")

    @staticmethod
    def visitor_history(visitor_segment: str, day_label_ms: int) -> RestRequestBuilder:
        return RestRequestBuilder(f"visitor/{visitor_segment}/history").with_param("starttime", day_label_ms)
