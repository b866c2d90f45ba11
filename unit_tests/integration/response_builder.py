"""Pendo's answers, as HttpMocker serves them."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional

from airbyte_cdk.test.mock_http import HttpResponse


def _json(value: Any, status: int = 200, headers: Optional[Mapping[str, str]] = None) -> HttpResponse:
    return HttpResponse(body=json.dumps(value), status_code=status, headers={"Content-Type": "application/json", **(headers or {})})


class AggregationResponseBuilder:
    """`{"startTime": …, "results": [rows]}`, rows added one by one."""

    def __init__(self) -> None:
        self._rows: List[Mapping[str, Any]] = []

    def with_row(self, row: Mapping[str, Any]) -> "AggregationResponseBuilder":
        self._rows.append(dict(row))
        return self

    def with_rows(self, rows: List[Mapping[str, Any]]) -> "AggregationResponseBuilder":
        self._rows.extend(dict(row) for row in rows)
        return self

    def build(self) -> HttpResponse:
        return _json({"startTime": 0, "results": self._rows})


def aggregation_response() -> AggregationResponseBuilder:
    return AggregationResponseBuilder()


def rest_list(objects: List[Mapping[str, Any]]) -> HttpResponse:
    """A REST list (`/report`, `/segment`, `/feature`, …): a JSON array of objects."""
    return _json(list(objects))


def metadata_catalogue(groups: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> HttpResponse:
    """`/metadata/schema/<kind>`: group -> field -> descriptor (`Type`, `DisplayName`, …)."""
    return _json(dict(groups))


def history(entries: List[Mapping[str, Any]]) -> HttpResponse:
    """`/visitor/{id}/history`: one visitor's entries of one day."""
    return _json(list(entries))


def error(status: int, message: Optional[str] = None, retry_after: Optional[str] = None) -> HttpResponse:
    """An error answer; Pendo words its cause in `message`."""
    headers: Dict[str, str] = {"Retry-After": retry_after} if retry_after is not None else {}
    return _json({"message": message} if message is not None else {}, status=status, headers=headers)


# Rows as Pendo's aggregation sources give them.


def a_page(page_id: str, last_updated_at: Optional[int], app_id: int = -323232) -> Dict[str, Any]:
    return {"id": page_id, "appId": app_id, "name": f"Page {page_id}", "createdAt": last_updated_at, "lastUpdatedAt": last_updated_at}


def a_page_event(day_ms: int, visitor_id: str, page_id: str = "p1", num_events: int = 1) -> Dict[str, Any]:
    return {"day": day_ms, "visitorId": visitor_id, "accountId": "acme", "appId": -323232, "remoteIp": "10.0.0.1", "server": "app.test",
            "userAgent": "Mozilla/5.0", "pageId": page_id, "numEvents": num_events, "numMinutes": 1, "firstTime": day_ms + 60_000, "lastTime": day_ms + 120_000}


def an_event(day_ms: int, visitor_id: str) -> Dict[str, Any]:
    return {"day": day_ms, "visitorId": visitor_id, "accountId": "acme", "appId": -323232, "remoteIp": "10.0.0.1", "server": "app.test",
            "userAgent": "Mozilla/5.0", "numEvents": 3, "numMinutes": 2, "firstTime": day_ms + 60_000, "lastTime": day_ms + 120_000}


def a_history_entry(ts_ms: int, kind: str = "pageView", page_id: str = "p1") -> Dict[str, Any]:
    return {"ts": ts_ms, "lastTs": ts_ms + 10, "type": kind, "appId": -323232, "pageId": page_id, "uri": "https://app.test/home",
            "parsedUserAgent": {"name": "Firefox", "version": "120", "os": "Linux"}}


def fingerprint_row(day_ms: int, object_id: str, rows: int, num_events: int) -> Dict[str, Any]:
    """One row of the grouped query that fingerprints a day (per object)."""
    return {"day": day_ms, "pageId": object_id, "rows": rows, "numEvents": num_events, "numMinutes": rows}
