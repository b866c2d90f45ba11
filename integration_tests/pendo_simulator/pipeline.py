"""Runs the body of ``POST /aggregation``: a source followed by operators.

A request is compiled in full before anything is sent, so every client mistake becomes
an ``AggregationError`` (HTTP 400, or 422 for a missing pipeline). Compiled requests
then produce rows lazily; only ``sort`` and ``count`` need to see every row.

Sources live in ``SOURCES``; ``register_source`` adds one (event sources, which take a
``timeSeries`` next to the source key, register with ``time_series=True``; they live in
``event_sources``). A source producer gets its parameters, the whole source object and a
``QueryContext``: the dataset, the clock the request runs at, the event log and the
simulator's active variants (see ``variants``), which change how sources, ``filter``,
``sort`` and ``group`` behave.

Pendo runs one pipeline per period of a ``timeSeries`` (contract row G2): the stages up to and
including the last ``group`` run on each period's rows alone, one period after another, so a group
never mixes two periods; the later stages run on all of their rows (no public client shows what
Pendo's ``sort`` / ``limit`` do across periods; without a ``group`` every stage sees every row, as
the connector's paging expects). The variant ``group_across_periods`` groups the rows of every
period together instead.
"""
from __future__ import annotations

import functools
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

from .dataset import ANONYMOUS_PREFIX, CLOCK_START_MS, Dataset
from .expressions import ExpressionError, compile_filter, first_alternative_or_grouping, kind_of, resolve_path, split_path
from .grouping import GroupError, compile_group

Row = dict[str, Any]
Rows = Iterator[Row]


@dataclass(frozen=True)
class QueryContext:
    """What a source reads: the dataset, the clock of this request, the event log (or None)
    and the active variants."""

    dataset: Dataset
    clock_ms: int = CLOCK_START_MS
    events: Any = None  # an events.EventLog
    variants: frozenset[str] = frozenset()


# (source parameters, the whole source object incl. timeSeries, context) -> rows.
# It validates eagerly and returns a lazy iterator.
SourceProducer = Callable[[Any, Mapping[str, Any], QueryContext], Iterable[Row]]
Transform = Callable[[Rows], Rows]

_EXPAND_ALL_APPS = re.compile(r"""^\s*expandAppIds\(\s*(["'])\*\1\s*\)\s*$""")
# Real Pendo operators the simulator does not implement: refused with a clearer message.
_UNSUPPORTED_OPERATORS = {"eval", "unwind", "merge", "fork", "spawn", "join", "segment", "reduce", "bulkExpand", "switch"}
_KIND_RANK = {"null": 0, "boolean": 1, "number": 2, "string": 3, "array": 4, "object": 5}
_NULL_LAST_RANK = 6


class AggregationError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SourceType:
    name: str
    produce: SourceProducer
    time_series: bool = False


SOURCES: dict[str, SourceType] = {}


def register_source(name: str, *, time_series: bool = False) -> Callable[[SourceProducer], SourceProducer]:
    def register(produce: SourceProducer) -> SourceProducer:
        SOURCES[name] = SourceType(name, produce, time_series)
        return produce

    return register


@dataclass
class Aggregation:
    request_id: Any
    source_name: str
    _periods: list[Iterable[Row]]  # the source's rows, one part per period where it runs per period
    _per_period: list[Transform]
    _transforms: list[Transform]

    def rows(self) -> Rows:
        rows = itertools.chain.from_iterable(_through(iter(part), self._per_period) for part in self._periods)
        return _through(rows, self._transforms)


def _through(rows: Rows, transforms: list[Transform]) -> Rows:
    for transform in transforms:
        rows = transform(rows)
    return rows


