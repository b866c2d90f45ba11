"""Which form of query a Pendo accepts for featureEvents and trackEvents, found by one small probe.

Estuary's production connector sends `{"appId": "expandAppIds(\"*\")"}` to both sources; tap-pendo
reads them one `featureId` / `trackTypeId` at a time, and its changelog records Pendo refusing a
parameter set of trackEvents with HTTP 400 "bad parameters for source type …: unexpected
parameters". So one query for every object is tried first, on one bucket with a limit of one row;
if Pendo refuses its parameters, the stream reads one query per object and window instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, List

from .. import aggregation, windows
from ..http import pendo_reason
from ..jsonstream import ARRAY_ROWS, iter_rows

if TYPE_CHECKING:
    from .events import ObjectEventStream

REFUSED_PARAMETERS = ("bad parameters", "unexpected parameters")


@dataclass(frozen=True)
class QueryForm:
    one_query: bool
    object_ids: List[Any]
    refusal: str = ""  # what Pendo said when it refused the one-query form

    def describe(self, stream: "ObjectEventStream") -> str:
        if self.one_query:
            return f"{stream.source_name}: one query per window for every {stream.object_name} (Pendo accepts 'appId')."
        return (
            f"{stream.source_name}: one query per {stream.object_name} and window, for {len(self.object_ids)}"
            f" {stream.object_name}s (Pendo refused 'appId': {self.refusal})."
        )


def find_query_form(stream: "ObjectEventStream") -> QueryForm:
    """Probe once; if Pendo refuses the one-query form's parameters, list the objects to query."""
    client = stream.client(hand_back_status=400)
    newest = windows.newest_label(windows.now_ms(), stream.period)
    probe = aggregation.keyset_page(
        stream.source_name,
        {"appId": stream.config.app_id_param},
        group_path=stream.group_column,
        comparison=None,
        sort_paths=[stream.group_column],
        limit=1,
        request_id=f"{stream.name}:probe",
        window=aggregation.time_series(stream.period, windows.anchor(newest, stream.period), 1),
    )
    _, response = client.send_request("POST", f"{stream.url_base}aggregation", request_kwargs=stream.streamed_request_kwargs(), json=probe)
    reason = pendo_reason(response) if response.status_code == 400 else ""
    response.close()
    if not any(words in reason for words in REFUSED_PARAMETERS):
        return QueryForm(True, [])
    _, response = client.send_request("GET", f"{stream.url_base}{stream.object_list_path}", request_kwargs=stream.streamed_request_kwargs(), params={"expand": "*"})
    wanted_apps = set(stream.config.app_ids)
    object_ids = [row["id"] for row in iter_rows(response, ARRAY_ROWS) if row.get("id") is not None and (not wanted_apps or row.get("appId") in wanted_apps)]
    return QueryForm(False, object_ids, reason)
