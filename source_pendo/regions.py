"""Which of Pendo's regional hosts accepts an integration key: asked when the configured host refuses it."""

from __future__ import annotations

from typing import Mapping, Optional

import requests

from .concurrency import ordered_map
from .http import PendoKeyAuth

# Each host gets a short time to answer: a refusal is quick, and check should not hang on one host.
PROBE_TIMEOUT = (3, 5)


def region_accepting_key(api_key: str, region_roots: Mapping[str, str], refused_root: str) -> Optional[str]:
    """The first region (in `region_roots` order) whose host reads the metadata catalogue with this
    key, asking every host but `refused_root` at once."""
    candidates = [(region, root) for region, root in region_roots.items() if root != refused_root]
    accepted = list(ordered_map(lambda candidate: _accepts(api_key, candidate[1]), candidates, len(candidates)))
    return next((region for (region, _), ok in zip(candidates, accepted) if ok), None)


def _accepts(api_key: str, api_root: str) -> bool:
    try:
        response = requests.get(api_root + "metadata/schema/visitor", auth=PendoKeyAuth(api_key), timeout=PROBE_TIMEOUT)
    except requests.RequestException:
        return False
    return response.status_code == 200
