"""Event streams against the simulator: windows, keys, late data, resumption, request counts."""

from collections import Counter

import pytest
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.entrypoint_wrapper import read

from integration_tests.pendo_simulator import PendoSimulator
from source_pendo.records import ms_from_iso, snake_case
from source_pendo.row_key import ROW_KEY, row_key
from source_pendo.source import SourcePendo
from source_pendo.windows import BUCKET_MS, anchor, label_of, newest_label

from .conftest import catalog, identity_columns, primary_key, records_of, run_read, states_of

DAY = BUCKET_MS["day"]
SOURCES = {
    "events": "events",
    "feature_events": "featureEvents",
    "page_events": "pageEvents",
    "track_events": "trackEvents",
    "guide_events": "guideEvents",
    "poll_events": "pollEvents",
}
ALL_APPS = 'expandAppIds("*")'


def event_config(config, simulator, days=30, **overrides):
    from datetime import datetime, timezone

    start = datetime.fromtimestamp(label_of(simulator.clock_ms - days * DAY, "day") / 1000, tz=timezone.utc)
    return {**config, "start_date": start.strftime("%Y-%m-%d"), "page_size": 150, **overrides}


def expected(simulator, stream, cfg, period="day"):
    """What the API holds for the buckets the connector's windows cover, right now."""
    first_label = label_of(ms_from_iso(cfg["start_date"] + "T00:00:00Z"), period)
    last_label = newest_label(simulator.clock_ms, period)
    first = simulator.bucket_start(anchor(first_label, period), period)
    end = simulator.bucket_start(anchor(last_label, period), period) + 1
    return simulator.event_rows(SOURCES[stream], period, first, end, ALL_APPS)


def keyed(records, stream_primary_key):
    return Counter(tuple(record.get(field) for field in stream_primary_key) for record in records)


@pytest.mark.parametrize("stream", SOURCES)
def test_a_30_day_read_equals_the_simulators_rows_exactly(clock, config, stream):
    cfg = event_config(config, clock)
    records = records_of(run_read(cfg, [stream]), stream)
    rows = expected(clock, stream, cfg)
    key = identity_columns(stream)
    counts = keyed(records, key)
    assert rows and max(counts.values()) == 1, "a row was emitted twice, or two rows share a primary key"
    assert set(counts) == {tuple(row.get(column) for column in key) for row in (shaped(clock, stream, r) for r in rows)}
    assert len(records) == len(rows)
    # The primary key is the digest of the API row's identifying values, as Pendo sent them.
    [instance] = [s for s in SourcePendo().streams(cfg) if s.name == stream]
    pendo_columns = [column.format(period="day") for column in instance.key_columns]
    assert {r[ROW_KEY] for r in records} == {row_key([row.get(column) for column in pendo_columns]) for row in rows}


def shaped(simulator, stream, row):
    """The API row as the record would name it (times compared through ISO text)."""
    from source_pendo.records import iso_from_ms

    record = {snake_case(k): v for k, v in row.items()}
    for field in ("day", "hour", "browser_time"):
        if field in record:
            record[field] = iso_from_ms(record[field])
    return record


@pytest.mark.parametrize("stream", ["events", "guide_events"])
def test_hour_windows_read_every_hourly_row(clock, config, stream):
    cfg = event_config(config, clock, days=3, period="hour")
    records = records_of(run_read(cfg, [stream]), stream)
    rows = expected(clock, stream, cfg, period="hour")
    assert len(records) == len(rows) and max(keyed(records, identity_columns(stream, "hour")).values()) == 1
    assert max(keyed(records, primary_key(stream, "hour")).values()) == 1
    if stream == "events":
        assert {r["hour"] for r in records} == {shaped(clock, stream, row)["hour"] for row in rows}


@pytest.mark.parametrize(
    "stream, dimensions",
    [
        ("events", ["account_id", "app_id", "remote_ip", "server", "user_agent"]),
        ("feature_events", ["feature_id", "remote_ip", "user_agent"]),
    ],
)
def test_primary_keys_hold_rows_that_differ_in_one_dimension_only(clock, config, stream, dimensions):
    """Without each of these columns in the key, two real rows would collide (and one be lost on dedup)."""
    records = records_of(run_read(event_config(config, clock, days=40), [stream]), stream)
    key = identity_columns(stream)
    assert max(keyed(records, key).values()) == 1 and max(keyed(records, primary_key(stream)).values()) == 1
    for dimension in dimensions:
        others = [field for field in key if field != dimension]
        groups = Counter(tuple(r.get(f) for f in others) for r in records)
        assert max(groups.values()) > 1, f"no two rows differ in {dimension} alone"


def test_guide_events_sharing_a_browser_time_stay_distinct(clock, config):
    records = records_of(run_read(event_config(config, clock), ["guide_events"]), "guide_events")
    by_moment = Counter((r["browser_time"], r["visitor_id"], r["guide_id"]) for r in records)
    assert max(by_moment.values()) > 1
    assert max(keyed(records, primary_key("guide_events")).values()) == 1
    assert max(keyed(records, identity_columns("guide_events")).values()) == 1


