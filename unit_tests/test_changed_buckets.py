"""Which buckets an event stream reads in an incremental sync: those whose fingerprint changed since
the saved one, those still settling, and every one when Pendo refuses the fingerprint query."""

import json
import logging
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from airbyte_cdk.models import SyncMode

from source_pendo.records import iso_from_ms
from source_pendo.streams.changes import bucket_starts
from source_pendo.streams.events import GuideEvents, PageEvents, PollEvents
from source_pendo.windows import ANCHOR_OFFSET_MS, BUCKET_MS

from .conftest import API_ROOT

DAY, HOUR = BUCKET_MS["day"], BUCKET_MS["hour"]
D0 = 1793491200000  # 2026-11-01, a UTC midnight (the subscription's zone here is UTC)


def day(n: int) -> int:
    return D0 + n * DAY


def zone_bucket_start(ms: int, period: str, zone: str) -> int:
    """The start of the subscription's bucket holding `ms`, as Pendo cuts it in `zone`."""
    local = datetime.fromtimestamp(ms / 1000, ZoneInfo(zone))
    if period == "day":
        return int(datetime(local.year, local.month, local.day, tzinfo=local.tzinfo).timestamp() * 1000)
    return int(local.replace(minute=0, second=0, microsecond=0).timestamp() * 1000)


def zone_buckets(first_ms: int, count: int, period: str, zone: str) -> list:
    """[(start, end)] of `count` buckets from the one holding `first_ms`, as the simulator's calendar cuts them."""
    buckets, start = [], zone_bucket_start(first_ms, period, zone)
    for _ in range(count):
        end = zone_bucket_start(start + BUCKET_MS[period] + 2 * HOUR, period, zone) if period == "day" else start + HOUR
        buckets.append((start, end))
        start = end
    return buckets


class FakePendo:
    """Answers the fingerprint query from {day label: {pageId: numEvents}} (pre-aggregated rows) or
    {browserTime, ...} (raw rows, one pipeline per bucket of `zone` unless `one_pipeline`), and the
    bucket-start query from the `events` source's buckets in `zone` (all but `days_without_events`
    have rows); records what was asked."""

    def __init__(self, requests_mock):
        self.events = {}
        self.raw_times = set()
        self.zone = "UTC"
        self.days_without_events = set()
        self.one_pipeline = False
        self.bodies = []
        self.refuse = False
        self.refuse_starts = False
        requests_mock.post(API_ROOT + "aggregation", json=self.answer)

    def answer(self, request, context):
        body = request.json()
        self.bodies.append(body)
        source = body["request"]["pipeline"][0]["source"]
        window = source["timeSeries"]
        period = body["request"]["pipeline"][1]["group"]["group"][0]
        asks_starts = body["request"]["requestId"].endswith(":bucket-starts")
        if self.refuse or (self.refuse_starts and asks_starts):
            context.status_code = 400
            return {"message": "bad pipeline: bad group: unknown stage"}
        if asks_starts:
            assert "events" in source
            buckets = zone_buckets(window["first"], window["count"], period, self.zone)
            return {"startTime": 0, "results": [{period: start, "rows": 3} for start, _ in buckets if start not in self.days_without_events]}
        if period == "appId":
            return {"startTime": 0, "results": self.raw_answer(window)}
        step = BUCKET_MS[period]
        first = window["first"] - window["first"] % step
        labels = range(first, first + window["count"] * step, step)
        rows = [{period: label, "pageId": page, "rows": 1, "numEvents": n, "numMinutes": 1} for label in labels for page, n in self.events.get(label, {}).items()]
        return {"startTime": first, "results": rows}

    def raw_answer(self, window):
        period = window["period"].removesuffix("Range")
        buckets = [[t for t in sorted(self.raw_times) if start <= t < end] for start, end in zone_buckets(window["first"], window["count"], period, self.zone)]
        if self.one_pipeline:
            buckets = [[t for bucket in buckets for t in bucket]]
        return [{"appId": 1, "rows": len(times), "first": times[0], "last": times[-1], "total": sum(times)} for times in buckets if times]


