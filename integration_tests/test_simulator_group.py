"""The simulator's ``group`` stage, over real sockets.

Expected answers are computed here from ``sim.event_rows`` (the rows the API returns) or the
dataset, never by the simulator's grouping code.
"""
from __future__ import annotations

from collections import defaultdict

import pytest

from integration_tests.pendo_simulator import PendoSimulator
from integration_tests.simulator_client import EXPAND_ALL, PendoClient

DAY = 86_400_000
NO_GROUP_MESSAGE = "bad pipeline: bad group: unsupported pipeline operator"
ROW_FIELDS = [{"rows": {"count": None}}, {"numEvents": {"sum": "numEvents"}}, {"numMinutes": {"sum": "numMinutes"}}]


def event_source(name: str, period: str, first: int, count: int, params=None) -> dict:
    return {"source": {name: params, "timeSeries": {"period": period, "first": first, "count": count}}}


def window(sim, period: str = "dayRange", buckets: int = 30) -> tuple[int, int]:
    """(first, end) of the last ``buckets`` buckets up to the clock's."""
    step = DAY if period == "dayRange" else DAY // 24
    end = sim.bucket_start(sim.clock_ms, period) + step
    return sim.bucket_start(end - buckets * step, period), end


def expected_groups(rows: list[dict], keys: list[str]) -> list[dict]:
    """Row count and sums of numEvents / numMinutes per key tuple, in first-seen order."""
    groups: dict[tuple, dict] = {}
    for row in rows:
        identity = tuple(row[key] for key in keys)
        group = groups.setdefault(identity, {**{key: row[key] for key in keys}, "rows": 0, "numEvents": 0, "numMinutes": 0})
        group["rows"] += 1
        group["numEvents"] += row["numEvents"]
        group["numMinutes"] += row["numMinutes"]
    return list(groups.values())


@pytest.mark.parametrize(
    "source, period, keys",
    [
        ("pageEvents", "dayRange", ["day", "pageId"]),
        ("featureEvents", "dayRange", ["day", "featureId"]),
        ("events", "dayRange", ["day"]),
        ("pageEvents", "hourRange", ["hour", "pageId"]),
    ],
)
def test_group_per_bucket_equals_the_rows_summed(api, sim, source, period, keys):
    buckets = 30 if period == "dayRange" else 72
    first, end = window(sim, period, buckets)
    params = {"appId": EXPAND_ALL}
    expected = expected_groups(sim.event_rows(source, period, first, end, EXPAND_ALL), keys)
    pipeline = [event_source(source, period, first, buckets, params), {"group": {"group": keys, "fields": ROW_FIELDS}}]
    got = api.results(pipeline)
    assert len(expected) > buckets // 3  # enough groups to mean something
    assert got == expected
    assert list(got[0]) == [*keys, "rows", "numEvents", "numMinutes"]


def test_map_form_fields_and_distinct_count(api, sim):
    first, end = window(sim)
    rows = sim.event_rows("pageEvents", "dayRange", first, end)
    visitors: dict[int, set] = defaultdict(set)
    events: dict[int, int] = defaultdict(int)
    for row in rows:
        visitors[row["day"]].add(row["visitorId"])
        events[row["day"]] += row["numEvents"]
    fields = {"visitors": {"count": "visitorId"}, "events": {"sum": "numEvents"}}
    got = api.results([event_source("pageEvents", "dayRange", first, 30), {"group": {"group": ["day"], "fields": fields}}])
    assert got == [{"day": day, "visitors": len(visitors[day]), "events": events[day]} for day in visitors]
    assert any(row["visitors"] < row["events"] for row in got)  # distinct visitors, not rows


def test_both_field_forms_give_the_same_rows(api, sim):
    first, _ = window(sim)
    as_list = {"group": ["day", "pageId"], "fields": ROW_FIELDS}
    as_map = {"group": ["day", "pageId"], "fields": {name: spec for field in ROW_FIELDS for name, spec in field.items()}}
    source = event_source("pageEvents", "dayRange", first, 30)
    assert api.results([source, {"group": as_list}]) == api.results([source, {"group": as_map}])


