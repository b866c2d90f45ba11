"""Turning Pendo rows into records: snake_case names, lifted metadata groups, ISO-8601 times."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Dict, Mapping, Tuple

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
AUTO_GROUP = "auto"
APP_AUTO_GROUP_PREFIX = "auto__"
METADATA_PREFIX = "metadata_"


@lru_cache(maxsize=4096)
def snake_case(name: str) -> str:
    """`lastUpdatedAt` -> `last_updated_at`, `DisplayName` -> `display_name`, `remoteIP` -> `remote_ip`."""
    return _WORD_BOUNDARY.sub("_", name).replace("-", "_").lower()


def snake_keys(value: Any) -> Any:
    """Every dict key snake_cased, at every depth."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, dict):
        return {snake_case(key): snake_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snake_keys(item) for item in value]
    return value


def iso_from_ms(value: Any) -> Any:
    """Epoch milliseconds as an ISO-8601 UTC string; anything else (null, text, out of range) unchanged."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    try:
        moment = _EPOCH + timedelta(milliseconds=int(value))
    except OverflowError:
        return value
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ms_from_iso(value: str) -> int:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def time_paths(schema: Mapping[str, Any]) -> Dict[str, Any]:
    """A tree of the schema's date-time properties: {name: True} for a time, {name: subtree} for an
    object or an array of objects."""
    tree: Dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("format") == "date-time":
            tree[name] = True
            continue
        subtree = time_paths(prop.get("items") or {}) or time_paths(prop)
        if subtree:
            tree[name] = subtree
    return tree


def convert_times(record: Dict[str, Any], tree: Mapping[str, Any]) -> Dict[str, Any]:
    for name, node in tree.items():
        value = record.get(name)
        if value is None:
            continue
        if node is True:
            record[name] = iso_from_ms(value)
        elif isinstance(value, dict):
            convert_times(value, node)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    convert_times(item, node)
    return record


class ObjectShaper:
    """Pendo objects and events: snake_case keys at every depth, times as ISO. Under the top-level
    columns named in `keep_names_under` (track event properties, ...) names are users' own: kept."""

    def __init__(self, schema: Mapping[str, Any], keep_names_under: Tuple[str, ...] = ()):
        self._times = time_paths(schema)
        self._free_form = frozenset(keep_names_under)

    def __call__(self, row: Mapping[str, Any]) -> Dict[str, Any]:
        free_form = self._free_form
        record = {}
        for key, value in row.items():
            name = snake_case(key)
            record[name] = value if name in free_form else snake_keys(value)
        return convert_times(record, self._times)


class MetadataEntityShaper:
    """Accounts and visitors: each `metadata.<group>` becomes `metadata_<group>` (field names as Pendo
    gives them), `metadata.auto.lastupdated` is also lifted to `lastupdated`, times become ISO."""

    def __init__(self, schema: Mapping[str, Any]):
        self._times = time_paths(schema)
        self._app_auto_times = self._times.get(METADATA_PREFIX + AUTO_GROUP, {})

    def __call__(self, row: Mapping[str, Any]) -> Dict[str, Any]:
        record: Dict[str, Any] = {}
        for key, value in row.items():
            if key == "metadata" and isinstance(value, dict):
                for group, fields in value.items():
                    record[METADATA_PREFIX + group] = fields
            else:
                record[snake_case(key)] = snake_keys(value)
        auto = record.get(METADATA_PREFIX + AUTO_GROUP)
        record["lastupdated"] = auto.get("lastupdated") if isinstance(auto, dict) else None
        convert_times(record, self._times)
        for name, fields in record.items():
            if name.startswith(METADATA_PREFIX + APP_AUTO_GROUP_PREFIX) and isinstance(fields, dict):
                convert_times(fields, self._app_auto_times)
        return record
