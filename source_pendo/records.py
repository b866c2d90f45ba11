"""Turning Pendo rows into records: snake_case names, lifted metadata groups, ISO-8601 times."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from itertools import repeat
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EPOCH_DAY = date(1970, 1, 1)
# Values that need no renaming: the usual case of a column, checked by exact type (cheapest test).
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})
_SCALAR_SCHEMA_TYPES = frozenset({"string", "integer", "number", "boolean", "null"})
AUTO_GROUP = "auto"
APP_AUTO_GROUP_PREFIX = "auto__"
METADATA_PREFIX = "metadata_"


@lru_cache(maxsize=4096)
def snake_case(name: str) -> str:
    """`lastUpdatedAt` -> `last_updated_at`, `DisplayName` -> `display_name`, `remoteIP` -> `remote_ip`."""
    return _WORD_BOUNDARY.sub("_", name).replace("-", "_").lower()


def snake_keys(value: Any) -> Any:
    """Every dict key snake_cased, at every depth."""
    if type(value) in _SCALAR_TYPES:
        return value
    if isinstance(value, dict):
        return {snake_case(key): snake_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snake_keys(item) for item in value]
    return value


@lru_cache(maxsize=1024)
def _day_prefix(days: int) -> str:
    return (_EPOCH_DAY + timedelta(days=days)).isoformat() + "T"


@lru_cache(maxsize=4096)
def _hour_prefix(hours: int) -> str:
    days, hour = divmod(hours, 24)
    return f"{_day_prefix(days)}{hour:02d}:"


_MINUTES_SECONDS = tuple(f"{second // 60:02d}:{second % 60:02d}." for second in range(3600))
_MILLIS = tuple(f"{millis:03d}Z" for millis in range(1000))


def iso_from_ms(value: Any) -> Any:
    """Epoch milliseconds as an ISO-8601 UTC string; anything else (null, text, out of range) unchanged.

    Hot: called for every time column of every event row, so the text up to the hour is cached and
    the rest is two table lookups (strftime costs ten times as much)."""
    if type(value) is int:
        ms = value
    elif isinstance(value, float) and value == value and abs(value) < 1e18:
        ms = int(value)
    else:
        return value
    hours, ms_of_hour = divmod(ms, 3_600_000)
    try:
        prefix = _hour_prefix(hours)
    except OverflowError:
        return value
    seconds, millis = divmod(ms_of_hour, 1000)
    return prefix + _MINUTES_SECONDS[seconds] + _MILLIS[millis]


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
    columns named in `keep_names_under` (track event properties, ...) names are users' own: kept.

    Hot: runs once per record. Pendo's rows of one query come with the same columns in the same
    order, so what to do with each is worked out once per such layout and the record is built with
    one dict(zip(...)); only time columns and values that may hold objects are looked at again."""

    _MAX_LAYOUTS = 256
    # Times repeat from row to row (the day or hour of a bucket, a last time equal to the first).
    _MAX_RECENT_TIMES = 256

    def __init__(
        self,
        schema: Mapping[str, Any],
        keep_names_under: Tuple[str, ...] = (),
        add_keys: Optional[Callable[[List[Dict[str, Any]], Tuple[str, ...]], None]] = None,
    ):
        """`add_keys(records, names)`, when given, adds a key column to records that have the columns
        `names` (from their values as Pendo sent them: before times become text)."""
        self._add_keys = add_keys
        times = time_paths(schema)
        self._time_columns = frozenset(name for name, node in times.items() if node is True)
        self._nested_times = {name: node for name, node in times.items() if node is not True}
        # Columns whose values never need renaming inside: scalars by schema, times, users' own names.
        self._settled_columns = self._time_columns | frozenset(keep_names_under) | frozenset(
            name for name, prop in (schema.get("properties") or {}).items() if _holds_scalars(prop)
        )
        self._layouts: Dict[Tuple[str, ...], Tuple[Tuple[str, ...], Tuple[str, ...], Tuple[str, ...]]] = {}
        self._recent_times: Dict[int, str] = {}

    def _layout(self, keys: Tuple[str, ...]) -> Tuple[Tuple[str, ...], Tuple[str, ...], Tuple[str, ...]]:
        names = tuple(snake_case(key) for key in keys)
        layout = (
            names,
            tuple(name for name in names if name in self._time_columns),
            tuple(name for name in names if name not in self._settled_columns),
        )
        if len(self._layouts) < self._MAX_LAYOUTS:
            self._layouts[keys] = layout
        return layout

    def __call__(self, row: Mapping[str, Any]) -> Dict[str, Any]:
        keys = tuple(row)
        names, times, unsettled = self._layouts.get(keys) or self._layout(keys)
        record = dict(zip(names, row.values()))
        if self._add_keys:
            self._add_keys([record], names)
        return self._finish(record, times, unsettled)

    def many(self, rows: List[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        """Records of rows, in order; when all share one layout (Pendo's rows of one query do), the
        records are built without a Python step per row and column."""
        if not rows:
            return []
        keys = tuple(rows[0])
        if not all(map(keys.__eq__, map(tuple, rows))):
            return [self(row) for row in rows]
        names, times, unsettled = self._layouts.get(keys) or self._layout(keys)
        records = list(map(dict, map(zip, repeat(names), map(dict.values, rows))))
        if self._add_keys:
            self._add_keys(records, names)
        if times or unsettled or self._nested_times:
            for record in records:
                self._finish(record, times, unsettled)
        return records

    def _finish(self, record: Dict[str, Any], times: Tuple[str, ...], unsettled: Tuple[str, ...]) -> Dict[str, Any]:
        """Times as ISO, users' objects renamed inside (in place)."""
        recent = self._recent_times
        for name in times:
            value = record[name]
            if type(value) is not int:
                record[name] = iso_from_ms(value)
                continue
            text = recent.get(value)
            if text is None:
                if len(recent) >= self._MAX_RECENT_TIMES:
                    recent.clear()
                text = recent[value] = iso_from_ms(value)
            record[name] = text
        for name in unsettled:
            value = record[name]
            if type(value) not in _SCALAR_TYPES:
                record[name] = snake_keys(value)
        if self._nested_times:
            convert_times(record, self._nested_times)
        return record


def _holds_scalars(prop: Mapping[str, Any]) -> bool:
    types = prop.get("type")
    types = [types] if isinstance(types, str) else types or []
    return bool(types) and all(kind in _SCALAR_SCHEMA_TYPES for kind in types)


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
