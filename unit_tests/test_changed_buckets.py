"""Which buckets an event stream reads in an incremental sync: those whose fingerprint changed since
the saved one, those still settling, and every one when Pendo refuses the fingerprint query."""

import json
import logging

import pytest
from airbyte_cdk.models import SyncMode

from source_pendo.records import iso_from_ms
from source_pendo.streams.events import GuideEvents, PageEvents, PollEvents
from source_pendo.windows import BUCKET_MS

from .conftest import API_ROOT

DAY, HOUR = BUCKET_MS["day"], BUCKET_MS["hour"]
D0 = 1793491200000  # 2026-11-01, a UTC midnight (the subscription's zone here is UTC)


def day(n: int) -> int:
    return D0 + n * DAY


class FakePendo:
    """Answers the fingerprint query from {day label: {pageId: numEvents}} (pre-aggregated rows) or
    {browserTime, ...} (raw rows, one pipeline per bucket unless `one_pipeline`); records what was asked."""

    def __init__(self, requests_mock):
        self.events = {}
        self.raw_times = set()
        self.one_pipeline = False
        self.bodies = []
        self.refuse = False
        requests_mock.post(API_ROOT + "aggregation", json=self.answer)

    def answer(self, request, context):
        body = request.json()
        self.bodies.append(body)
        if self.refuse:
            context.status_code = 400
            return {"message": "bad pipeline: bad group: unknown stage"}
        window = body["request"]["pipeline"][0]["source"]["timeSeries"]
        period = body["request"]["pipeline"][1]["group"]["group"][0]
        if period == "appId":
            return {"startTime": 0, "results": self.raw_answer(window)}
        step = BUCKET_MS[period]
        first = window["first"] - window["first"] % step
        labels = range(first, first + window["count"] * step, step)
        rows = [{period: label, "pageId": page, "rows": 1, "numEvents": n, "numMinutes": 1} for label in labels for page, n in self.events.get(label, {}).items()]
        return {"startTime": first, "results": rows}


    def raw_answer(self, window):
        step = BUCKET_MS[window["period"].removesuffix("Range")]
        first = window["first"] - window["first"] % step
        buckets = [[t for t in sorted(self.raw_times) if start <= t < start + step] for start in range(first, first + window["count"] * step, step)]
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


@pytest.mark.parametrize("stream_class", [GuideEvents, PollEvents])
def test_raw_events_read_the_days_their_late_events_may_belong_to(pendo, make_config, monkeypatch, caplog, stream_class):
    config = make_config(lookback_window=10, settling_hours=8, start_date="2026-10-01")
    pendo.raw_times = {day(n) + (n % 5) * 3 * HOUR for n in range(-20, 12)}
    now = day(11) + 6 * HOUR
    _, state = sync(stream_class(config), now, monkeypatch, {"browser_time": iso_from_ms(day(5))})
    [query] = [b["request"] for b in pendo.bodies]
    assert query["pipeline"][1]["group"] == {
        "group": ["appId"],
        "fields": [{"rows": {"count": None}}, {"first": {"min": "browserTime"}}, {"last": {"max": "browserTime"}}, {"total": {"sum": "browserTime"}}],
    }
    window = query["pipeline"][0]["source"]["timeSeries"]
    assert window["first"] - window["first"] % DAY == day(-6), "two days before the range: their events may touch its first days"

    pendo.bodies.clear()
    pendo.raw_times.add(day(3) + 2 * HOUR)  # late, early on day 3 UTC: in some time zones day 2's
    pendo.raw_times.add(day(7) + 12 * HOUR)  # late, at noon UTC: day 6, 7 or 8 depending on the zone
    caplog.set_level(logging.INFO)
    read, state = sync(stream_class(config), now + DAY, monkeypatch, json.loads(json.dumps(state)))
    # Day 10, settling last time, is read again: its digest now holds day 11's events too, which may
    # be its own in a time zone west of UTC.
    assert read == [day(2), day(3), day(6), day(7), day(8), day(10), day(11)]
    assert len(pendo.bodies) == 1

    read, _ = sync(stream_class(config), now + DAY, monkeypatch, json.loads(json.dumps(state)))
    assert read == [day(11)], "nothing changed since: only the settling day"


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


def test_raw_events_by_the_hour(pendo, make_config, monkeypatch):
    config = make_config(lookback_window=2, settling_hours=0, period="hour", start_date="2026-10-01")
    pendo.raw_times = {D0 + h * HOUR + 20 * 60_000 for h in range(-60, 48)}
    now = D0 + 30 * HOUR + 20 * 60_000
    _, state = sync(PollEvents(config), now, monkeypatch, {"browser_time": iso_from_ms(D0)})
    pendo.raw_times.add(D0 + 10 * HOUR + 40 * 60_000)
    read, _ = sync(PollEvents(config), now + HOUR, monkeypatch, json.loads(json.dumps(state)))
    assert read == [D0 + 10 * HOUR, D0 + 11 * HOUR, D0 + 30 * HOUR, D0 + 31 * HOUR]


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