@pytest.mark.parametrize("stream", ["feature_events", "guide_events"])
def test_incremental_after_the_clock_moves_emits_new_and_late_rows_and_loses_nothing(clock, config, stream):
    cfg = event_config(config, clock, days=20)
    key = identity_columns(stream)
    first = run_read(cfg, [stream], SyncMode.incremental)
    state = states_of(first, stream)[-1]
    before = {tuple(r.get(f) for f in key): r for r in records_of(first, stream)}
    clock.advance(2 * DAY + 5 * 3_600_000)
    second = run_read(cfg, [stream], SyncMode.incremental, state=[state])
    after = {tuple(r.get(f) for f in key): r for r in records_of(second, stream)}
    merged = {**before, **after}  # what a destination deduplicating on the primary key holds
    rows = expected(clock, stream, cfg)
    assert set(merged) == {tuple(shaped(clock, stream, row).get(f) for f in key) for row in rows}
    cursor = "day" if stream != "guide_events" else "browser_time"
    saved = ms_from_iso(state.stream.stream_state.__dict__[cursor])
    late = [k for k, r in after.items() if ms_from_iso(r[cursor]) <= saved and k not in before]
    assert late, "rows of already-read buckets that arrived late were re-read"
    assert any(ms_from_iso(r[cursor]) > saved for r in after.values()), "new buckets were read"


def test_a_sync_interrupted_mid_window_resumes_from_its_last_state(clock, config):
    cfg = event_config(config, clock, days=20, page_size=40)
    full = run_read(cfg, ["page_events"], SyncMode.incremental)
    messages = full.records_and_state_messages
    states = [i for i, m in enumerate(messages) if m.state is not None]
    cut = states[len(states) // 2]
    before = [m.record.data for m in messages[:cut + 5] if m.record is not None]  # killed 5 records into the next window
    resumed = run_read(cfg, ["page_events"], SyncMode.incremental, state=[messages[cut].state])
    key = primary_key("page_events")
    assert set(keyed(before + records_of(resumed, "page_events"), key)) == set(keyed(records_of(full, "page_events"), key))


def test_each_window_is_one_query_for_all_objects_and_is_logged(clock, config):
    cfg = event_config(config, clock, days=10, page_size=100_000)
    output = run_read(cfg, ["feature_events"])
    aggregations = [r["body"]["request"] for r in clock.requests if r["path"].endswith("aggregation")]
    probes = [a for a in aggregations if a["requestId"].endswith(":probe")]
    queries = [a["pipeline"][0]["source"] for a in aggregations if a not in probes]
    assert len(probes) == 1 and probes[0]["pipeline"][-1] == {"limit": 1}
    assert queries and all(q["featureEvents"] == {"appId": ALL_APPS} for q in queries)
    windows = [log.log.message for log in output.logs if log.log.message.startswith("Stream 'feature_events': window ")]
    assert len(windows) == len(queries) and windows[-1].endswith("0 windows left.")
    assert any("one query per window for every feature" in log.log.message for log in output.logs)


def first_sync_requests(objects_per_app, monkeypatch):
    sim = PendoSimulator(seed=11, objects_per_app=objects_per_app).start()
    try:
        monkeypatch.setattr("source_pendo.windows.now_ms", lambda: sim.clock_ms)
        cfg = {"api_key": sim.api_key, "base_url": sim.url, "start_date": "2026-09-15", "page_size": 100_000, "requests_per_second": 1000}
        records = records_of(run_read(cfg, ["feature_events"]), "feature_events")
        return len(sim.requests), len(records), len(sim.dataset.features)
    finally:
        sim.stop()


def test_a_first_syncs_request_count_stays_flat_as_features_grow(monkeypatch):
    few_requests, few_rows, few_features = first_sync_requests(3, monkeypatch)
    many_requests, many_rows, many_features = first_sync_requests(30, monkeypatch)
    assert many_features >= 10 * few_features and few_rows and many_rows
    assert many_requests == few_requests


def test_windows_first_requests_go_out_ahead_and_the_output_is_unchanged(clock, config):
    cfg = event_config(config, clock, page_size=150)
    sequential = run_read({**cfg, "max_concurrent_requests": 1}, ["page_events"])
    gate = clock.hold_together("/aggregation", parties=3, timeout=5)
    concurrent = run_read({**cfg, "max_concurrent_requests": 4}, ["page_events"])
    assert gate.opened, "three window requests were never under way at once"
    # Windows may be cut differently (sizes adapt as answers come back): the same records, in any order.
    assert sorted(map(repr, records_of(concurrent, "page_events"))) == sorted(map(repr, records_of(sequential, "page_events")))
    cursors = [state.stream.stream_state.day for state in states_of(concurrent, "page_events")]
    assert cursors == sorted(cursors) and cursors[-1] == states_of(sequential, "page_events")[-1].stream.stream_state.day


def test_a_window_ahead_that_fails_costs_no_earlier_window_its_records_or_state(clock, config):
    cfg = {**event_config(config, clock, page_size=150), "max_concurrent_requests": 4}
    clean = run_read(cfg, ["feature_events"])
    clean_records, clean_states = records_of(clean, "feature_events"), states_of(clean, "feature_events")
    clock.faults.add("status", source="featureEvents", status=400, times=None, after=6)
    output = read(SourcePendo(), cfg, catalog(["feature_events"]))
    [error] = [m.trace.error for m in output.errors if m.trace.error.message.startswith("Stream 'feature_events' stopped in the window from ")]
    assert error.failure_type.value == "config_error"
    states, records = states_of(output, "feature_events"), records_of(output, "feature_events")
    assert 1 <= len(states) < len(clean_states)
    assert [state.stream.stream_state for state in states] == [state.stream.stream_state for state in clean_states[: len(states)]]
    assert records == clean_records[: len(records)]
    checkpointed = ms_from_iso(states[-1].stream.stream_state.day)
    assert all(ms_from_iso(record["day"]) > checkpointed for record in clean_records[len(records) :]), "a checkpointed window lost records"