def compile_aggregation(
    body: Any, dataset: Dataset, *, clock_ms: int = CLOCK_START_MS, events: Any = None, variants: frozenset[str] = frozenset()
) -> Aggregation:
    """Validate ``body`` in full and return the lazy aggregation; ``clock_ms`` is the time the
    request runs at (what event data is visible), ``events`` the ``EventLog`` if any,
    ``variants`` the simulator's active variants."""
    if not isinstance(body, dict):
        raise AggregationError("request body must be a JSON object")
    response = body.get("response")
    if response is not None:
        mime_type = response.get("mimeType") if isinstance(response, dict) else None
        if mime_type not in (None, "application/json"):
            raise AggregationError(f"unsupported response mimeType {mime_type!r}; use application/json")
    request = body.get("request")
    if not isinstance(request, dict) or "pipeline" not in request:
        raise AggregationError("request.pipeline is required", status=422)
    pipeline = request["pipeline"]
    if not isinstance(pipeline, list) or not pipeline:
        raise AggregationError("request.pipeline must be a non-empty list of stages")
    context = QueryContext(dataset, clock_ms, events, variants)
    source_name, rows = _compile_source(pipeline[0], context)
    operators = _operators(variants)
    transforms = [_compile_operator(stage, index, operators) for index, stage in enumerate(pipeline[1:], start=1)]
    per_period = _stages_per_period(pipeline[1:], variants) if SOURCES[source_name].time_series else 0
    periods = _rows_per_period(source_name, pipeline[0]["source"], context) if per_period else [rows]
    return Aggregation(request.get("requestId"), source_name, periods, transforms[:per_period], transforms[per_period:])


def _stages_per_period(stages: list, variants: frozenset[str]) -> int:
    """How many stages, from the first, run on each period's rows alone: through the last group."""
    if "group_across_periods" in variants:
        return 0
    groups = [index for index, stage in enumerate(stages) if isinstance(stage, dict) and "group" in stage]
    return groups[-1] + 1 if groups else 0


def _rows_per_period(name: str, source: Mapping[str, Any], context: QueryContext) -> list[Iterable[Row]]:
    """The rows of a time-series source, one part per period of its (already validated) window."""
    calendar = context.events.calendar
    period, start, end = calendar.window(source["timeSeries"], context.clock_ms)
    produce = SOURCES[name].produce
    return [produce(source[name], {**source, "timeSeries": {"period": period, "first": first, "count": 1}}, context) for first in calendar.buckets(start, end, period)]


def source_name_of(body: Any) -> str | None:
    """The source type an aggregation body asks for, or None; never raises (used to match faults)."""
    try:
        source = body["request"]["pipeline"][0]["source"]
        return next(name for name in source if name != "timeSeries")
    except (KeyError, IndexError, TypeError, StopIteration):
        return None


def _compile_source(stage: Any, context: QueryContext) -> tuple[str, Iterable[Row]]:
    if not isinstance(stage, dict) or list(stage) != ["source"] or not isinstance(stage["source"], dict):
        raise AggregationError('the first pipeline stage must be {"source": {<source type>: <parameters>}}')
    source = stage["source"]
    names = [name for name in source if name != "timeSeries"]
    if len(names) != 1:
        raise AggregationError(f"a source must name exactly one source type, got {names}")
    name = names[0]
    source_type = SOURCES.get(name)
    if source_type is None:
        raise AggregationError(f"unknown source type {name!r}")
    if source_type.time_series and "timeSeries" not in source:
        raise AggregationError("no period specified for time series source")
    if not source_type.time_series and "timeSeries" in source:
        raise AggregationError(f"source type {name} does not take a timeSeries")
    return name, source_type.produce(source[name], source, context)


def source_options(source: str, params: Any, allowed: set[str]) -> dict[str, Any]:
    """Source parameters as a dict (null means none); any key outside ``allowed`` is refused."""
    if params is None:
        return {}
    if not isinstance(params, dict) or not set(params) <= allowed:
        raise AggregationError(f"bad parameters for source type {source}: {json.dumps(params)}")
    return params