@pytest.fixture
def pendo(requests_mock):
    return FakePendo(requests_mock)


def sync(stream, now, monkeypatch, state):
    """Plans the sync at `now` from `state`, marks every window read; the labels read and the last state."""
    monkeypatch.setattr("source_pendo.windows.now_ms", lambda: now)
    stream.state = state
    plan = stream.plan_windows(SyncMode.incremental)
    read = []
    for window in plan.windows():
        read.extend(window.first_label + i * BUCKET_MS[stream.period] for i in range(window.buckets))
        stream.window_done(window, 0, "0 rows")
    return read, stream.state


def test_a_daily_sync_reads_the_changed_days_and_the_settling_ones_only(pendo, make_config, monkeypatch, caplog):
    config = make_config(lookback_window=10, settling_hours=8, start_date="2026-10-01")
    pendo.events = {day(n): {"p1": n + 1, "p2": 2} for n in range(-20, 12)}
    now = day(11) + 6 * HOUR  # 06:00: day 10 is settling (complete at day 11 22:00), day 11's anchor not passed
    legacy = {"day": iso_from_ms(day(5))}
    read, state = sync(PageEvents(config), now, monkeypatch, legacy)
    assert read == [day(n) for n in range(-4, 11)], "a state without fingerprints: the whole range once"
    assert state["day"] == iso_from_ms(day(9))
    # Kept: the days the next sync considers (from the day after the cursor, less the lookback).
    assert sorted(state["fingerprints"]) == [f"2026-11-{d:02d}" for d in range(1, 12)]
    # One fingerprint query (its exact body: unit_tests/integration/test_event_windows.py).
    assert len(pendo.bodies) == 1

    # A day later: a late event on day 3, a retag that moves day 7's rows from p1 to p3.
    pendo.bodies.clear()
    pendo.events[day(3)]["p1"] += 1
    pendo.events[day(7)] = {"p3": pendo.events[day(7)].pop("p1"), "p2": 2}
    caplog.set_level(logging.INFO)
    read, state = sync(PageEvents(config), now + DAY, monkeypatch, json.loads(json.dumps(state)))
    assert read == [day(3), day(7), day(11)], "day 10, read while settling and unchanged since, is not read again"
    assert len(pendo.bodies) == 1, "one fingerprint query, no request for the unchanged days"
    assert state["day"] == iso_from_ms(day(10))
    assert min(state["fingerprints"]) == "2026-11-02", "digests older than the next sync's lookback are dropped"
    assert "Stream 'page_events': 2 of 11 days changed since the last sync (fingerprints); reading those and 1 newer." in caplog.text

    # Nothing changed since: only the settling days.
    read, _ = sync(PageEvents(config), now + DAY, monkeypatch, json.loads(json.dumps(state)))
    assert read == [day(11)]


def test_a_sync_cut_short_keeps_the_old_digests_of_the_windows_it_did_not_finish(pendo, make_config, monkeypatch):
    config = make_config(lookback_window=10, start_date="2026-10-01")
    pendo.events = {day(n): {"p1": 1} for n in range(-10, 12)}
    now = day(11) + 6 * HOUR
    _, state = sync(PageEvents(config), now, monkeypatch, {"day": iso_from_ms(day(5))})
    pendo.events[day(2)] = {"p1": 5}
    pendo.events[day(6)] = {"p1": 5}
    stream = PageEvents(config)
    monkeypatch.setattr("source_pendo.windows.now_ms", lambda: now + DAY)
    stream.state = state
    first_window = next(stream.plan_windows(SyncMode.incremental).windows())
    assert first_window.first_label == day(2) and first_window.buckets == 1
    stream.window_done(first_window, 0, "0 rows")
    # Killed here: the cursor stays (it never moves back), day 6 still has its old digest.
    cut = stream.state
    assert cut["day"] == state["day"]
    assert cut["fingerprints"]["2026-11-06"] == state["fingerprints"]["2026-11-06"]
    assert cut["fingerprints"]["2026-11-03"] != state["fingerprints"]["2026-11-03"]
    read, _ = sync(PageEvents(config), now + DAY, monkeypatch, json.loads(json.dumps(cut)))
    assert read[:1] == [day(6)] and day(2) not in read


