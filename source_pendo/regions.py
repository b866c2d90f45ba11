"""Which of Pendo's regional hosts accepts an integration key: asked when the configured host refuses it."""

from __future__ import annotations

from typing import Callable, Mapping, Optional

from .concurrency import ordered_map

# Each host gets a short time to answer: a refusal is quick, and check should not hang on one host.
PROBE_TIMEOUT = (3, 5)


def region_accepting_key(accepts_key: Callable[[str], bool], region_roots: Mapping[str, str], refused_root: str) -> Optional[str]:
    """The first region (in `region_roots` order) whose host `accepts_key(api_root)`, asking every
    host but `refused_root` at once."""
    candidates = [(region, root) for region, root in region_roots.items() if root != refused_root]
    accepted = list(ordered_map(lambda candidate: accepts_key(candidate[1]), candidates, len(candidates)))
    return next((region for (region, _), ok in zip(candidates, accepted) if ok), None)