def resolve_app_ids(source: str, value: Any, context: QueryContext) -> set[int]:
    dataset = context.dataset
    if value is None:
        return {dataset.default_app_id}
    if isinstance(value, str) and _EXPAND_ALL_APPS.match(value):
        return set(dataset.app_ids)
    candidates = value if isinstance(value, list) else [value]
    if not candidates or not all(_is_integer(candidate) for candidate in candidates):
        raise AggregationError(f'bad parameters for source type {source}: appId must be a number, a list of numbers or expandAppIds("*"), got {json.dumps(value)}')
    unknown = [candidate for candidate in candidates if candidate not in dataset.app_ids]
    if unknown and "unknown_app_ignored" not in context.variants:
        raise AggregationError(f"unknown appId {unknown[0]} for this subscription")
    return set(candidates)


@register_source("visitors")
def _visitors(params: Any, _source: Mapping[str, Any], context: QueryContext) -> Iterable[Row]:
    dataset = context.dataset
    identified = source_options("visitors", params, {"identified"}).get("identified", False)
    if not isinstance(identified, bool):
        raise AggregationError("bad parameters for source type visitors: identified must be true or false")
    rows = list(dataset.visitors)
    if identified:
        return (row for row in rows if not _is_anonymous(row["visitorId"]))
    return rows


@register_source("accounts")
def _accounts(params: Any, _source: Mapping[str, Any], context: QueryContext) -> Iterable[Row]:
    dataset = context.dataset
    options = source_options("accounts", params, {"appId"})
    rows = list(dataset.accounts)
    if options.get("appId") is None:
        return rows
    groups = {f"auto__{app_id}" for app_id in resolve_app_ids("accounts", options["appId"], context)}
    return (row for row in rows if groups & row["metadata"].keys())


def _object_source(name: str, kind: str) -> None:
    def produce(params: Any, _source: Mapping[str, Any], context: QueryContext) -> Iterable[Row]:
        app_ids = resolve_app_ids(name, source_options(name, params, {"appId"}).get("appId"), context)
        return (row for row in list(context.dataset.rows(kind)) if row["appId"] in app_ids)

    register_source(name)(produce)


_object_source("pages", "pages")
_object_source("features", "features")
_object_source("guides", "guides")
_object_source("trackTypes", "track_types")


# --- operators -----------------------------------------------------------------


def _compile_operator(stage: Any, index: int, operators: Mapping[str, Callable[[Any, str], Transform]]) -> Transform:
    if not isinstance(stage, dict) or len(stage) != 1:
        raise AggregationError(f"pipeline stage {index} must be an object with exactly one operator")
    (name, argument), = stage.items()
    if name == "source":
        raise AggregationError(f"pipeline stage {index}: source is only allowed as the first stage")
    if name in _UNSUPPORTED_OPERATORS:
        raise AggregationError(f"pipeline stage {index}: operator {name!r} is not supported by the simulator")
    compile_operator = operators.get(name)
    if compile_operator is None:
        raise AggregationError(f"pipeline stage {index}: unknown operator {name!r}")
    return compile_operator(argument, f"pipeline stage {index} ({name})")


def _filter(argument: Any, where: str, *, null_compares_false: bool = False, refuse_alternatives: bool = False) -> Transform:
    if not isinstance(argument, str):
        raise AggregationError(f"{where}: filter must be an expression string")
    try:
        refused = first_alternative_or_grouping(argument) if refuse_alternatives else None
        if refused is None:
            matches = compile_filter(argument, null_compares_false=null_compares_false)
    except ExpressionError as error:
        raise AggregationError(f"{where}: invalid filter expression: {error}") from None
    if refused is not None:
        raise AggregationError(f"bad pipeline: bad filter: {refused}")
    return lambda rows: (row for row in rows if matches(row))


