"""The one builder of Pendo aggregation request bodies, and of the filters that page them."""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Sequence, Tuple

REQUEST_ID_PREFIX = "source-pendo"


def literal(value: Any) -> str:
    """A value written as a Pendo expression literal (strings double-quoted with JSON escapes)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def compare(path: str, comparison: Tuple[str, Any]) -> str:
    """`path > value` or `path == value`: the only filter forms paging needs (see pager.py)."""
    operator, value = comparison
    return f"{path} {operator} {literal(value)}"


def time_series(period: str, first_ms: int, count: int) -> dict:
    """`count` day or hour buckets of Pendo's, starting with the one that holds `first_ms`."""
    return {"period": f"{period}Range", "first": first_ms, "count": count}


def pipeline_body(
    source: str,
    source_params: Optional[Mapping[str, Any]],
    stages: Sequence[Mapping[str, Any]] = (),
    *,
    request_id: str,
    window: Optional[Mapping[str, Any]] = None,
) -> dict:
    source_stage: dict = {source: source_params}
    if window is not None:
        source_stage["timeSeries"] = window
    return {
        "response": {"mimeType": "application/json"},
        "request": {
            "requestId": f"{REQUEST_ID_PREFIX}:{request_id}",
            "pipeline": [{"source": source_stage}, *stages],
        },
    }


def keyset_page(
    source: str,
    source_params,
    *,
    group_path: str,
    comparison: Optional[Tuple[str, Any]],
    sort_paths: Sequence[str],
    limit: Optional[int],
    request_id: str,
    window: Optional[Mapping[str, Any]] = None,
) -> dict:
    """Rows in `sort_paths` order whose `group_path` passes `comparison` (all if None), `limit` at most."""
    stages: list = [{"filter": compare(group_path, comparison)}] if comparison else []
    stages.append({"sort": list(sort_paths)})
    if limit is not None:
        stages.append({"limit": limit})
    return pipeline_body(source, source_params, stages, request_id=request_id, window=window)


def grouped(source: str, source_params, *, group_paths: Sequence[str], fields: Sequence[Mapping[str, Any]], request_id: str, window: Mapping[str, Any]) -> dict:
    """One row per distinct `group_paths` values with the `fields` Pendo computes over its rows."""
    return pipeline_body(source, source_params, [{"group": {"group": list(group_paths), "fields": list(fields)}}], request_id=request_id, window=window)
