"""Tests of the simulator's event data: time-series sources, late data, visitor history.

Over real sockets. Where it matters, expected rows are recomputed here from the raw hit
log with independent bucket arithmetic (zoneinfo), not with the simulator's own code.
"""
from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import requests

from integration_tests.pendo_simulator import PendoSimulator
from integration_tests.pendo_simulator.dataset import ANONYMOUS_PREFIX, CLOCK_START_MS, DEFAULT_APP_ID, VISITOR_SPECIAL_IDS, Dataset
from integration_tests.pendo_simulator.events import EventLog
from integration_tests.pendo_simulator.pipeline import AggregationError
from integration_tests.simulator_client import EXPAND_ALL, KEY_HEADER, OTHER_APP_ID, REPO_ROOT, PendoClient

HOUR = 3_600_000
DAY = 86_400_000
NEW_YORK = ZoneInfo("America/New_York")
AGGREGATED = {"events": None, "pageEvents": "pageId", "featureEvents": "featureId", "trackEvents": "trackTypeId"}
AGGREGATED_KINDS = {"events": {"page", "feature", "track", "untagged"}, "pageEvents": {"page"}, "featureEvents": {"feature"}, "trackEvents": {"track"}}
TIME_SERIES_SOURCES = [*AGGREGATED, "guideEvents", "pollEvents"]
DIMENSIONS = ("visitorId", "accountId", "appId", "remoteIp", "server", "userAgent")
HISTORY_KEYS = {"type", "ts", "lastTs", "pageId", "featureId", "guideId", "guideStepId", "uri", "untaggedUrl", "duration", "parsedUserAgent", "appId"}


def utc(*fields: int) -> int:
    return int(datetime(*fields, tzinfo=timezone.utc).timestamp() * 1000)


def local_midnight(day: date, zone: ZoneInfo = NEW_YORK) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)