def sort_key(value: Any, nulls_last: bool = False) -> tuple[int, Any]:
    """A total order across kinds: null < booleans < numbers < strings < arrays < objects
    (with ``nulls_last``, null after objects)."""
    kind = kind_of(value)
    if kind == "null" and nulls_last:
        return _NULL_LAST_RANK, None
    if kind in ("array", "object"):
        return _KIND_RANK[kind], json.dumps(value, sort_keys=True)
    return _KIND_RANK[kind], value


def _sort(argument: Any, where: str, *, nulls_last: bool = False) -> Transform:
    if not isinstance(argument, list) or not argument or not all(isinstance(key, str) and key.lstrip("-") for key in argument):
        raise AggregationError(f'{where}: sort takes a non-empty list of field paths, "-" prefix for descending')
    keys = [(split_path(key.lstrip("-")), key.startswith("-")) for key in argument]

    def sort(rows: Rows) -> Rows:
        materialized = list(rows)
        # Stable sorts from the least to the most significant key make one multi-key sort.
        for parts, descending in reversed(keys):
            materialized.sort(key=lambda row: sort_key(resolve_path(row, parts), nulls_last), reverse=descending)
        return iter(materialized)

    return sort


def _count_argument(argument: Any, where: str) -> int:
    if not _is_integer(argument) or argument < 0:
        raise AggregationError(f"{where}: expected a non-negative integer, got {json.dumps(argument)}")
    return argument


def _limit(argument: Any, where: str) -> Transform:
    limit = _count_argument(argument, where)
    return lambda rows: itertools.islice(rows, limit)


def _skip(argument: Any, where: str) -> Transform:
    skip = _count_argument(argument, where)
    return lambda rows: itertools.islice(rows, skip, None)


def _select(argument: Any, where: str) -> Transform:
    if not isinstance(argument, dict) or not argument or not all(isinstance(path, str) and path for path in argument.values()):
        raise AggregationError(f'{where}: select takes an object {{"newName": "field.path", ...}}')
    fields = [(name, split_path(path)) for name, path in argument.items()]
    return lambda rows: ({name: resolve_path(row, parts) for name, parts in fields} for row in rows)


def _identified(argument: Any, where: str) -> Transform:
    if not isinstance(argument, str) or not argument:
        raise AggregationError(f"{where}: identified takes the name of the visitor id field")
    parts = split_path(argument)
    return lambda rows: (row for row in rows if not _is_anonymous(resolve_path(row, parts)))


def _count(argument: Any, where: str) -> Transform:
    if argument is not None:
        raise AggregationError(f"{where}: count takes null")

    def count(rows: Rows) -> Rows:
        yield {"count": sum(1 for _ in rows)}

    return count


def _group(argument: Any, where: str) -> Transform:
    try:
        return compile_group(argument, sort_key)
    except GroupError as error:
        raise AggregationError(f"{where}: {error}") from None


def _refuse_group(_argument: Any, _where: str) -> Transform:
    raise AggregationError("bad pipeline: bad group: unsupported pipeline operator")


_DEFAULT_OPERATORS: dict[str, Callable[[Any, str], Transform]] = {
    "filter": _filter,
    "sort": _sort,
    "limit": _limit,
    "skip": _skip,
    "select": _select,
    "identified": _identified,
    "count": _count,
    "group": _group,
}


def _operators(variants: frozenset[str]) -> dict[str, Callable[[Any, str], Transform]]:
    """The operators as the active variants make them behave."""
    nulls_last = "nulls_last" in variants
    return {
        **_DEFAULT_OPERATORS,
        "filter": functools.partial(_filter, null_compares_false=nulls_last, refuse_alternatives="no_or_filter" in variants),
        "sort": functools.partial(_sort, nulls_last=nulls_last),
        "group": _refuse_group if "no_group" in variants else _group,
    }


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_anonymous(visitor_id: Any) -> bool:
    return isinstance(visitor_id, str) and visitor_id.startswith(ANONYMOUS_PREFIX)