def test_a_refused_fingerprint_query_reads_the_whole_range_and_keeps_no_digests(pendo, make_config, monkeypatch, caplog):
    config = make_config(lookback_window=10, start_date="2026-10-01")
    pendo.refuse = True
    saved = {"day": iso_from_ms(day(5)), "fingerprints": {"2026-11-04": "abcdef01"}}
    read, state = sync(PageEvents(config), day(11) + 6 * HOUR, monkeypatch, saved)
    assert read == [day(n) for n in range(-4, 11)]
    assert state == {"day": iso_from_ms(day(9))}
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("Stream 'page_events': could not tell which days changed since the last sync: Pendo refused the query (HTTP 400: ")
    assert "Re-reading the whole lookback of 15 days" in warning and "bad group" in warning


def test_a_first_sync_asks_for_the_digests_of_the_next_syncs_lookback_only(pendo, make_config, monkeypatch):
    config = make_config(lookback_window=10, start_date="2026-09-01")
    read, state = sync(PageEvents(config), day(11) + 6 * HOUR, monkeypatch, {})
    assert read[0] == D0 - 61 * DAY and read[-1] == day(10)
    window = pendo.bodies[0]["request"]["pipeline"][0]["source"]["timeSeries"]
    assert (window["first"] - window["first"] % DAY, window["count"]) == (day(0), 11)
    assert min(state["fingerprints"]) == "2026-11-01"


def test_full_refresh_sends_no_fingerprint_query(pendo, make_config, monkeypatch):
    monkeypatch.setattr("source_pendo.windows.now_ms", lambda: day(11) + 6 * HOUR)
    for stream in (PageEvents(make_config(start_date="2026-11-01")), GuideEvents(make_config(start_date="2026-11-01"))):
        assert stream.plan_windows(SyncMode.full_refresh).runs == [(D0, day(10))]
    assert pendo.bodies == []


def bucket_of_label(label: int, period: str, zone: str) -> tuple:
    """(start, end) of the zone's bucket that holds the label's anchor: the one the label names."""
    return zone_buckets(label + ANCHOR_OFFSET_MS[period], 1, period, zone)[0]


@pytest.mark.parametrize("stream_class", [GuideEvents, PollEvents])
@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kolkata", "America/New_York"])
def test_raw_events_read_only_the_days_their_late_events_belong_to(pendo, make_config, monkeypatch, caplog, stream_class, zone):
    """Pendo's day starts, learnt from the events source, place each late event in its one day: at +14
    and -12 hours, at +5:30, and on New York's 25-hour 2026-11-01 (day 0)."""
    pendo.zone = zone
    config = make_config(lookback_window=14, settling_hours=8, start_date="2026-10-01")
    pendo.raw_times = {day(n) + (n % 5) * 3 * HOUR for n in range(-20, 12)}
    now = day(11) + 6 * HOUR
    _, state = sync(stream_class(config), now, monkeypatch, {"browser_time": iso_from_ms(day(5))})
    starts_query, fingerprint_query = (body["request"] for body in pendo.bodies)
    assert starts_query["requestId"] == f"source-pendo:{stream_class.name}:bucket-starts"
    assert starts_query["pipeline"] == [
        {"source": {"events": {"appId": 'expandAppIds("*")'}, "timeSeries": fingerprint_query["pipeline"][0]["source"]["timeSeries"]}},
        {"group": {"group": ["day"], "fields": [{"rows": {"count": None}}]}},
    ], "one small query over the fingerprint query's buckets"
    assert fingerprint_query["pipeline"][1]["group"] == {
        "group": ["appId"],
        "fields": [{"rows": {"count": None}}, {"first": {"min": "browserTime"}}, {"last": {"max": "browserTime"}}, {"total": {"sum": "browserTime"}}],
    }

    pendo.bodies.clear()
    pendo.raw_times.add(bucket_of_label(day(3), "day", zone)[0] + 60_000)  # a minute into day 3
    pendo.raw_times.add(bucket_of_label(day(7), "day", zone)[1] - 60_000)  # a minute before day 7 ends
    pendo.raw_times.add(bucket_of_label(day(0), "day", zone)[1] - 30 * 60_000)  # New York: 24.5 hours into its day
    caplog.set_level(logging.INFO)
    read, state = sync(stream_class(config), now + DAY, monkeypatch, json.loads(json.dumps(state)))
    assert read == [day(0), day(3), day(7), day(11)], "the changed days and the settling one, not their neighbours"
    assert len(pendo.bodies) == 2
    assert f"Stream '{stream_class.name}': 3 of 15 days changed since the last sync (fingerprints); reading those and 1 newer." in caplog.text

    read, _ = sync(stream_class(config), now + DAY, monkeypatch, json.loads(json.dumps(state)))
    assert read == [day(11)], "nothing changed since: only the settling day"


