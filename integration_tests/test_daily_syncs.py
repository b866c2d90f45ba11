"""Daily incremental syncs of the event streams with their default settings (30-day lookback, 8 h
settling margin), over real sockets against the simulator: late data arrives every day and Pendo
retags past page events; each sync reads only the days whose content changed and the days still
settling, and what the syncs delivered is exactly what the simulator holds."""

from collections import defaultdict
from datetime import datetime, timezone

import pytest
from airbyte_cdk.models import SyncMode

from integration_tests.pendo_simulator import PendoSimulator
from source_pendo.records import ms_from_iso
from source_pendo.row_key import row_key
from source_pendo.source import SourcePendo
from source_pendo.windows import ANCHOR_OFFSET_MS, BUCKET_MS, label_of, label_of_bucket, last_complete_label, newest_label

from .conftest import records_of, run_read, states_of

DAY, HOUR = BUCKET_MS["day"], BUCKET_MS["hour"]
STREAMS = {"events": "events", "page_events": "pageEvents", "feature_events": "featureEvents", "track_events": "trackEvents"}
ALL_APPS = 'expandAppIds("*")'
SETTLING_MS = 8 * HOUR  # the spec's default settling margin


def daily_config(simulator, days=25):
    start = datetime.fromtimestamp(label_of(simulator.clock_ms - days * DAY, "day") / 1000, tz=timezone.utc)
    return {"api_key": simulator.api_key, "base_url": simulator.url, "start_date": start.strftime("%Y-%m-%d"), "page_size": 150, "requests_per_second": 1000}


def key_columns(stream):
    [instance] = [s for s in SourcePendo().streams({"api_key": "k", "start_date": "2025-01-01"}) if s.name == stream]
    return [column.format(period="day") for column in instance.key_columns]


def simulator_days(simulator, stream, cfg):
    """{label: {row_key: (numEvents, numMinutes)}} of every day the syncs cover, as Pendo holds it now."""
    first = label_of(ms_from_iso(cfg["start_date"] + "T00:00:00Z"), "day")
    last = newest_label(simulator.clock_ms, "day")
    start = simulator.bucket_start(first + ANCHOR_OFFSET_MS["day"], "day")
    end = simulator.bucket_start(last + ANCHOR_OFFSET_MS["day"], "day") + 1
    days = {label: {} for label in range(first, last + DAY, DAY)}
    columns = key_columns(stream)
    for row in simulator.event_rows(STREAMS[stream], "day", start, end, ALL_APPS):
        days[label_of_bucket(row["day"], "day")][row_key([row.get(c) for c in columns])] = (row["numEvents"], row["numMinutes"])
    return days


def days_read(simulator, stream):
    """The labels of the windows the stream's row queries asked for (the fingerprint query aside)."""
    labels = set()
    for request in simulator.requests:
        body = request["body"] if isinstance(request["body"], dict) else {}
        if body.get("request", {}).get("requestId") == f"source-pendo:{stream}":
            window = body["request"]["pipeline"][0]["source"]["timeSeries"]
            first = window["first"] - ANCHOR_OFFSET_MS["day"]
            labels.update(range(first, first + window["count"] * DAY, DAY))
    return labels


def fingerprint_queries(simulator, stream):
    return [r for r in simulator.requests if isinstance(r["body"], dict) and r["body"]["request"]["requestId"] == f"source-pendo:{stream}:fingerprints"]


class Destination:
    """What a destination holds per stream: each day as the last sync that read it delivered it."""

    def __init__(self):
        self.days = defaultdict(dict)  # stream -> {label: {row_key: (num_events, num_minutes)}}

    def load(self, stream, records, labels_read):
        delivered = defaultdict(dict)
        for record in records:
            delivered[label_of_bucket(ms_from_iso(record["day"]), "day")][record["row_key"]] = (record["num_events"], record["num_minutes"])
        assert set(delivered) <= labels_read, "a record of a day the stream did not ask for"
        for label in labels_read:
            self.days[stream][label] = delivered.get(label, {})


