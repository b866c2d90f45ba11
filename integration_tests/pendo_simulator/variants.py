"""The "real Pendo variants": points where public evidence leaves Pendo's behaviour open, each a
switch of the simulator (all off by default; ``"all"`` turns every one on)."""
from __future__ import annotations

from typing import Iterable

VARIANTS = (
    "null_results",  # an aggregation answer with no rows has "results": null
    "nulls_last",  # sort puts nulls last ascending; any comparison with null is false
    "no_or_filter",  # filters refuse || and grouping parentheses
    "object_event_params",  # featureEvents / trackEvents take one featureId / trackTypeId only
    "missing_lastupdated",  # some accounts and visitors have no metadata.auto.lastupdated
    "wrong_region_401",  # a key of another region is answered 401 (not 400)
    "odd_visitor_ids",  # some visitor ids hold / ? # % +, spaces and non-ASCII characters
    "deleted_visitors",  # some visitors with events were deleted since: no row, history 404
    "unknown_app_ignored",  # an unknown numeric appId matches no rows (not 400)
    "no_group",  # the group stage is refused with HTTP 400 "bad pipeline: bad group: ..."
    "group_across_periods",  # group runs once over every period of the time series, not once per period
)
ALL = "all"


def parse_variants(names: Iterable[str]) -> frozenset[str]:
    """The active variants named by ``names`` (``"all"``: every one); raises ValueError on an unknown name."""
    if isinstance(names, str):
        names = [names]
    chosen = set(names)
    unknown = sorted(chosen - set(VARIANTS) - {ALL})
    if unknown:
        raise ValueError(f"unknown simulator variant {', '.join(map(repr, unknown))}; expected {ALL!r} or any of {', '.join(VARIANTS)}")
    return frozenset(VARIANTS) if ALL in chosen else frozenset(chosen)