def test_raw_events_by_the_hour_in_a_half_hour_zone(pendo, make_config, monkeypatch):
    """Kolkata's hours start at :30 UTC: an event at 10:40 UTC is in the hour labelled 11:00."""
    pendo.zone = "Asia/Kolkata"
    config = make_config(lookback_window=2, settling_hours=0, period="hour", start_date="2026-10-01")
    pendo.raw_times = {D0 + h * HOUR + 20 * 60_000 for h in range(-60, 48)}
    now = D0 + 30 * HOUR + 20 * 60_000
    _, state = sync(PollEvents(config), now, monkeypatch, {"browser_time": iso_from_ms(D0)})
    assert pendo.bodies[0]["request"]["pipeline"][1]["group"]["group"] == ["hour"]
    pendo.raw_times.add(D0 + 10 * HOUR + 40 * 60_000)
    read, _ = sync(PollEvents(config), now + HOUR, monkeypatch, json.loads(json.dumps(state)))
    assert read == [D0 + 11 * HOUR, D0 + 30 * HOUR, D0 + 31 * HOUR]


@pytest.mark.parametrize("stream_class", [GuideEvents, PollEvents])
def test_raw_events_without_known_day_starts_read_every_day_a_late_event_may_belong_to(pendo, make_config, monkeypatch, caplog, stream_class):
    """The bucket-start query refused: each row counts towards the two or three days it may be in,
    in any time zone, and the sync still reads only near the changes."""
    pendo.refuse_starts = True
    config = make_config(lookback_window=10, settling_hours=8, start_date="2026-10-01")
    pendo.raw_times = {day(n) + (n % 5) * 3 * HOUR for n in range(-20, 12)}
    now = day(11) + 6 * HOUR
    _, state = sync(stream_class(config), now, monkeypatch, {"browser_time": iso_from_ms(day(5))})
    pendo.bodies.clear()
    pendo.raw_times.add(day(3) + 2 * HOUR)  # late, early on day 3 UTC: in some time zones day 2's
    pendo.raw_times.add(day(7) + 12 * HOUR)  # late, at noon UTC: day 6, 7 or 8 depending on the zone
    caplog.set_level(logging.INFO)
    read, state = sync(stream_class(config), now + DAY, monkeypatch, json.loads(json.dumps(state)))
    # Day 10, settling last time, is read again: its digest now holds day 11's events too, which may
    # be its own in a time zone west of UTC.
    assert read == [day(2), day(3), day(6), day(7), day(8), day(10), day(11)]
    assert len(pendo.bodies) == 2
    assert (
        f"Stream '{stream_class.name}': could not learn where Pendo's days start (Pendo refused the query (HTTP 400: bad pipeline: bad group: unknown stage)),"
        " so a late event makes every day it may belong to in some time zone read again." in caplog.text
    )
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_day_without_events_rows_leaves_its_guide_events_to_every_day_they_may_belong_to(pendo, make_config, monkeypatch):
    """No events rows on day 3, so its start is unknown: its guide events, too early to be within the
    shortest day before day 4's start, count towards days 2 and 3 (labels_touching)."""
    pendo.days_without_events = {day(3)}
    config = make_config(lookback_window=10, settling_hours=8, start_date="2026-10-01")
    pendo.raw_times = {day(n) + 9 * HOUR for n in range(-20, 12)}
    now = day(11) + 6 * HOUR
    _, state = sync(GuideEvents(config), now, monkeypatch, {"browser_time": iso_from_ms(day(5))})
    pendo.raw_times.add(day(3) + 30 * 60_000)
    read, _ = sync(GuideEvents(config), now + DAY, monkeypatch, json.loads(json.dumps(state)))
    assert read == [day(2), day(3), day(11)]