def sync(simulator, cfg, destination, states):
    simulator.clear_requests()
    output = run_read(cfg, list(STREAMS), SyncMode.incremental, state=[states[s] for s in STREAMS if s in states] or None)
    read = {}
    for stream in STREAMS:
        read[stream] = days_read(simulator, stream)
        destination.load(stream, records_of(output, stream), read[stream])
        states[stream] = states_of(output, stream)[-1]
        assert len(fingerprint_queries(simulator, stream)) == 1, "one fingerprint query per stream and sync"
    return output, read


def changed_days(before, after):
    return {label for label in after if before.get(label) != after[label]}


def two_busy_pages(simulator, first, end):
    counts = defaultdict(int)
    for hit in simulator.events.hits:
        if hit.kind == "page" and hit.app_id == simulator.dataset.default_app_id and first <= hit.ts < end and hit.arrives_at <= simulator.clock_ms:
            counts[hit.object_id] += 1
    moved, kept = sorted(counts, key=counts.get, reverse=True)[:2]
    return moved, kept


def test_daily_syncs_read_only_changed_and_settling_days_and_deliver_exactly_pendos_data(clock):
    cfg = daily_config(clock)
    destination, states = Destination(), {}
    sync(clock, cfg, destination, states)
    held = {stream: simulator_days(clock, stream, cfg) for stream in STREAMS}
    for stream in STREAMS:
        assert destination.days[stream] == held[stream], f"{stream}: the first sync delivered Pendo's data exactly"
        assert states[stream].stream.stream_state.fingerprints, f"{stream}: the first sync saved fingerprints for the next"

    skipped_past_days = late_past_days = 0
    for day in range(1, 4):
        clock.advance(DAY)
        retagged = set()
        if day == 2:
            # Pendo edits a page rule: 6 to 12 days back, one busy page's views become another's.
            first, end = clock.clock_ms - 12 * DAY, clock.clock_ms - 6 * DAY
            moved, kept = two_busy_pages(clock, first, end)
            assert clock.retag("page", moved, kept, first_ms=first, end_ms=end) > 0
            retagged = {label_of_bucket(clock.bucket_start(ms, "day"), "day") for ms in range(first, end, HOUR)}
        now_held = {stream: simulator_days(clock, stream, cfg) for stream in STREAMS}
        output, read = sync(clock, cfg, destination, states)
        settling = set(range(last_complete_label(clock.clock_ms, "day", SETTLING_MS) + DAY, newest_label(clock.clock_ms, "day") + DAY, DAY))
        for stream in STREAMS:
            changed = changed_days(held[stream], now_held[stream])
            assert destination.days[stream] == now_held[stream], f"day {day}, {stream}: a day lost or stale after the sync"
            assert changed <= read[stream], f"day {day}, {stream}: a changed day was not read"
            assert read[stream] <= changed | settling, f"day {day}, {stream}: read unchanged days {sorted(read[stream] - changed - settling)}"
            emitted = len(records_of(output, stream))
            assert emitted == sum(len(now_held[stream][label]) for label in read[stream]), "rows emitted only of the days read"
            past = set(now_held[stream]) - settling
            skipped_past_days += len(past - read[stream])
            late_past_days += len((changed & past) - retagged)
        if retagged:
            assert retagged & read["page_events"] and not (retagged - changed_days(held["events"], now_held["events"])) & read["events"] - settling, (
                "the retag re-read page_events' days, not the events source's (it does not change)"
            )
        held = now_held
        assert any(f"days changed since the last sync (fingerprints); reading those and" in log.log.message for log in output.logs)
    assert skipped_past_days, "unchanged past days were read again"
    assert late_past_days, "no late data reached a past day: the test proves nothing"