def test_min_max_and_nulls_ignored(api, sim):
    first, end = window(sim)
    by_day = defaultdict(list)
    for row in sim.event_rows("pageEvents", "dayRange", first, end):
        by_day[row["day"]].append(row)
    fields = [{"first": {"min": "firstTime"}}, {"last": {"max": "lastTime"}}, {"nothing": {"max": "noSuchField"}}, {"none": {"sum": "noSuchField"}}]
    got = api.results([event_source("pageEvents", "dayRange", first, 30), {"group": {"group": [], "fields": fields}}])
    # One pipeline per day of the time series: a group of every row of each day.
    assert got == [{"first": min(r["firstTime"] for r in rows), "last": max(r["lastTime"] for r in rows), "nothing": None, "none": 0} for rows in by_day.values()]
    assert len(got) == 30


TIME_FIELDS = [{"rows": {"count": None}}, {"first": {"min": "browserTime"}}, {"last": {"max": "browserTime"}}, {"total": {"sum": "browserTime"}}]


def raw_groups(sim, source: str, period: str, first: int, end: int, per_period: bool = True) -> list[dict]:
    """Per app (and per bucket, unless not ``per_period``): count, least, greatest and sum of browserTime."""
    groups: dict[tuple, list[int]] = {}
    for row in sim.event_rows(source, period, first, end, EXPAND_ALL):
        bucket = sim.bucket_start(row["browserTime"], period) if per_period else None
        groups.setdefault((bucket, row["appId"]), []).append(row["browserTime"])
    return [{"appId": app, "rows": len(times), "first": min(times), "last": max(times), "total": sum(times)} for (_, app), times in groups.items()]


@pytest.mark.parametrize("source, period, buckets", [("guideEvents", "dayRange", 30), ("pollEvents", "dayRange", 30), ("guideEvents", "hourRange", 72)])
def test_raw_events_grouped_without_a_bucket_column_give_a_row_per_period(api, sim, source, period, buckets):
    first, end = window(sim, period, buckets)
    expected = raw_groups(sim, source, period, first, end)
    got = api.results([event_source(source, period, first, buckets, {"appId": EXPAND_ALL}), {"group": {"group": ["appId"], "fields": TIME_FIELDS}}])
    assert got == expected
    assert len({sim.bucket_start(row["first"], period) for row in got}) >= 8, "rows of many periods"
    assert all(sim.bucket_start(row["first"], period) == sim.bucket_start(row["last"], period) for row in got)


def test_stages_after_the_group_run_over_every_periods_rows(api, sim):
    first, end = window(sim)
    expected = sorted(raw_groups(sim, "guideEvents", "dayRange", first, end), key=lambda row: -row["rows"])[:3]
    pipeline = [event_source("guideEvents", "dayRange", first, 30, {"appId": EXPAND_ALL}), {"group": {"group": ["appId"], "fields": TIME_FIELDS}}, {"sort": ["-rows"]}, {"limit": 3}]
    assert api.results(pipeline) == expected


def test_without_fields_gives_distinct_keys_nested_by_path(api, sim):
    expected = []
    for row in sim.dataset.visitors:
        key = {"metadata": {"agent": {"language": row["metadata"].get("agent", {}).get("language")}, "custom": {"role": row["metadata"].get("custom", {}).get("role")}}}
        if key not in expected:
            expected.append(key)
    for fields in ({}, [], None):
        stage = {"group": ["metadata.agent.language", "metadata.custom.role"]} | ({} if fields is None else {"fields": fields})
        assert api.results([{"source": {"visitors": None}}, {"group": stage}]) == expected
    assert len(expected) > 3


def test_group_composes_with_later_stages(api, sim):
    first, end = window(sim)
    grouped = expected_groups(sim.event_rows("pageEvents", "dayRange", first, end), ["day", "pageId"])
    busy = sorted((group for group in grouped if group["rows"] >= 3), key=lambda group: -group["numEvents"])
    pipeline = [
        event_source("pageEvents", "dayRange", first, 30),
        {"group": {"group": ["day", "pageId"], "fields": ROW_FIELDS}},
        {"filter": "rows >= 3"},
        {"sort": ["-numEvents"]},
        {"limit": 5},
    ]
    assert api.results(pipeline) == busy[:5]
    assert api.results([event_source("pageEvents", "dayRange", first, 30), {"group": {"group": ["day"]}}, {"count": None}]) == [{"count": len({group["day"] for group in grouped})}]


def test_group_of_no_rows_is_no_rows(api, sim):
    future = sim.bucket_start(sim.clock_ms, "dayRange") + 10 * DAY
    assert api.results([event_source("pageEvents", "dayRange", future, 2), {"group": {"group": [], "fields": ROW_FIELDS}}]) == []


