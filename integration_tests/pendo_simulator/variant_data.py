"""The data side of the simulator's variants: changes made to a freshly built ``Dataset``
before its event log is generated, each drawn from its own seeded ``random.Random``."""
from __future__ import annotations

import random
from typing import Any

from .dataset import ANONYMOUS_PREFIX, VISITOR_SPECIAL_IDS, Dataset

# Ids a URL mangles unless sent as one percent-encoded path segment; "%25" tells whether a
# server decodes once or twice.
ODD_VISITOR_IDS = ("ana/b?c#d%e+f g", "josé müller", "訪問者-3", "50%25 off+more")
MISSING_LASTUPDATED_SHARE = 0.1
MISSING_LASTUPDATED_AT_LEAST = 3
DELETED_VISITORS = 3


def _rng(dataset: Dataset, variant: str) -> random.Random:
    return random.Random(f"{dataset.seed}:variant:{variant}")


def _plain_identified(visitors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Identified visitors whose ids no other part of the simulator singles out."""
    return [row for row in visitors if not row["visitorId"].startswith(ANONYMOUS_PREFIX) and row["visitorId"] not in VISITOR_SPECIAL_IDS]


def _without(rows: list[dict[str, Any]], removed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    removed_ids = {id(row) for row in removed}
    return [row for row in rows if id(row) not in removed_ids]


def drop_lastupdated(dataset: Dataset) -> None:
    """Remove ``metadata.auto.lastupdated`` from a share of accounts and of visitors: at
    least some "Do Not Process" visitors and some ordinary identified ones."""
    rng = _rng(dataset, "missing_lastupdated")
    for rows, first_choices in ((dataset.accounts, []), (dataset.visitors, _do_not_process_first(rng, dataset.visitors))):
        count = min(len(rows), max(MISSING_LASTUPDATED_AT_LEAST, round(len(rows) * MISSING_LASTUPDATED_SHARE)))
        chosen = first_choices[: count // 2]
        chosen += rng.sample(_without(rows, chosen), count - len(chosen))
        for row in chosen:
            del row["metadata"]["auto"]["lastupdated"]


def _do_not_process_first(rng: random.Random, visitors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Do Not Process visitors, then ordinary identified ones, each group shuffled."""
    flagged = [row for row in visitors if row["metadata"].get("pendo", {}).get("donotprocess")]
    identified = _without(_plain_identified(visitors), flagged)
    return rng.sample(flagged, len(flagged)) + rng.sample(identified, len(identified))


def give_odd_ids(dataset: Dataset) -> frozenset[str]:
    """Rename a few identified visitors to ids with / ? # % +, spaces and non-ASCII; returns the new ids."""
    candidates = _plain_identified(dataset.visitors)
    chosen = _rng(dataset, "odd_visitor_ids").sample(candidates, min(len(candidates), len(ODD_VISITOR_IDS)))
    for row, visitor_id in zip(chosen, ODD_VISITOR_IDS):
        row["visitorId"] = visitor_id
        row["metadata"]["auto"]["id"] = visitor_id
    return frozenset(row["visitorId"] for row in chosen)


def delete_visitors(dataset: Dataset, keep: frozenset[str] = frozenset()) -> frozenset[str]:
    """Move a few identified visitors (none of ``keep``) to ``dataset.deleted_visitors``; returns their ids."""
    candidates = [row for row in _plain_identified(dataset.visitors) if row["visitorId"] not in keep]
    chosen = _rng(dataset, "deleted_visitors").sample(candidates, min(len(candidates), DELETED_VISITORS))
    dataset.deleted_visitors.extend(chosen)
    dataset.visitors[:] = _without(dataset.visitors, chosen)
    return frozenset(row["visitorId"] for row in chosen)