def test_a_refused_fingerprint_query_reads_the_whole_lookback_with_one_warning(monkeypatch):
    with PendoSimulator(seed=11, accounts=30, visitors=45, objects_per_app=3, variants=["no_group"]) as simulator:
        monkeypatch.setattr("source_pendo.windows.now_ms", lambda: simulator.clock_ms)
        cfg = daily_config(simulator, days=12)
        destination, states = Destination(), {}
        sync(simulator, cfg, destination, states)
        assert all(not getattr(states[stream].stream.stream_state, "fingerprints", None) for stream in STREAMS)
        simulator.advance(DAY)
        output, read = sync(simulator, cfg, destination, states)
        whole = set(range(label_of(ms_from_iso(cfg["start_date"] + "T00:00:00Z"), "day"), newest_label(simulator.clock_ms, "day") + DAY, DAY))
        for stream in STREAMS:
            assert read[stream] == whole, f"{stream}: the whole lookback (here back to the start date) is read"
            assert destination.days[stream] == simulator_days(simulator, stream, cfg)
            warnings = [log.log.message for log in output.logs if log.log.level.value == "WARN" and f"Stream '{stream}': could not tell" in log.log.message]
            assert len(warnings) == 1, f"{stream}: one warning per sync"
            assert "Pendo refused the query (HTTP 400: bad pipeline: bad group" in warnings[0]
            assert f"Re-reading the whole lookback of {len(whole)} days" in warnings[0]


# --- raw guide and poll events: fingerprinted by their times ----------------------------------------

RAW_STREAMS = {"guide_events": "guideEvents", "poll_events": "pollEvents"}


def raw_buckets(simulator, stream, cfg, period):
    """{label: {row_key}} of every bucket the syncs cover, as Pendo holds it now."""
    step = BUCKET_MS[period]
    first = label_of(ms_from_iso(cfg["start_date"] + "T00:00:00Z"), period)
    last = newest_label(simulator.clock_ms, period)
    start = simulator.bucket_start(first + ANCHOR_OFFSET_MS[period], period)
    end = simulator.bucket_start(last + ANCHOR_OFFSET_MS[period], period) + 1
    buckets = {label: set() for label in range(first, last + step, step)}
    columns = key_columns(stream)
    for row in simulator.event_rows(RAW_STREAMS[stream], period, start, simulator.events.calendar.ceil(end, period), ALL_APPS):
        buckets[label_of_bucket(simulator.bucket_start(row["browserTime"], period), period)].add(row_key([row.get(c) for c in columns]))
    return buckets


def buckets_read(simulator, stream, period):
    step, offset = BUCKET_MS[period], ANCHOR_OFFSET_MS[period]
    labels = set()
    for request in simulator.requests:
        body = request["body"] if isinstance(request["body"], dict) else {}
        if body.get("request", {}).get("requestId") == f"source-pendo:{stream}":
            window = body["request"]["pipeline"][0]["source"]["timeSeries"]
            labels.update(range(window["first"] - offset, window["first"] - offset + window["count"] * step, step))
    return labels


def raw_sync(simulator, cfg, held, states, period="day"):
    """One incremental sync of the raw streams; `held` ({stream: {label: {row_key}}}) becomes what a
    destination holds after it. The buckets each stream read, and the output."""
    simulator.clear_requests()
    output = run_read(cfg, list(RAW_STREAMS), SyncMode.incremental, state=[states[s] for s in RAW_STREAMS if s in states] or None)
    read = {}
    for stream in RAW_STREAMS:
        read[stream] = buckets_read(simulator, stream, period)
        delivered = defaultdict(set)
        for record in records_of(output, stream):
            delivered[label_of_bucket(simulator.bucket_start(ms_from_iso(record["browser_time"]), period), period)].add(record["row_key"])
        assert set(delivered) <= read[stream], "a record of a bucket the stream did not ask for"
        for label in read[stream]:
            held.setdefault(stream, {})[label] = delivered.get(label, set())
        states[stream] = states_of(output, stream)[-1]
        assert len(fingerprint_queries(simulator, stream)) == 1, "one fingerprint query per stream and sync"
    return read, output


@pytest.mark.parametrize(
    "zone, period, step, syncs, settings",
    [
        ("America/New_York", "day", DAY, 4, {}),
        ("Asia/Kolkata", "day", DAY, 2, {}),
        ("Pacific/Kiritimati", "day", DAY, 2, {}),
        ("America/New_York", "hour", 6 * HOUR, 4, {"lookback_window": 3, "settling_hours": 0}),
        ("Asia/Kolkata", "hour", 6 * HOUR, 2, {"lookback_window": 3, "settling_hours": 0}),
    ],
)
def test_daily_syncs_of_guide_and_poll_events_read_only_changed_and_settling_buckets(monkeypatch, zone, period, step, syncs, settings):
    """Late guide and poll events change past buckets; each sync reads exactly those (placed by the
    bucket starts the events source names, not their neighbours) and the settling ones, and delivers
    exactly Pendo's rows. By the hour without a settling margin, events 4-6 hours late reach complete
    hours; Kolkata's hours start at :30 UTC."""
    with PendoSimulator(seed=11, timezone=zone) as clock:
        monkeypatch.setattr("source_pendo.windows.now_ms", lambda: clock.clock_ms)
        raw_daily_syncs(clock, period, step, syncs, settings)