@pytest.mark.parametrize(
    "argument, fragment",
    [
        ({}, "group takes"),
        (["day"], "group takes"),
        ({"group": ["day"], "having": "x"}, "group takes"),
        ({"group": "day"}, '"group" must be a list of field paths'),
        ({"group": ["day", ""]}, '"group" must be a list of field paths'),
        ({"group": ["day", "day"]}, "names a path twice"),
        ({"group": ["metadata", "metadata.auto"]}, "overlap"),
        ({"group": ["day"], "fields": "rows"}, '"fields" must be an object'),
        ({"group": ["day"], "fields": [{"a": {"count": None}, "b": {"count": None}}]}, '"fields" must be an object'),
        ({"group": ["day"], "fields": {"n": {"avg": "numEvents"}}}, "one of count, sum, min, max"),
        ({"group": ["day"], "fields": {"n": {"sum": None}}}, "sum takes a field path"),
        ({"group": ["day"], "fields": {"n": {"count": 3}}}, "count takes null or a field path"),
        ({"group": ["day"], "fields": {"n": {"sum": "a", "max": "b"}}}, "one of count, sum"),
        ({"group": ["day"], "fields": {"": {"count": None}}}, "plain name"),
        ({"group": ["day"], "fields": [{"n": {"count": None}}, {"n": {"sum": "numEvents"}}]}, "named twice"),
        ({"group": ["day"], "fields": {"day": {"count": None}}}, "named twice"),
    ],
)
def test_malformed_group_is_400(api, sim, argument, fragment):
    first, _ = window(sim)
    status, message = api.error([event_source("pageEvents", "dayRange", first, 2), {"group": argument}])
    assert status == 400
    assert message.startswith("pipeline stage 1 (group): ") and fragment in message


# --- the no_group variant ------------------------------------------------------------


@pytest.fixture(scope="module")
def no_group_api():
    with PendoSimulator(variants=["no_group"]) as sim:
        client = PendoClient(sim)
        yield client
        client.session.close()


@pytest.mark.parametrize(
    "argument",
    [
        {"group": ["day", "pageId"], "fields": ROW_FIELDS},
        {"group": ["day"], "fields": {"visitors": {"count": "visitorId"}}},
        {"group": []},
        {"nonsense": True},
    ],
)
def test_no_group_refuses_every_group_stage(no_group_api, argument):
    first, _ = window(no_group_api.sim)
    assert no_group_api.error([event_source("pageEvents", "dayRange", first, 30), {"group": argument}]) == (400, NO_GROUP_MESSAGE)


def test_no_group_leaves_everything_else_alone(no_group_api, api, sim):
    first, end = window(sim)
    pipeline = [event_source("pageEvents", "dayRange", first, 30, {"appId": EXPAND_ALL}), {"filter": "numEvents >= 2"}, {"sort": ["-numEvents", "visitorId"]}, {"limit": 20}]
    assert no_group_api.results(pipeline) == api.results(pipeline)
    assert no_group_api.sim.event_rows("pageEvents", "dayRange", first, end) == sim.event_rows("pageEvents", "dayRange", first, end)
    assert no_group_api.error([event_source("pageEvents", "dayRange", first, 30), {"unwind": {}}])[1].endswith("not supported by the simulator")


# --- the group_across_periods variant ------------------------------------------------


@pytest.fixture(scope="module")
def across_api():
    with PendoSimulator(variants=["group_across_periods"]) as sim:
        client = PendoClient(sim)
        yield client
        client.session.close()


def test_group_across_periods_groups_every_periods_rows_together(across_api, api, sim):
    first, end = window(sim)
    pipeline = [event_source("guideEvents", "dayRange", first, 30, {"appId": EXPAND_ALL}), {"group": {"group": ["appId"], "fields": TIME_FIELDS}}]
    got = across_api.results(pipeline)
    assert got == raw_groups(across_api.sim, "guideEvents", "dayRange", first, end, per_period=False)
    assert len(got) == len(sim.dataset.app_ids) and any(row["last"] - row["first"] > DAY for row in got)
    assert len(api.results(pipeline)) > len(got), "by default, a row per app and day"


def test_group_across_periods_leaves_grouping_by_the_bucket_column_alone(across_api, api, sim):
    first, _ = window(sim)
    pipeline = [event_source("pageEvents", "dayRange", first, 30, {"appId": EXPAND_ALL}), {"group": {"group": ["day", "pageId"], "fields": ROW_FIELDS}}]
    assert across_api.results(pipeline) == api.results(pipeline)
