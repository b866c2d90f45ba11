"""The time-series sources of ``POST /aggregation``: events, pageEvents, featureEvents,
trackEvents (pre-aggregated) and guideEvents, pollEvents (raw).

Every one of them needs ``"timeSeries"`` next to the source key (see ``timebuckets`` for
the window it selects) and takes, as parameters:

* ``null`` or ``{"appId": N | [N, ...] | "expandAppIds(\\"*\\")"}``: the apps, as for the
  object sources (none given: the default app only; an unknown app: 400);
* or one object: ``{"pageId": id}`` for pageEvents, ``{"featureId": id}`` for
  featureEvents, ``{"trackTypeId": id}`` for trackEvents, ``{"guideId": id}`` for
  guideEvents and pollEvents (that object's app, whatever the default app is).

Anything else — an unknown key, a parameter of another source type, two keys at once, an
id no object of that kind has — is HTTP 400 ``bad parameters for source type <name>: ...``.
With the ``object_event_params`` variant, featureEvents and trackEvents take their one
object parameter only (what tap-pendo sends): ``null`` or an ``appId`` is refused as
Pendo refused it in tap-pendo's changelog.
The rows are computed on request from the event log at the request's clock, by the same
code ``PendoSimulator.event_rows`` uses.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from .events import AGGREGATED_SOURCES, RAW_SOURCES, EventLog
from .pipeline import AggregationError, QueryContext, Row, register_source, resolve_app_ids, source_options
from .timebuckets import TimeSeriesError

# Sources that, with the object_event_params variant, accept nothing but their object parameter.
OBJECT_ONLY_SOURCES = ("featureEvents", "trackEvents")

# source -> (its per-object parameter, the Dataset rows that parameter names)
OBJECT_PARAMETERS = {name: (spec.object_field, spec.object_kind) for name, spec in AGGREGATED_SOURCES.items() if spec.object_field}
OBJECT_PARAMETERS.update({name: ("guideId", "guides") for name in RAW_SOURCES})


def selection(name: str, params: Any, context: QueryContext) -> tuple[set[int], str | None]:
    """The app ids and the one object id (or None) the source parameters select."""
    object_parameter, object_kind = OBJECT_PARAMETERS.get(name, (None, None))
    if name in OBJECT_ONLY_SOURCES and "object_event_params" in context.variants:
        if not isinstance(params, dict) or list(params) != [object_parameter]:
            raise AggregationError(f"bad pipeline: bad source: bad parameters for source type {name}: unexpected parameters")
    allowed = {"appId"} | ({object_parameter} if object_parameter else set())
    options = source_options(name, params, allowed)
    if len(options) > 1:
        raise AggregationError(f"bad parameters for source type {name}: give appId or {object_parameter}, not both: {json.dumps(params, ensure_ascii=False)}")
    if object_parameter in options:
        object_id = options[object_parameter]
        match = next((row for row in context.dataset.rows(object_kind) if row["id"] == object_id), None) if isinstance(object_id, str) else None
        if match is None:
            raise AggregationError(f"bad parameters for source type {name}: no {object_parameter} {json.dumps(object_id, ensure_ascii=False)}")
        return {match["appId"]}, object_id
    return resolve_app_ids(name, options.get("appId"), context), None


def _event_log(name: str, context: QueryContext) -> EventLog:
    if context.events is None:
        raise AggregationError(f"source type {name} has no event data in this simulator")
    return context.events


def _window(source: Mapping[str, Any], events: EventLog, clock_ms: int) -> tuple[str, int, int]:
    try:
        return events.calendar.window(source["timeSeries"], clock_ms)
    except TimeSeriesError as error:
        raise AggregationError(str(error)) from None


def _aggregated_source(name: str) -> None:
    def produce(params: Any, source: Mapping[str, Any], context: QueryContext) -> Iterable[Row]:
        events = _event_log(name, context)
        app_ids, object_id = selection(name, params, context)
        period, start, end = _window(source, events, context.clock_ms)
        return events.aggregate(name, period, start, end, context.clock_ms, app_ids, object_id)

    register_source(name, time_series=True)(produce)


def _raw_source(name: str) -> None:
    def produce(params: Any, source: Mapping[str, Any], context: QueryContext) -> Iterable[Row]:
        events = _event_log(name, context)
        app_ids, guide_id = selection(name, params, context)
        _period, start, end = _window(source, events, context.clock_ms)
        return events.raw_events(name, start, end, context.clock_ms, app_ids, guide_id)

    register_source(name, time_series=True)(produce)


for _name in AGGREGATED_SOURCES:
    _aggregated_source(_name)
for _name in RAW_SOURCES:
    _raw_source(_name)
