"""The one builder of Pendo aggregation request bodies, and of the keyset filters that page them."""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Sequence

REQUEST_ID_PREFIX = "source-pendo"


def literal(value: Any) -> str:
    """A value written as a Pendo expression literal (strings double-quoted with JSON escapes)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def at_least(path: str, value: Any) -> str:
    return f"{path} >= {literal(value)}"


def after_key(paths: Sequence[str], values: Sequence[Any]) -> str:
    """Rows strictly after `values` in the ascending order of `paths`.

    For (a, b) that is `a > A || (a == A && b > B)`: with `paths` a total order, paging by it
    never repeats or skips a row, however many rows tie on the first fields.
    """
    clauses = []
    for index, path in enumerate(paths):
        equal_prefix = [f"{p} == {literal(v)}" for p, v in zip(paths[:index], values[:index])]
        clauses.append(" && ".join(equal_prefix + [greater(path, values[index])]))
    return " || ".join(f"({clause})" if " && " in clause else clause for clause in clauses)


def greater(path: str, value: Any) -> str:
    """`path` sorts after `value`. Null sorts first, and `x > null` is false in Pendo's filters."""
    return f"{path} != null" if value is None else f"{path} > {literal(value)}"


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
    sort_paths: Sequence[str],
    lower_bound: Optional[str],
    page_size: int,
    request_id: str,
    window: Optional[Mapping[str, Any]] = None,
) -> dict:
    """One page of rows in `sort_paths` order, past `lower_bound` (a filter expression) if any."""
    stages = [{"filter": lower_bound}] if lower_bound else []
    return pipeline_body(
        source,
        source_params,
        [*stages, {"sort": list(sort_paths)}, {"limit": page_size}],
        request_id=request_id,
        window=window,
    )
