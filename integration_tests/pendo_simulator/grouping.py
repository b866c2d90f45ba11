"""The ``group`` operator: one row per distinct combination of key paths, with fields computed
over the rows of each group.

``{"group": {"group": ["day", "pageId"], "fields": <fields>}}``. ``fields`` is a list of
one-key objects (``[{"numEvents": {"sum": "numEvents"}}, {"rows": {"count": null}}]``) or one
object (``{"visitors": {"count": "visitorId"}, "events": {"sum": "numEvents"}}``); public
Pendo clients send both. Absent, null or empty: the distinct key combinations only.

Field operations:

* ``{"count": null}``: the number of rows of the group;
* ``{"count": "<path>"}``: the number of distinct non-null values of that path;
* ``{"sum": "<path>"}``: the sum of its numbers (anything else ignored; no numbers: 0);
* ``{"min": "<path>"}`` / ``{"max": "<path>"}``: the least / greatest non-null value (none: null).

A group row holds the key paths (a dotted path as nested objects) and then the fields. Groups
come in the order their first row came; ``group: []`` makes one group of every row (none when
there are no rows). Over a time series the stage groups each period's rows apart, as Pendo runs
one pipeline per period (contract row G2; see ``pipeline``): grouped by the bucket column
(``day`` / ``hour``) the rows are the same either way, without it there is a row per period.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterator, Protocol

from .expressions import kind_of, resolve_path, split_path

Row = dict[str, Any]
# A value -> a key that orders values of every kind (the order of ``sort``).
OrderKey = Callable[[Any], Any]

OPERATIONS = ("count", "sum", "min", "max")


class GroupError(ValueError):
    """A ``group`` argument the simulator cannot run."""


def compile_group(argument: Any, order_key: OrderKey) -> Callable[[Iterator[Row]], Iterator[Row]]:
    """The transform of a ``group`` stage; raises ``GroupError`` for a malformed argument."""
    if not isinstance(argument, dict) or "group" not in argument or not set(argument) <= {"group", "fields"}:
        raise GroupError('group takes {"group": [<field paths>], "fields": [{<name>: {<operation>: <path or null>}}, ...]}')
    key_paths = _key_paths(argument["group"])
    fields = [_field(name, spec, order_key) for name, spec in _named_fields(argument.get("fields"))]
    _check_names(key_paths, [name for name, _ in fields])

    def group(rows: Iterator[Row]) -> Iterator[Row]:
        groups: dict[tuple, tuple[list[Any], list[Accumulator]]] = {}
        for row in rows:
            values = [resolve_path(row, parts) for parts in key_paths]
            identity = tuple(_identity(value) for value in values)
            found = groups.get(identity)
            if found is None:
                found = groups[identity] = (values, [make() for _, make in fields])
            for accumulator in found[1]:
                accumulator.add(row)
        for values, accumulators in groups.values():
            out: Row = {}
            for parts, value in zip(key_paths, values):
                _put(out, parts, value)
            for (name, _), accumulator in zip(fields, accumulators):
                out[name] = accumulator.result()
            yield out

    return group


def _key_paths(paths: Any) -> list[tuple[str, ...]]:
    if not isinstance(paths, list) or not all(isinstance(path, str) and path and "" not in split_path(path) for path in paths):
        raise GroupError(f'"group" must be a list of field paths, got {json.dumps(paths, ensure_ascii=False)}')
    if len(set(paths)) != len(paths):
        raise GroupError(f'"group" names a path twice: {json.dumps(paths, ensure_ascii=False)}')
    parts = [split_path(path) for path in paths]
    for one in parts:
        for other in parts:
            if one != other and other[: len(one)] == one:
                raise GroupError(f'"group" paths {".".join(one)!r} and {".".join(other)!r} overlap; a key cannot hold another')
    return parts


def _named_fields(fields: Any) -> list[tuple[Any, Any]]:
    if fields is None:
        return []
    if isinstance(fields, dict):
        return list(fields.items())
    if isinstance(fields, list) and all(isinstance(field, dict) and len(field) == 1 for field in fields):
        return [next(iter(field.items())) for field in fields]
    raise GroupError(f'"fields" must be an object {{<name>: {{<operation>: <argument>}}}} or a list of one-key objects, got {json.dumps(fields, ensure_ascii=False)[:200]}')


def _check_names(key_paths: list[tuple[str, ...]], names: list[str]) -> None:
    seen = {parts[0] for parts in key_paths}
    for name in names:
        if name in seen:
            raise GroupError(f"field {name!r} is named twice (or clashes with a group key)")
        seen.add(name)


class Accumulator(Protocol):
    """One field of one group, fed the group's rows one at a time."""

    def add(self, row: Row) -> None: ...

    def result(self) -> Any: ...


class _RowCount:
    def __init__(self) -> None:
        self.count = 0

    def add(self, row: Row) -> None:
        self.count += 1

    def result(self) -> int:
        return self.count


class _DistinctCount:
    def __init__(self, parts: tuple[str, ...]) -> None:
        self.parts = parts
        self.seen: set = set()

    def add(self, row: Row) -> None:
        value = resolve_path(row, self.parts)
        if value is not None:
            self.seen.add(_identity(value))

    def result(self) -> int:
        return len(self.seen)


class _Sum:
    def __init__(self, parts: tuple[str, ...]) -> None:
        self.parts = parts
        self.total: int | float = 0

    def add(self, row: Row) -> None:
        value = resolve_path(row, self.parts)
        if kind_of(value) == "number":
            self.total += value

    def result(self) -> int | float:
        return self.total


class _Extreme:
    def __init__(self, parts: tuple[str, ...], order_key: OrderKey, greatest: bool) -> None:
        self.parts = parts
        self.order_key = order_key
        self.greatest = greatest
        self.best: Any = None
        self.best_key: Any = None

    def add(self, row: Row) -> None:
        value = resolve_path(row, self.parts)
        if value is None:
            return
        key = self.order_key(value)
        if self.best is None or (key > self.best_key if self.greatest else key < self.best_key):
            self.best, self.best_key = value, key

    def result(self) -> Any:
        return self.best


def _field(name: Any, spec: Any, order_key: OrderKey) -> tuple[str, Callable[[], Accumulator]]:
    if not isinstance(name, str) or not name or "." in name:
        raise GroupError(f"a group field needs a plain name, got {json.dumps(name, ensure_ascii=False)}")
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in OPERATIONS:
        raise GroupError(f"group field {name!r} must be {{<operation>: <argument>}} with one of {', '.join(OPERATIONS)}, got {json.dumps(spec, ensure_ascii=False)[:200]}")
    (operation, path), = spec.items()
    if operation == "count" and path is None:
        return name, _RowCount
    if not isinstance(path, str) or not path or "" in split_path(path):
        expected = "null or a field path" if operation == "count" else "a field path"
        raise GroupError(f"group field {name!r}: {operation} takes {expected}, got {json.dumps(path, ensure_ascii=False)}")
    parts = split_path(path)
    if operation == "count":
        return name, lambda: _DistinctCount(parts)
    if operation == "sum":
        return name, lambda: _Sum(parts)
    return name, lambda: _Extreme(parts, order_key, greatest=operation == "max")


def _identity(value: Any) -> tuple[str, Any]:
    """A hashable stand-in for a value: equal only for values of one kind that are equal (1 is not true)."""
    kind = kind_of(value)
    if kind in ("array", "object"):
        return kind, json.dumps(value, sort_keys=True)
    return kind, value


def _put(row: Row, parts: tuple[str, ...], value: Any) -> None:
    for part in parts[:-1]:
        row = row.setdefault(part, {})
    row[parts[-1]] = value