def raw_daily_syncs(clock, period, step, syncs, settings):
    cfg = {**daily_config(clock, days=12), "period": period, **settings}
    settling_ms = settings.get("settling_hours", 8) * HOUR
    held, states = {}, {}
    raw_sync(clock, cfg, held, states, period)
    before = {stream: raw_buckets(clock, stream, cfg, period) for stream in RAW_STREAMS}
    for stream in RAW_STREAMS:
        assert held[stream] == before[stream], f"{stream}: the first sync delivered Pendo's rows exactly"
        assert states[stream].stream.stream_state.fingerprints
    skipped = late = 0
    for _ in range(syncs):
        clock.advance(step)
        now = {stream: raw_buckets(clock, stream, cfg, period) for stream in RAW_STREAMS}
        read, output = raw_sync(clock, cfg, held, states, period)
        settling = set(range(last_complete_label(clock.clock_ms, period, settling_ms) + BUCKET_MS[period], newest_label(clock.clock_ms, period) + BUCKET_MS[period], BUCKET_MS[period]))
        for stream in RAW_STREAMS:
            changed = changed_days(before[stream], now[stream])
            assert held[stream] == now[stream], f"{stream}: a bucket lost or stale after the sync"
            assert changed <= read[stream], f"{stream}: a changed bucket was not read"
            assert read[stream] <= changed | settling, f"{stream}: read unchanged buckets {sorted(read[stream] - changed - settling)}"
            past = set(now[stream]) - settling
            skipped += len(past - read[stream])
            late += len(changed & past)
        assert any(f"{period}s changed since the last sync (fingerprints); reading those and" in log.log.message for log in output.logs)
        before = now
    assert skipped, "unchanged past buckets were read again"
    assert late, "no late event reached a past bucket: the test proves nothing"


@pytest.mark.parametrize("variant, cause", [("group_across_periods", "Pendo's answer does not keep days apart"), ("no_group", "Pendo refused the query (HTTP 400: bad pipeline: bad group")])
def test_guide_and_poll_events_read_the_whole_lookback_with_one_warning_when_buckets_cannot_be_told_apart(monkeypatch, variant, cause):
    with PendoSimulator(seed=11, accounts=30, visitors=45, objects_per_app=3, variants=[variant]) as simulator:
        monkeypatch.setattr("source_pendo.windows.now_ms", lambda: simulator.clock_ms)
        cfg = daily_config(simulator, days=12)
        held, states = {}, {}
        raw_sync(simulator, cfg, held, states)
        simulator.advance(DAY)
        read, output = raw_sync(simulator, cfg, held, states)
        whole = set(range(label_of(ms_from_iso(cfg["start_date"] + "T00:00:00Z"), "day"), newest_label(simulator.clock_ms, "day") + DAY, DAY))
        for stream in RAW_STREAMS:
            assert read[stream] == whole, f"{stream}: the whole lookback (here back to the start date) is read"
            assert held[stream] == raw_buckets(simulator, stream, cfg, "day")
            assert not getattr(states[stream].stream.stream_state, "fingerprints", None)
            warnings = [log.log.message for log in output.logs if log.log.level.value == "WARN" and f"Stream '{stream}': could not tell" in log.log.message]
            assert len(warnings) == 1 and cause in warnings[0], warnings
            assert f"Re-reading the whole lookback of {len(whole)} days" in warnings[0]
            learnt = not any(f"Stream '{stream}': could not learn where Pendo's days start" in log.log.message for log in output.logs)
            assert learnt == (variant == "group_across_periods"), "grouped by `day`, the events source names its days either way"