def reference_bucket(ms: int, period: str, zone: ZoneInfo = NEW_YORK) -> int:
    if period == "dayRange":
        return local_midnight(datetime.fromtimestamp(ms // 1000, zone).date(), zone)
    return ms - ms % HOUR  # the zones tested here have whole-hour offsets


def reference_rows(sim: PendoSimulator, source: str, period: str, start: int, end: int, app_ids: set[int], zone: ZoneInfo = NEW_YORK) -> list[dict]:
    """The rows of an aggregated source, recomputed from the raw log."""
    object_field = AGGREGATED[source]
    groups: dict[tuple, list] = defaultdict(list)
    for hit in sorted(sim.events.hits, key=lambda hit: hit.ts):
        if hit.arrives_at > sim.clock_ms or hit.kind not in AGGREGATED_KINDS[source] or hit.app_id not in app_ids:
            continue
        bucket = reference_bucket(hit.ts, period, zone)
        if start <= bucket < end:
            key = (bucket, hit.visitor_id, hit.account_id, hit.app_id, hit.remote_ip, hit.server, hit.user_agent, hit.object_id if object_field else None)
            groups[key].append(hit)
    rows = []
    for (bucket, visitor, account, app, ip, server, agent, object_id), hits in groups.items():
        row = {"accountId": account, "visitorId": visitor, "appId": app, "day" if period == "dayRange" else "hour": bucket}
        if object_field:
            row[object_field] = object_id
        row.update(
            numEvents=len(hits),
            numMinutes=len({hit.ts // 60_000 for hit in hits}),
            firstTime=hits[0].ts,
            lastTime=hits[-1].ts,
            remoteIp=ip,
            server=server,
            userAgent=agent,
            parameters={},
        )
        if source == "trackEvents":
            row["properties"] = hits[-1].properties
        rows.append(row)
    return rows


def canonical(rows: list[dict]) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True, ensure_ascii=False) for row in rows)


def ts_source(name, params=None, period="dayRange", first="now()", **window) -> dict:
    if not window:
        window = {"count": -45}
    return {"source": {name: params, "timeSeries": {"period": period, "first": first, **window}}}


@pytest.fixture
def small_sim():
    with PendoSimulator(seed=5, accounts=20, visitors=30, objects_per_app=3, hits_per_day=150) as simulator:
        yield simulator


# --- timeSeries ----------------------------------------------------------------


@pytest.mark.parametrize("name", TIME_SERIES_SOURCES)
def test_time_series_is_required(api, name):
    response = api.aggregate([{"source": {name: None}}])
    assert response.status_code == 400
    assert response.json() == {"message": "no period specified for time series source"}
    assert api.error([{"source": {name: None, "timeSeries": {"first": "now()", "count": 1}}}]) == (400, "no period specified for time series source")


@pytest.mark.parametrize(
    "time_series, fragment",
    [
        ({"period": "weekRange", "first": 0, "count": 1}, "period must be"),
        ({"period": "dayRange", "count": 1}, "needs first"),
        ({"period": "dayRange", "first": "yesterday", "count": 1}, "first must be epoch milliseconds"),
        ({"period": "dayRange", "first": 1.7e12, "count": 1}, "first must be epoch milliseconds"),
        ({"period": "dayRange", "first": -5, "count": 1}, "first must be epoch milliseconds"),
        ({"period": "dayRange", "first": "now()"}, "exactly one of count and last"),
        ({"period": "dayRange", "first": "now()", "count": 1, "last": "now()"}, "exactly one of count and last"),
        ({"period": "dayRange", "first": "now()", "count": 0}, "non-zero integer"),
        ({"period": "dayRange", "first": "now()", "count": "7"}, "non-zero integer"),
        ({"period": "dayRange", "first": "now()", "count": True}, "non-zero integer"),
        ({"period": "hourRange", "first": "now()", "count": 10**7}, "non-zero integer"),
        ({"period": "dayRange", "first": CLOCK_START_MS, "last": CLOCK_START_MS - 1}, "must not be before first"),
        ({"period": "dayRange", "first": "now()", "last": "tomorrow"}, "last must be"),
        ({"period": "dayRange", "first": "now()", "count": 1, "span": 2}, "does not take span"),
        ([1, 2], "timeSeries must be an object"),
    ],
)
def test_bad_time_series_is_400(api, time_series, fragment):
    status, message = api.error([{"source": {"pageEvents": None, "timeSeries": time_series}}])
    assert status == 400 and fragment in message, message


def test_bucket_start_and_timezone(sim):
    assert sim.timezone == "America/New_York"
    assert sim.bucket_start(CLOCK_START_MS, "dayRange") == utc(2026, 10, 31, 4) == sim.bucket_start(utc(2026, 10, 31, 4), "day")
    assert sim.bucket_start(utc(2026, 10, 31, 3, 59, 59) + 999, "dayRange") == utc(2026, 10, 30, 4)
    assert sim.bucket_start(utc(2026, 11, 1, 12), "dayRange") == utc(2026, 11, 1, 4)  # the 25-hour day
    assert sim.bucket_start(utc(2026, 11, 2, 4, 30), "dayRange") == utc(2026, 11, 1, 4)
    assert sim.bucket_start(utc(2026, 11, 2, 5), "dayRange") == utc(2026, 11, 2, 5)
    assert sim.bucket_start(CLOCK_START_MS + 1_234_567, "hourRange") == CLOCK_START_MS
    # the repeated local hour 01:00-02:00 of the fall-back is two hour buckets
    hours = [sim.bucket_start(utc(2026, 11, 1, hour, 30), "hourRange") for hour in range(4, 8)]
    assert hours == [utc(2026, 11, 1, hour) for hour in range(4, 8)]
    with pytest.raises(ValueError):
        sim.bucket_start(CLOCK_START_MS, "week")


# window cases relative to F (a time inside bucket B): (time series, (first bucket offset, end bucket offset))
WINDOW_CASES = [
    ({"count": 3}, (0, 3)),
    ({"count": 1}, (0, 1)),
    ({"count": -1}, (0, 1)),
    ({"count": -3}, (-2, 1)),
    ({"last": "F+2"}, (0, 3)),  # last inside a bucket: that bucket is included
    ({"last": "B+2"}, (0, 2)),  # last on a boundary: exclusive
    ({"last": "F"}, (0, 1)),
]


@pytest.mark.parametrize("period", ["dayRange", "hourRange"])
@pytest.mark.parametrize("window, offsets", WINDOW_CASES)
def test_window_semantics(api, sim, period, window, offsets):
    length = DAY if period == "dayRange" else HOUR
    first = CLOCK_START_MS - 9 * DAY - 7 * HOUR - 13 * 60_000 - 17  # no DST change near: buckets are `length` long
    bucket = reference_bucket(first, period)
    assert bucket < first < bucket + length
    if "last" in window:
        spec = {"last": {"F+2": first + 2 * length, "B+2": bucket + 2 * length, "F": first}[window["last"]]}
    else:
        spec = window
    start, end = bucket + offsets[0] * length, bucket + offsets[1] * length
    app_ids = set(sim.dataset.app_ids)
    rows = api.results([ts_source("events", {"appId": EXPAND_ALL}, period, first, **spec)])
    assert canonical(rows) == canonical(reference_rows(sim, "events", period, start, end, app_ids))
    field = "day" if period == "dayRange" else "hour"
    if period == "dayRange":  # every day has activity: the window is exactly these buckets
        assert {row[field] for row in rows} == set(range(start, end, length))
    assert all(start <= row[field] < end and row[field] <= row["firstTime"] <= row["lastTime"] < row[field] + length for row in rows)
    assert rows == sim.event_rows("events", period, start, end, EXPAND_ALL)


def test_now_and_empty_windows(api, sim):
    current = sim.bucket_start(sim.clock_ms, "dayRange")
    seven = api.results([ts_source("events", period="dayRange", first="now()", count=-7)])
    assert {row["day"] for row in seven} == {reference_bucket(current - offset * DAY, "dayRange") for offset in range(7)}
    assert api.results([ts_source("events", period="dayRange", first=current, last=current)]) == []
    ahead = api.results([ts_source("events", period="dayRange", first="now()", count=3)])
    assert ahead and {row["day"] for row in ahead} == {current}  # in progress; later buckets are empty
    assert all(row["lastTime"] <= sim.clock_ms for row in seven + ahead)
    assert api.results([ts_source("events", period="hourRange", first="now()", count=24)]) == []  # the clock is on an hour top
    assert api.results([ts_source("events", period="dayRange", first=utc(2027, 1, 1), count=5)]) == []


def test_day_buckets_at_local_midnight_across_dst(small_sim):
    sim, api = small_sim, PendoClient(small_sim)
    sim.advance(3 * DAY)  # the days after the DST change have arrived
    first = utc(2026, 10, 30, 12)
    rows = api.results([ts_source("events", {"appId": EXPAND_ALL}, "dayRange", first, count=5)])
    expected_days = [utc(2026, 10, 30, 4), utc(2026, 10, 31, 4), utc(2026, 11, 1, 4), utc(2026, 11, 2, 5), utc(2026, 11, 3, 5)]
    assert sorted({row["day"] for row in rows}) == expected_days
    next_day = dict(zip(expected_days, expected_days[1:] + [utc(2026, 11, 4, 5)]))
    assert next_day[utc(2026, 11, 1, 4)] - utc(2026, 11, 1, 4) == 25 * HOUR
    assert all(row["day"] <= row["firstTime"] <= row["lastTime"] < next_day[row["day"]] for row in rows)
    assert canonical(rows) == canonical(reference_rows(sim, "events", "dayRange", expected_days[0], utc(2026, 11, 4, 5), set(sim.dataset.app_ids)))
    backwards = api.results([ts_source("events", {"appId": EXPAND_ALL}, "dayRange", utc(2026, 11, 3, 12), count=-3)])
    assert sorted({row["day"] for row in backwards}) == expected_days[2:]
    assert backwards == [row for row in rows if row["day"] >= expected_days[2]]
    until = api.results([ts_source("events", {"appId": EXPAND_ALL}, "dayRange", utc(2026, 11, 1, 4), last=utc(2026, 11, 2, 5))])
    assert until == [row for row in rows if row["day"] == expected_days[2]]  # last on the boundary: exclusive
    hours = api.results([ts_source("pageEvents", {"appId": EXPAND_ALL}, "hourRange", utc(2026, 11, 1, 4), count=30)])
    assert hours and all(row["hour"] % HOUR == 0 and row["hour"] <= row["firstTime"] < row["hour"] + HOUR for row in hours)
    assert canonical(hours) == canonical(reference_rows(sim, "pageEvents", "hourRange", utc(2026, 11, 1, 4), utc(2026, 11, 2, 10), set(sim.dataset.app_ids)))


def test_day_buckets_in_another_time_zone():
    london = ZoneInfo("Europe/London")  # BST ends 2026-10-25, inside the default 40 days
    with PendoSimulator(seed=5, accounts=20, visitors=30, objects_per_app=3, timezone="Europe/London") as sim:
        assert sim.timezone == "Europe/London"
        rows = PendoClient(sim).results([ts_source("events", {"appId": EXPAND_ALL}, count=-40)])
        days = {row["day"] for row in rows}
        assert all(datetime.fromtimestamp(day // 1000, london).time().isoformat() == "00:00:00" for day in days)
        assert {datetime.fromtimestamp(day // 1000, timezone.utc).hour for day in days} == {23, 0}
        assert utc(2026, 10, 24, 23) in days and utc(2026, 10, 25, 0) not in days and utc(2026, 10, 26, 0) in days
        assert canonical(rows) == canonical(reference_rows(sim, "events", "dayRange", min(days), max(days) + DAY, set(sim.dataset.app_ids), london))
    with pytest.raises(ValueError, match="unknown time zone"):
        PendoSimulator(timezone="Mars/Olympus_Mons")


# --- parameters ----------------------------------------------------------------


@pytest.mark.parametrize("name", TIME_SERIES_SOURCES)
@pytest.mark.parametrize(
    "params, app_ids",
    [
        (None, {DEFAULT_APP_ID}),
        ({"appId": None}, {DEFAULT_APP_ID}),
        ({"appId": OTHER_APP_ID}, {OTHER_APP_ID}),
        ({"appId": [OTHER_APP_ID, DEFAULT_APP_ID]}, {OTHER_APP_ID, DEFAULT_APP_ID}),
        ({"appId": EXPAND_ALL}, "all"),
    ],
)
def test_app_id_variants(api, sim, name, params, app_ids):
    app_ids = set(sim.dataset.app_ids) if app_ids == "all" else app_ids
    rows = api.results([ts_source(name, params)])
    assert {row["appId"] for row in rows} == app_ids
    selected = None if params is None else params["appId"]
    assert rows == sim.event_rows(name, "dayRange", CLOCK_START_MS - 45 * DAY, CLOCK_START_MS + DAY, selected)


@pytest.mark.parametrize(
    "name, parameter, kind",
    [("pageEvents", "pageId", "pages"), ("featureEvents", "featureId", "features"), ("trackEvents", "trackTypeId", "track_types"), ("guideEvents", "guideId", "guides"), ("pollEvents", "guideId", "guides")],
)
def test_one_object_parameter(api, sim, name, parameter, kind):
    everything = api.results([ts_source(name, {"appId": EXPAND_ALL})])
    # an object of a non-default app: its rows come without naming the app
    object_id = next(row[parameter] for row in everything if row["appId"] != DEFAULT_APP_ID)
    app_id = next(row["appId"] for row in sim.dataset.rows(kind) if row["id"] == object_id)
    rows = api.results([ts_source(name, {parameter: object_id})])
    assert rows and rows == [row for row in everything if row[parameter] == object_id]
    assert {row["appId"] for row in rows} == {app_id}
    assert rows == sim.event_rows(name, "dayRange", CLOCK_START_MS - 45 * DAY, CLOCK_START_MS + DAY, object_id=object_id)


@pytest.mark.parametrize(
    "name, params, fragment",
    [
        ("trackEvents", {"trackTypeId": "no-such-track-type"}, "bad parameters for source type trackEvents"),
        ("trackEvents", {"pageId": "x"}, "bad parameters for source type trackEvents"),
        ("featureEvents", {"pageId": "x"}, "bad parameters for source type featureEvents"),
        ("pageEvents", {"pageId": "FEATURE"}, "bad parameters for source type pageEvents: no pageId"),
        ("pageEvents", {"pageId": 42}, "bad parameters for source type pageEvents"),
        ("pageEvents", {"pageId": "PAGE", "appId": DEFAULT_APP_ID}, "not both"),
        ("events", {"pageId": "PAGE"}, "bad parameters for source type events"),
        ("events", {"appId": 12345}, "unknown appId 12345"),
        ("events", {"appId": "all"}, "bad parameters for source type events"),
        ("events", "oops", "bad parameters for source type events"),
        ("guideEvents", {"guideId": "nope"}, "bad parameters for source type guideEvents: no guideId"),
        ("pollEvents", {"pollId": "x"}, "bad parameters for source type pollEvents"),
        ("guideEvents", {"featureId": "x"}, "bad parameters for source type guideEvents"),
    ],
)
def test_bad_source_parameters_are_400(api, sim, name, params, fragment):
    if isinstance(params, dict):
        replacements = {"FEATURE": sim.dataset.features[0]["id"], "PAGE": sim.dataset.pages[0]["id"]}
        params = {key: replacements.get(value, value) for key, value in params.items()}
    status, message = api.error([ts_source(name, params)])
    assert status == 400 and fragment in message, message


def test_event_rows_refuses_what_the_api_refuses(sim):
    window = ("dayRange", CLOCK_START_MS - DAY, CLOCK_START_MS)
    with pytest.raises(AggregationError, match="unknown appId 12345"):
        sim.event_rows("events", *window, 12345)
    with pytest.raises(AggregationError, match="bad parameters for source type trackEvents"):
        sim.event_rows("trackEvents", *window, object_id=sim.dataset.pages[0]["id"])
    with pytest.raises(ValueError, match="takes no object parameter"):
        sim.event_rows("events", *window, object_id="x")
    with pytest.raises(ValueError, match="not a time-series source"):
        sim.event_rows("accounts", *window)


# --- the rows ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(AGGREGATED))
@pytest.mark.parametrize("period, count", [("dayRange", -45), ("hourRange", -72)])
def test_rows_match_the_raw_log(api, sim, name, period, count):
    rows = api.results([ts_source(name, {"appId": EXPAND_ALL}, period, count=count)])
    end = sim.events.calendar.shift(sim.bucket_start(sim.clock_ms, period), 1, period)
    start = sim.events.calendar.shift(end, count, period)
    assert canonical(rows) == canonical(reference_rows(sim, name, period, start, end, set(sim.dataset.app_ids)))
    assert rows == sim.event_rows(name, period, start, end, EXPAND_ALL)
    expected_fields = ["accountId", "visitorId", "appId", "day" if period == "dayRange" else "hour"]
    expected_fields += [AGGREGATED[name]] if AGGREGATED[name] else []
    expected_fields += ["numEvents", "numMinutes", "firstTime", "lastTime", "remoteIp", "server", "userAgent", "parameters"]
    expected_fields += ["properties"] if name == "trackEvents" else []
    assert all(list(row) == expected_fields for row in rows)
    key_fields = [expected_fields[3], *DIMENSIONS] + ([AGGREGATED[name]] if AGGREGATED[name] else [])
    keys = [tuple(row[field] for field in key_fields) for row in rows]
    assert len(keys) == len(set(keys))  # the documented dimensions make a row unique
    if name == "events":
        assert any(row["numMinutes"] > 1 for row in rows) and any(row["numEvents"] > row["numMinutes"] for row in rows)


@pytest.mark.parametrize("name", ["pageEvents", "featureEvents", "trackEvents"])
def test_rows_differ_in_one_dimension_for_each_dimension(api, sim, name):
    object_field = AGGREGATED[name]
    typed_rows = api.results([ts_source(name, {"appId": EXPAND_ALL})])
    all_rows = api.results([ts_source("events", {"appId": EXPAND_ALL})])
    typed_key = ("day", *DIMENSIONS, object_field)
    for dimension, rows, key in [
        ("remoteIp", typed_rows, typed_key),
        ("server", typed_rows, typed_key),
        ("userAgent", typed_rows, typed_key),
        ("accountId", typed_rows, typed_key),
        (object_field, typed_rows, typed_key),
        ("appId", all_rows, ("day", *DIMENSIONS)),  # an object belongs to one app: the app-only difference shows in events
    ]:
        others = defaultdict(set)
        for row in rows:
            others[tuple(row[field] for field in key if field != dimension)].add(row[dimension])
        assert any(len(values) > 1 for values in others.values()), dimension


def test_hits_on_bucket_boundaries(api, sim):
    rows = api.results([ts_source("pageEvents", {"appId": EXPAND_ALL})])
    on_midnight = [row for row in rows if row["firstTime"] == row["day"]]
    assert on_midnight
    ends = {(row["visitorId"], row["pageId"], row["lastTime"]) for row in rows}
    assert any((row["visitorId"], row["pageId"], row["day"] - 1) in ends for row in on_midnight)  # 1 ms earlier: previous bucket
    hours = api.results([ts_source("pageEvents", {"appId": EXPAND_ALL}, "hourRange", count=-24 * 45)])
    assert any(row["firstTime"] == row["hour"] and row["hour"] % DAY != 4 * HOUR for row in hours)


def test_unicode_agents_anonymous_visitors_and_properties(api, sim):
    rows = api.results([ts_source("events", {"appId": EXPAND_ALL})])
    assert any(not row["userAgent"].isascii() for row in rows)
    anonymous = [row for row in rows if row["visitorId"].startswith(ANONYMOUS_PREFIX)]
    assert anonymous and all(row["accountId"] == "" for row in anonymous)
    assert any(not row["visitorId"].isascii() for row in rows) and any('"' in row["visitorId"] for row in rows)
    track = api.results([ts_source("trackEvents", {"appId": EXPAND_ALL})])
    assert all(isinstance(row["properties"], dict) for row in track) and any(row["properties"] for row in track)


def test_guide_and_poll_events(api, sim):
    guide_rows = api.results([ts_source("guideEvents", {"appId": EXPAND_ALL})])
    poll_rows = api.results([ts_source("pollEvents", {"appId": EXPAND_ALL})])
    fields = ["type", "guideId", "guideStepId", "pollId", "pollResponse", "browserTime", "guideTimestamp", "accountId", "visitorId", "appId",
              "country", "region", "latitude", "longitude", "loadTime", "remoteIp", "serverName", "url", "userAgent"]
    for row in guide_rows + poll_rows:
        expected = [field for field in fields if field != "guideTimestamp"] if row["type"] == "guideActivity" else fields
        assert list(row) == expected
    assert {row["type"] for row in guide_rows} == {"guideSeen", "guideAdvanced", "guideDismissed", "guideActivity", "guideSnoozed"}
    assert {row["type"] for row in poll_rows} == {"pollResponse"} and all(row["pollId"] for row in poll_rows)
    assert {type(row["pollResponse"]) for row in poll_rows} == {int, str}
    browser_times = [row["browserTime"] for row in guide_rows]
    assert browser_times == sorted(browser_times)
    guide_key = ("browserTime", "visitorId", "accountId", "appId", "guideId", "guideStepId", "type")
    assert len({tuple(row[field] for field in guide_key) for row in guide_rows}) == len(guide_rows)
    poll_key = guide_key + ("pollId",)
    assert len({tuple(row[field] for field in poll_key) for row in poll_rows}) == len(poll_rows)
    shared = defaultdict(list)
    for row in guide_rows:
        shared[(row["browserTime"], row["visitorId"], row["guideId"])].append(row)
    pairs = [(a, b) for rows in shared.values() for i, a in enumerate(rows) for b in rows[i + 1:]]
    assert any(a["type"] != b["type"] and a["guideStepId"] == b["guideStepId"] for a, b in pairs)  # type only
    assert any(a["type"] == b["type"] and a["guideStepId"] != b["guideStepId"] for a, b in pairs)  # step only
    window = api.results([ts_source("guideEvents", {"appId": EXPAND_ALL}, "hourRange", count=-30)])
    start = sim.bucket_start(sim.clock_ms, "hourRange") - 29 * HOUR
    assert window == [row for row in guide_rows if row["browserTime"] >= start]


def _after(fields: list[str], values: list) -> str:
    """Keyset filter: rows strictly after ``values`` in the order of ``fields``."""
    clauses = []
    for index, field in enumerate(fields):
        equal = [f"{fields[j]} == {json.dumps(values[j])}" for j in range(index)]
        clauses.append("(" + " && ".join([*equal, f"{field} > {json.dumps(values[index])}"]) + ")")
    return " || ".join(clauses)


@pytest.mark.parametrize(
    "name, period, count, page_size",
    [("pageEvents", "dayRange", -45, 173), ("featureEvents", "hourRange", -24 * 45, 151), ("events", "dayRange", -45, 97)],
)
def test_keyset_paging_over_the_full_key(api, sim, name, period, count, page_size):
    bucket = "day" if period == "dayRange" else "hour"
    fields = [bucket, *DIMENSIONS] + ([AGGREGATED[name]] if AGGREGATED[name] else [])
    first_stage = ts_source(name, {"appId": EXPAND_ALL}, period, count=count)
    everything = api.results([first_stage])
    seen, last, pages = [], None, 0
    while True:
        pipeline = [first_stage] + ([{"filter": _after(fields, last)}] if last else []) + [{"sort": fields}, {"limit": page_size}]
        rows = api.results(pipeline)
        pages += 1
        seen += rows
        if len(rows) < page_size:
            break
        last = [rows[-1][field] for field in fields]
    assert pages > 3
    assert [tuple(row[field] for field in fields) for row in seen] == sorted(tuple(row[field] for field in fields) for row in everything)
    assert canonical(seen) == canonical(everything)


def test_operators_on_event_rows(api, sim):
    stage = ts_source("featureEvents", {"appId": EXPAND_ALL})
    rows = sim.event_rows("featureEvents", "dayRange", CLOCK_START_MS - 45 * DAY, CLOCK_START_MS + DAY, EXPAND_ALL)
    assert api.results([stage, {"count": None}]) == [{"count": len(rows)}]
    busiest = api.results([stage, {"sort": ["-numEvents", "-lastTime"]}, {"limit": 3}, {"select": {"n": "numEvents", "t": "lastTime"}}])
    assert busiest == [{"n": row["numEvents"], "t": row["lastTime"]} for row in sorted(rows, key=lambda row: (-row["numEvents"], -row["lastTime"]))[:3]]
    recent = api.results([stage, {"filter": f"lastTime >= {CLOCK_START_MS - DAY} && appId == {OTHER_APP_ID}"}, {"skip": 1}])
    assert recent == [row for row in rows if row["lastTime"] >= CLOCK_START_MS - DAY and row["appId"] == OTHER_APP_ID][1:]


# --- late data -----------------------------------------------------------------


def test_late_hits_change_old_buckets(small_sim):
    sim, api = small_sim, PendoClient(small_sim)
    late = min((hit for hit in sim.events.hits if hit.ts < sim.clock_ms - 2 * DAY < sim.clock_ms < hit.arrives_at), key=lambda hit: hit.arrives_at)
    day = sim.bucket_start(late.ts, "dayRange")
    stage = ts_source("events", {"appId": EXPAND_ALL}, "dayRange", late.ts, count=1)
    before = api.results([stage])
    assert before == sim.event_rows("events", "dayRange", day, day + 1, EXPAND_ALL)
    assert all(row["day"] == day for row in before)
    sim.advance(late.arrives_at - sim.clock_ms - 1)
    assert api.results([stage]) == before  # 1 ms early: still hidden
    sim.advance(1)
    after = api.results([stage])
    assert after != before and after == sim.event_rows("events", "dayRange", day, day + 1, EXPAND_ALL)
    key = (late.visitor_id, late.account_id, late.app_id, late.remote_ip, late.server, late.user_agent)

    def matching(rows):
        return [row for row in rows if tuple(row[field] for field in DIMENSIONS) == key]

    grown = matching(after)
    assert len(grown) == 1 and grown[0]["numEvents"] > sum(row["numEvents"] for row in matching(before))
    assert canonical(after) == canonical(reference_rows(sim, "events", "dayRange", day, day + 1, set(sim.dataset.app_ids)))


def test_late_guide_events_appear_after_advance():
    with PendoSimulator(seed=5, accounts=20, visitors=30, objects_per_app=3, hits_per_day=400) as sim:
        _check_late_guide_events(sim, PendoClient(sim))


def _check_late_guide_events(sim, api):
    stage = ts_source("guideEvents", {"appId": EXPAND_ALL}, "dayRange", CLOCK_START_MS, count=-45)
    hidden = [event.row for event in sim.events.guide_events if event.ts <= sim.clock_ms < event.arrives_at and event.row["type"] in ("guideSeen", "guideAdvanced", "guideDismissed", "guideActivity", "guideSnoozed")]
    before = api.results([stage])
    assert hidden and not any(row in before for row in hidden)
    sim.advance(10 * DAY)
    after = api.results([stage])
    assert all(row in after for row in hidden) and all(row in after for row in before)


# --- visitor history -----------------------------------------------------------


def _visible_hits(sim, visitor_id, start):
    return [hit for hit in sim.events.hits if hit.visitor_id == visitor_id and start <= hit.ts < start + DAY and hit.arrives_at <= sim.clock_ms]


@pytest.mark.parametrize("visitor_id", VISITOR_SPECIAL_IDS)
def test_history_of_visitors_whose_ids_need_encoding(api, sim, visitor_id):
    hit = next(hit for hit in sim.events.hits if hit.visitor_id == visitor_id and hit.arrives_at <= sim.clock_ms)
    start = hit.ts - 1000
    response = api.history(visitor_id, starttime=start)
    assert response.status_code == 200, response.text
    entries = response.json()
    assert isinstance(entries, list) and entries
    assert all(set(entry) == HISTORY_KEYS for entry in entries)
    assert [entry["ts"] for entry in entries] == sorted(entry["ts"] for entry in entries)
    visible = _visible_hits(sim, visitor_id, start)
    visible_times = {hit.ts for hit in visible}
    for entry in entries:
        assert entry["type"] in ("page", "feature", "track", "untagged")
        assert start <= entry["ts"] <= entry["lastTs"] < start + DAY and entry["duration"] == entry["lastTs"] - entry["ts"]
        assert entry["ts"] in visible_times and entry["lastTs"] in visible_times
        assert set(entry["parsedUserAgent"]) == {"name", "version", "os"}
        assert (entry["untaggedUrl"] is not None) == (entry["type"] == "untagged")
        assert (entry["featureId"] is not None) == (entry["type"] == "feature")
    assert all(any(entry["ts"] <= hit.ts <= entry["lastTs"] for entry in entries) for hit in visible)
    assert sim.requests[-1]["path"] == f"/api/v1/visitor/{visitor_id}/history"


def test_history_path_encodings(api, sim):
    visitor_id = "josé.garcía@example.com"
    start = next(hit.ts for hit in sim.events.hits if hit.visitor_id == visitor_id and hit.arrives_at <= sim.clock_ms)
    expected = api.history(visitor_id, starttime=start).json()
    assert expected
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    try:
        lower_hex = re.sub(r"%[0-9A-F]{2}", lambda escape: escape.group().lower(), quote(visitor_id, safe=""))
        for path_id in (quote(visitor_id, safe="@"), lower_hex):
            connection.request("GET", f"/api/v1/visitor/{path_id}/history?starttime={start}", headers={KEY_HEADER: sim.api_key})
            response = connection.getresponse()
            assert response.status == 200 and json.loads(response.read()) == expected
    finally:
        connection.close()


def test_history_errors(api, sim):
    known = next(hit.visitor_id for hit in sim.events.hits if hit.visitor_id.startswith(ANONYMOUS_PREFIX))
    response = api.history("nobody-🙈", starttime=CLOCK_START_MS - DAY)
    assert response.status_code == 404 and "not found" in response.json()["message"]
    for params in ({}, {"starttime": ""}, {"starttime": "yesterday"}, {"starttime": "1.5"}):
        response = api.history(known, **params)
        assert response.status_code == 400 and "starttime" in response.json()["message"]
    assert api.history(known, starttime=CLOCK_START_MS - 181 * DAY).json() == []
    assert api.history(known, starttime=CLOCK_START_MS + 10 * DAY).json() == []
    url = f"{sim.url}visitor/{quote(known, safe='')}/history"
    assert api.session.post(url, params={"starttime": CLOCK_START_MS}, timeout=5).status_code == 405
    assert requests.get(url, params={"starttime": CLOCK_START_MS}, timeout=5).status_code == 401


def test_history_shows_arrived_hits_and_keeps_180_days(small_sim):
    sim, api = small_sim, PendoClient(small_sim)
    late = next(
        hit for hit in sim.events.hits
        if hit.ts < sim.clock_ms < hit.arrives_at and not any(other is not hit and other.visitor_id == hit.visitor_id and abs(other.ts - hit.ts) < 600_000 for other in sim.events.hits)
    )
    start = late.ts - 1

    def covered(entries):
        return any(entry["ts"] <= late.ts <= entry["lastTs"] for entry in entries)

    assert not covered(api.history(late.visitor_id, starttime=start).json())
    sim.advance(late.arrives_at - sim.clock_ms)
    assert covered(api.history(late.visitor_id, starttime=start).json())
    sim.advance(start + 180 * DAY - sim.clock_ms)  # exactly 180 days: still kept
    kept = api.history(late.visitor_id, starttime=start).json()
    assert covered(kept)
    sim.advance(1)
    assert api.history(late.visitor_id, starttime=start).json() == []


# --- event_rows, faults, log, determinism, command line --------------------------


@pytest.mark.parametrize("name", TIME_SERIES_SOURCES)
def test_event_rows_equals_the_api(api, sim, name):
    first = CLOCK_START_MS - 6 * DAY + 5
    end = CLOCK_START_MS - 2 * DAY + 7
    for period in ("dayRange", "hourRange"):
        start = sim.events.calendar.ceil(first, period)
        stop = sim.events.calendar.ceil(end, period)
        rows = api.results([ts_source(name, {"appId": [DEFAULT_APP_ID, OTHER_APP_ID]}, period, start, last=stop)])
        assert rows and rows == sim.event_rows(name, period, first, end, [DEFAULT_APP_ID, OTHER_APP_ID])
    with pytest.raises(ValueError):
        sim.event_rows("accounts", "dayRange", first, end)


def test_faults_and_request_log_cover_events_and_history(api, sim):
    sim.faults.add("status", source="featureEvents", status=503, times=None)
    sim.faults.add("reset", path="/history")
    assert api.aggregate([ts_source("featureEvents")]).status_code == 503
    assert api.aggregate([ts_source("pageEvents")]).status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        api.history("李雷", starttime=CLOCK_START_MS - DAY)
    assert api.history("李雷", starttime=CLOCK_START_MS - DAY).status_code == 200
    log = sim.requests
    assert [(entry["status"], entry["fault"]) for entry in log] == [(503, "status"), (200, None), (None, "reset"), (200, None)]
    assert log[1]["body"]["request"]["pipeline"][0]["source"]["timeSeries"] == {"period": "dayRange", "first": "now()", "count": -45}
    assert log[3]["path"] == "/api/v1/visitor/李雷/history" and log[3]["query"] == {"starttime": str(CLOCK_START_MS - DAY)}
    sim.faults.add("truncate", source="guideEvents")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.aggregate([ts_source("guideEvents")])


def test_event_log_is_deterministic():
    def snapshot(log):
        return [hit.as_dict() for hit in log.hits], [event.row for event in log.guide_events]

    first = snapshot(EventLog(Dataset(seed=7)))
    assert first == snapshot(EventLog(Dataset(seed=7)))
    assert first[0] != snapshot(EventLog(Dataset(seed=8)))[0]
    hits = first[0]
    assert 3000 < len(hits) < 6000 and 500 < len(first[1]) < 2000
    assert min(hit["ts"] for hit in hits) >= CLOCK_START_MS - 40 * DAY
    assert all(hit["arrivesAt"] >= hit["ts"] for hit in hits)
    delays = sorted(hit["arrivesAt"] - hit["ts"] for hit in hits)
    assert delays[len(delays) // 2] < HOUR and any(4 * HOUR <= delay <= 6 * HOUR for delay in delays) and delays[-1] > 2 * DAY
    empty = EventLog(Dataset(seed=7), hits_per_day=0)
    assert empty.hits == [] and empty.guide_events == []
    with pytest.raises(ValueError):
        EventLog(Dataset(seed=7), hits_per_day=-1)


def test_command_line_timezone_and_hits_per_day():
    process = subprocess.Popen(
        [sys.executable, "-m", "integration_tests.pendo_simulator", "--port", "0", "--accounts", "5", "--visitors", "8", "--objects-per-app", "2",
         "--timezone", "Asia/Tokyo", "--hits-per-day", "20"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        match = re.fullmatch(r"Pendo simulator listening on (\S+) \(integration key: (\S+)\)\n", process.stdout.readline())
        assert match
        url, key = match.groups()
        body = {"request": {"pipeline": [ts_source("events", {"appId": EXPAND_ALL}, count=-45)]}}
        rows = requests.post(url + "aggregation", json=body, headers={KEY_HEADER: key}, timeout=10).json()["results"]
        assert rows and {row["day"] % DAY for row in rows} == {15 * HOUR}  # Tokyo midnight is 15:00Z
        assert sum(row["numEvents"] for row in rows) <= 20 * 50
        process.terminate()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
    failed = subprocess.run([sys.executable, "-m", "integration_tests.pendo_simulator", "--timezone", "Nowhere/Special"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert failed.returncode == 2 and "unknown time zone" in failed.stderr