def test_raw_events_grouped_over_the_whole_range_read_the_whole_lookback_with_one_warning(pendo, make_config, monkeypatch, caplog):
    config = make_config(lookback_window=10, start_date="2026-10-01")
    pendo.raw_times = {day(n) + HOUR for n in range(-20, 12)}
    pendo.one_pipeline = True
    saved = {"browser_time": iso_from_ms(day(5)), "fingerprints": {"2026-11-04": "abcdef01"}}
    read, state = sync(GuideEvents(config), day(11) + 6 * HOUR, monkeypatch, saved)
    assert read == [day(n) for n in range(-4, 11)]
    assert state == {"browser_time": iso_from_ms(day(9))}
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("Stream 'guide_events': could not tell which days changed since the last sync: Pendo's answer does not keep days apart")
    assert "Re-reading the whole lookback of 15 days" in warning


def test_an_unreadable_fingerprints_entry_is_a_state_error(make_config):
    with pytest.raises(Exception, match="saved state of stream 'page_events'"):
        PageEvents(make_config()).state = {"day": iso_from_ms(day(5)), "fingerprints": ["x"]}


def test_digests_of_the_other_period_are_dropped(make_config):
    stream = PageEvents(make_config(period="hour"))
    stream.state = {"hour": iso_from_ms(day(5)), "fingerprints": {"2026-11-04": "abcdef01", "2026-11-04T05": "12345678"}}
    assert stream.state["fingerprints"] == {"2026-11-04T05": "12345678"}


def test_hour_buckets_are_fingerprinted_per_hour(pendo, make_config, monkeypatch):
    config = make_config(lookback_window=2, settling_hours=0, period="hour", start_date="2026-10-01")
    pendo.events = {D0 + h * HOUR: {"p1": 1} for h in range(-48, 48)}
    now = D0 + 30 * HOUR + 20 * 60_000  # 06:20 on day 1: hour 06 begun, hours up to 04 complete
    _, state = sync(PageEvents(config), now, monkeypatch, {"hour": iso_from_ms(D0)})
    assert state["hour"] == iso_from_ms(D0 + 28 * HOUR) and "2026-11-02T04" in state["fingerprints"]
    pendo.events[D0 + 10 * HOUR]["p1"] = 2
    read, _ = sync(PageEvents(config), now + HOUR, monkeypatch, json.loads(json.dumps(state)))
    assert read == [D0 + 10 * HOUR, D0 + 30 * HOUR, D0 + 31 * HOUR]


@pytest.mark.parametrize(
    "answer, cause",
    [
        ([{"hour": D0}, {"hour": D0 + HOUR + 30 * 60_000}], "hours that start at different minutes past the hour"),
        ([{"hour": D0}, {"hour": D0 + 20 * 60_000}], "two 'hour' values closer together than one hour lasts"),
        ([{"hour": "2026-11-01"}], "Pendo's answer was not rows with a 'hour' time"),
    ],
)
def test_hour_starts_that_cannot_be_pendos_leave_every_row_to_the_hours_it_may_belong_to(requests_mock, make_config, monkeypatch, answer, cause):
    requests_mock.post(API_ROOT + "aggregation", json={"startTime": 0, "results": answer})
    stream = PollEvents(make_config(period="hour"))
    assert bucket_starts(stream, "events", None, period="hour", window={"period": "hourRange", "first": D0, "count": 3}) == ([], cause)
