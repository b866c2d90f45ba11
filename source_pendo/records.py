"""Turning Pendo rows into records: snake_case names, lifted metadata groups, ISO-8601 times,
metadata values of their declared type."""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache, partial
from itertools import repeat
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EPOCH_DAY = date(1970, 1, 1)
# Values that need no renaming: the usual case of a column, checked by exact type (cheapest test).
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})
_SCALAR_SCHEMA_TYPES = frozenset({"string", "integer", "number", "boolean", "null"})
# Integers destinations can hold; larger ones are kept as their decimal text.
_INT64_MIN, _INT64_END = -(2**63), 2**63
_CANONICAL_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
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
    types = prop_types(prop)
    return bool(types) and types <= _SCALAR_SCHEMA_TYPES


def json_text(value: Any) -> str:
    """A value as its JSON text: what a column declared as text holds of a value of another kind."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fits_int64(number: Any) -> bool:
    return _INT64_MIN <= number < _INT64_END


def _int64_of_text(text: str) -> Optional[int]:
    """The integer `text` spells exactly ("367", not "0367" or "+367"), if it fits in 64 bits."""
    if len(text) > 20 or not _CANONICAL_INTEGER.match(text):
        return None
    number = int(text)
    return number if _fits_int64(number) else None


def _as_integer(value: Any, text_ok: bool) -> Any:
    kind = type(value)
    if kind is int:
        return value if _fits_int64(value) or not text_ok else str(value)
    if kind is float and value.is_integer() and _fits_int64(value):
        return int(value)
    if kind is str:
        number = _int64_of_text(value)
        return value if number is None else number
    return json_text(value) if text_ok else value


def _as_number(value: Any, text_ok: bool) -> Any:
    kind = type(value)
    if kind is int:
        return value if _fits_int64(value) or not text_ok else str(value)
    if kind is float:
        return value
    if kind is str:
        if _CANONICAL_INTEGER.match(value):  # an integer beyond 64 bits stays text
            number = _int64_of_text(value)
            return value if number is None else number
        try:
            number = float(value)
        except ValueError:
            return value
        # Only text that is exactly how the number reads back ("3.5", not "3.50" or "1e3").
        return number if math.isfinite(number) and repr(number) == value else value
    return json_text(value) if text_ok else value


def _as_boolean(value: Any, text_ok: bool) -> Any:
    if type(value) is bool:
        return value
    if type(value) is str:
        return {"true": True, "false": False}.get(value, value)
    return json_text(value) if text_ok else value


def _as_text(value: Any, text_ok: bool) -> Any:
    return value if type(value) is str else json_text(value)


def _as_time(value: Any, text_ok: bool) -> Any:
    value = iso_from_ms(value)
    return value if type(value) is str or not text_ok else json_text(value)


def _as_list(value: Any, text_ok: bool, element: Optional[Callable[[Any], Any]]) -> Any:
    if isinstance(value, list):
        return value if element is None else [item if item is None else element(item) for item in value]
    if type(value) is str:
        return value
    return json_text(value) if text_ok else value


_CONVERTERS_BY_TYPE = {"integer": _as_integer, "number": _as_number, "boolean": _as_boolean}


def value_converter(schema: Mapping[str, Any]) -> Optional[Callable[[Any], Any]]:
    """A function making a (non-null) value fit `schema` without losing anything: "367" -> 367 for an
    integer, "3.5" -> 3.5 for a number, "true" -> true for a boolean, times as ISO text. A value that
    cannot become the declared type is kept as it is if the schema admits it (text, or an integer beyond
    64 bits, where the schema admits strings), else as its JSON text if the schema admits strings.
    None when the schema admits every value as it comes."""
    types = prop_types(schema)
    text_ok = "string" in types
    kinds = types - {"null", "string"}
    if len(kinds) > 1:
        return None
    if schema.get("format") == "date-time":
        return partial(_as_time, text_ok=text_ok)
    if kinds == {"array"}:
        return partial(_as_list, text_ok=text_ok, element=value_converter(schema.get("items") or {}))
    if len(kinds) == 1:
        convert = _CONVERTERS_BY_TYPE.get(next(iter(kinds)))
        return partial(convert, text_ok=text_ok) if convert else None
    return partial(_as_text, text_ok=True) if text_ok else None


def prop_types(schema: Mapping[str, Any]) -> frozenset:
    types = schema.get("type")
    return frozenset([types] if isinstance(types, str) else types or [])


def field_converters(group_schema: Mapping[str, Any]) -> Dict[str, Callable[[Any], Any]]:
    converters = {name: value_converter(prop) for name, prop in (group_schema.get("properties") or {}).items()}
    return {name: convert for name, convert in converters.items() if convert is not None}


class MetadataEntityShaper:
    """Accounts and visitors: each `metadata.<group>` becomes `metadata_<group>` (field names as Pendo
    gives them) with every declared field's value of its declared type (times as ISO),
    `metadata.auto.lastupdated` is also lifted to `lastupdated`."""

    def __init__(self, schema: Mapping[str, Any]):
        properties = schema.get("properties") or {}
        self._converters = {name: field_converters(prop) for name, prop in properties.items() if name.startswith(METADATA_PREFIX)}
        self._app_auto_converters = self._converters.get(METADATA_PREFIX + AUTO_GROUP, {})
        self._times = {name: node for name, node in time_paths(schema).items() if not name.startswith(METADATA_PREFIX)}

    def __call__(self, row: Mapping[str, Any]) -> Dict[str, Any]:
        record: Dict[str, Any] = {}
        for key, value in row.items():
            if key == "metadata" and isinstance(value, dict):
                for group, fields in value.items():
                    record[METADATA_PREFIX + group] = self._typed(METADATA_PREFIX + group, fields)
            else:
                record[snake_case(key)] = snake_keys(value)
        auto = record.get(METADATA_PREFIX + AUTO_GROUP)
        record["lastupdated"] = auto.get("lastupdated") if isinstance(auto, dict) else None
        return convert_times(record, self._times)

    def _typed(self, column: str, fields: Any) -> Any:
        converters = self._converters.get(column)
        if converters is None and column.startswith(METADATA_PREFIX + APP_AUTO_GROUP_PREFIX):
            converters = self._app_auto_converters
        if not converters or not isinstance(fields, dict):
            return fields
        typed = dict(fields)
        for name, value in fields.items():
            convert = converters.get(name)
            if convert is not None and value is not None:
                typed[name] = convert(value)
        return typed
