"""Retroactive tagging: Pendo applies a new or edited page or feature rule to past data.

A page rule decides which page every hit on a URL belongs to, so retagging a page moves its page
hits and the page of the feature clicks made on it; a feature rule moves that feature's clicks.
A new rule on URLs nobody tagged turns untagged page views into page hits. The raw URL, time,
visitor and arrival of a hit never change, so the ``events`` source (every hit, whatever its
tag) keeps its rows while pageEvents / featureEvents rows and visitor history change, on past
days too. Every change is deterministic: all matching hits in the time range move.
"""
from __future__ import annotations

from typing import Any, Callable

from .dataset import Dataset
from .events import EventLog, Hit

_OBJECT_KINDS = {"page": "pages", "feature": "features"}


def retag(events: EventLog, dataset: Dataset, kind: str, from_id: str, to_id: str, first_ms: int | None, end_ms: int | None) -> int:
    """Move the hits of page / feature ``from_id`` with ts in ``[first_ms, end_ms)`` to ``to_id``
    (of the same app); returns how many hits changed."""
    if kind not in _OBJECT_KINDS:
        raise ValueError(f"only page and feature rules are retagged, not {kind!r}")
    source, target = _object(dataset, kind, from_id), _object(dataset, kind, to_id)
    if source["appId"] != target["appId"] or from_id == to_id:
        raise ValueError(f"retag moves hits between two {kind}s of one app; {from_id!r} and {to_id!r} are not")
    in_range = _range(first_ms, end_ms)

    def move_page(hit: Hit) -> bool:
        if hit.page_id != from_id or not in_range(hit.ts):
            return False
        if hit.kind == "page":
            hit.object_id = to_id
        hit.page_id = to_id
        return True

    def move_feature(hit: Hit) -> bool:
        if hit.kind != "feature" or hit.object_id != from_id or not in_range(hit.ts):
            return False
        hit.object_id = to_id
        return True

    return events.rewrite_hits(move_page if kind == "page" else move_feature)


def tag_untagged(events: EventLog, dataset: Dataset, page_id: str, url_path: str | None, first_ms: int | None, end_ms: int | None) -> int:
    """Make the untagged page views of ``page_id``'s app (those whose URL path is ``url_path``,
    or all) with ts in ``[first_ms, end_ms)`` hits of that page; returns how many changed."""
    app_id = _object(dataset, "page", page_id)["appId"]
    in_range = _range(first_ms, end_ms)

    def tag(hit: Hit) -> bool:
        if hit.kind != "untagged" or hit.app_id != app_id or not in_range(hit.ts):
            return False
        if url_path is not None and hit.url.split("/", 3)[3] != url_path:
            return False
        hit.kind, hit.object_id, hit.page_id = "page", page_id, page_id
        return True

    return events.rewrite_hits(tag)


def _object(dataset: Dataset, kind: str, object_id: str) -> dict[str, Any]:
    found = next((row for row in dataset.rows(_OBJECT_KINDS[kind]) if row["id"] == object_id), None)
    if found is None:
        raise ValueError(f"no {kind} {object_id!r} in the dataset")
    return found


def _range(first_ms: int | None, end_ms: int | None) -> Callable[[int], bool]:
    low = float("-inf") if first_ms is None else first_ms
    high = float("inf") if end_ms is None else end_ms
    return lambda ts: low <= ts < high
