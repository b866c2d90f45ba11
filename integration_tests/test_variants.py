"""Every stream against the Pendo variants public evidence allows (docs/pendo-api-contract.md): under
each simulator switch and under all at once, a full read of all 17 streams, by day and by hour, with
the default page size and with pages of a few rows, and an incremental read after late data. Every
row of every stream arrives exactly once, no stream fails, every record fits its declared schema and
no primary-key column is null."""

import logging
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

import pytest
from airbyte_cdk.models import Status, SyncMode
from airbyte_cdk.test.entrypoint_wrapper import discover
from jsonschema import Draft7Validator

from integration_tests.pendo_simulator import VARIANTS, PendoSimulator
from source_pendo.records import iso_from_ms, snake_case
from source_pendo.source import SourcePendo
from source_pendo.streams.events import EventStream
from source_pendo.windows import BUCKET_MS, anchor, label_of, last_complete_label, newest_label

from .conftest import ALL_STREAMS, EVENT_STREAMS, primary_key, records_of, run_read, states_of
from .test_events import ALL_APPS
from .test_events import SOURCES as EVENT_SOURCES

DAY = BUCKET_MS["day"]
DAYS = 6
SMALL_PAGE = 4
OBJECT_SOURCES = {"featureEvents": "features", "trackEvents": "track_types"}
ENTITY_IDS = {"accounts": ("accountId", "account_id"), "visitors": ("visitorId", "visitor_id")}


@pytest.fixture(params=[*VARIANTS, "all"])
def variant_sim(request, monkeypatch):
    sim = PendoSimulator(seed=11, accounts=30, visitors=45, objects_per_app=3, variants=[request.param]).start()
    monkeypatch.setattr("source_pendo.windows.now_ms", lambda: sim.clock_ms)
    yield sim
    sim.stop()


def variant_config(sim, page_size: int, period: str = "day") -> Dict[str, Any]:
    start = datetime.fromtimestamp(label_of(sim.clock_ms - DAYS * DAY, "day") / 1000, tz=timezone.utc)
    return {
        "api_key": sim.api_key,
        "base_url": sim.url,
        "start_date": start.strftime("%Y-%m-%d"),
        "period": period,
        "page_size": page_size,
        "requests_per_second": 1000,
    }


def event_identity(stream: str, period: str) -> List[str]:
    [instance] = [s for s in SourcePendo().streams({"api_key": "k", "start_date": "2025-01-01", "period": period}) if s.name == stream]
    assert isinstance(instance, EventStream)
    return instance.sort_columns


def expected_event_rows(sim, stream: str, cfg: Dict[str, Any]) -> List[Dict[str, Any]]:
    period = cfg["period"]
    first = sim.bucket_start(anchor(start_label(cfg, period), period), period)
    end = sim.bucket_start(anchor(newest_label(sim.clock_ms, period), period), period) + 1
    source = EVENT_SOURCES[stream]
    if source in OBJECT_SOURCES and "object_event_params" in sim.variants:
        objects = getattr(sim.dataset, OBJECT_SOURCES[source])
        return [row for obj in objects for row in sim.event_rows(source, period, first, end, object_id=obj["id"])]
    return sim.event_rows(source, period, first, end, ALL_APPS)


def as_record_value(column: str, value: Any) -> Any:
    return iso_from_ms(value) if column in ("day", "hour", "browserTime") else value


def start_label(cfg: Dict[str, Any], period: str) -> int:
    return label_of(int(datetime.fromisoformat(cfg["start_date"]).replace(tzinfo=timezone.utc).timestamp() * 1000), period)


def expected_history(sim, cfg: Dict[str, Any], through: Optional[int] = None) -> Counter:
    """Every history entry from the start date through the newest day (or the day labelled `through`)."""
    first = start_label(cfg, "day")
    entries: Counter = Counter()
    for label in range(first, (newest_label(sim.clock_ms, "day") if through is None else through) + 1, DAY):
        day_start = sim.bucket_start(anchor(label, "day"), "day")
        for visitor in sim.dataset.visitors:
            if not visitor["visitorId"].startswith("_PENDO_T_"):
                for entry in sim.events.history(visitor["visitorId"], day_start, sim.clock_ms):
                    entries[(visitor["visitorId"], iso_from_ms(entry["ts"]), entry["type"])] += 1
    return entries


def assert_every_row_once(sim, output, cfg) -> None:
    """The records of a read equal the simulator's data, stream by stream."""
    dataset = sim.dataset
    for stream, (row_key, record_key) in ENTITY_IDS.items():
        rows = [row for row in getattr(dataset, stream) if not str(row[row_key]).startswith("_PENDO_T_")]
        assert Counter(r[record_key] for r in records_of(output, stream)) == Counter(row[row_key] for row in rows), stream
    for stream in ["pages", "features", "guides", "track_types", "reports", "segments"]:
        assert Counter(r["id"] for r in records_of(output, stream)) == Counter(row["id"] for row in getattr(dataset, stream)), stream
    for stream in ["metadata_accounts", "metadata_visitors"]:
        assert len(records_of(output, stream)) == 1, stream
    for stream in EVENT_SOURCES:
        columns = event_identity(stream, cfg["period"])
        got = Counter(tuple(r.get(snake_case(c)) for c in columns) for r in records_of(output, stream))
        rows = expected_event_rows(sim, stream, cfg)
        assert rows, f"the simulator has no {stream} rows in the window: the test would prove nothing"
        assert got == Counter(tuple(as_record_value(c, row.get(c)) for c in columns) for row in rows), stream
    if cfg["period"] == "day":
        history = Counter((r["visitor_id"], r["ts"], r["type"]) for r in records_of(output, "visitor_history"))
        assert history == expected_history(sim, cfg)


def assert_records_fit_their_schemas_and_keys(output, cfg, schemas) -> None:
    for stream in ALL_STREAMS:
        if stream == "visitor_history" and cfg["period"] == "hour":
            continue
        validator = Draft7Validator(schemas[stream])
        key = primary_key(stream, cfg["period"])
        records = records_of(output, stream)
        for record in records:
            errors = [error.message for error in validator.iter_errors(record)]
            assert not errors, f"{stream}: {errors[:3]} in {record}"
            assert all(record.get(field) is not None for field in key), f"{stream}: a primary-key column is null in {record}"
        keys = Counter(tuple(record.get(field) for field in key) for record in records)
        assert not keys or max(keys.values()) == 1, f"{stream}: two records share a primary key"


def streams_for(period: str) -> List[str]:
    return [s for s in ALL_STREAMS if period == "day" or s != "visitor_history"]


def discovered_schemas(cfg) -> Dict[str, Any]:
    return {stream.name: stream.json_schema for stream in discover(SourcePendo(), cfg).catalog.catalog.streams}


@pytest.mark.parametrize("page_size", [SMALL_PAGE, 50_000], ids=["pages-of-4", "default-pages"])
def test_a_full_read_by_day_delivers_every_row_once(variant_sim, page_size):
    cfg = variant_config(variant_sim, page_size)
    output = run_read(cfg, streams_for("day"))
    assert_every_row_once(variant_sim, output, cfg)
    assert_records_fit_their_schemas_and_keys(output, cfg, discovered_schemas(cfg))


def test_a_full_read_by_hour_delivers_every_row_once(variant_sim):
    cfg = variant_config(variant_sim, SMALL_PAGE, period="hour")
    output = run_read(cfg, streams_for("hour"))
    assert_every_row_once(variant_sim, output, cfg)
    assert_records_fit_their_schemas_and_keys(output, cfg, discovered_schemas(cfg))


def test_an_incremental_read_after_late_data_loses_nothing(variant_sim):
    cfg = variant_config(variant_sim, SMALL_PAGE)
    streams = streams_for("day")
    first = run_read(cfg, streams, SyncMode.incremental)
    states = [states_of(first, stream)[-1] for stream in streams if states_of(first, stream)]
    variant_sim.advance(DAY + 5 * 3_600_000)
    second = run_read(cfg, streams, SyncMode.incremental, state=states)
    # What a destination deduplicating on the primary key holds after both syncs.
    for stream in EVENT_STREAMS:
        key = primary_key(stream)
        merged = {tuple(r.get(f) for f in key): r for r in records_of(first, stream) + records_of(second, stream)}
        if stream == "visitor_history":
            # An incremental sync fetches complete days only, unless Pendo cannot tell which days changed.
            detects_changes = not variant_sim.variants & {"no_group", "object_event_params"}
            through = last_complete_label(variant_sim.clock_ms, "day") if detects_changes else None
            assert Counter((r["visitor_id"], r["ts"], r["type"]) for r in merged.values()) == expected_history(variant_sim, cfg, through)
            continue
        columns = event_identity(stream, "day")
        rows = expected_event_rows(variant_sim, stream, cfg)
        assert Counter(tuple(r.get(snake_case(c)) for c in columns) for r in merged.values()) == Counter(
            tuple(as_record_value(c, row.get(c)) for c in columns) for row in rows
        ), stream


@pytest.mark.parametrize("variants", [["object_event_params"], ["all"]])
def test_check_and_the_logs_say_which_query_form_feature_and_track_events_take(variants, monkeypatch):
    with PendoSimulator(seed=11, accounts=10, visitors=15, objects_per_app=2, variants=variants) as sim:
        monkeypatch.setattr("source_pendo.windows.now_ms", lambda: sim.clock_ms)
        cfg = variant_config(sim, SMALL_PAGE)
        status = SourcePendo().check(logging.getLogger("airbyte"), cfg)
        assert status.status == Status.SUCCEEDED
        assert f"featureEvents: one query per feature and window, for {len(sim.dataset.features)} features (Pendo refused 'appId'" in status.message
        assert f"trackEvents: one query per track type and window, for {len(sim.dataset.track_types)} track types" in status.message
        output = run_read(cfg, ["feature_events"])
        assert output.is_in_logs("Stream 'feature_events': featureEvents: one query per feature and window")


def test_check_says_feature_and_track_events_take_one_query_where_pendo_accepts_app_ids():
    with PendoSimulator(seed=11, accounts=10, visitors=15, objects_per_app=2) as sim:
        status = SourcePendo().check(logging.getLogger("airbyte"), variant_config(sim, SMALL_PAGE))
        assert status.status == Status.SUCCEEDED and "featureEvents: one query per window for every feature (Pendo accepts 'appId')." in status.message


def test_a_key_of_another_region_answered_401_is_told_as_a_key_problem():
    with PendoSimulator(seed=11, accounts=10, visitors=15, objects_per_app=2, variants=["wrong_region_401"]) as sim:
        status = SourcePendo().check(logging.getLogger("airbyte"), {**variant_config(sim, SMALL_PAGE), "api_key": sim.eu_key})
        assert status.status == Status.FAILED and "HTTP 401" in status.message and "set 'Region' to EU" in status.message


def test_app_ids_pendo_silently_ignores_still_fail_check_with_the_valid_ids():
    with PendoSimulator(seed=11, accounts=10, visitors=15, objects_per_app=2, variants=["unknown_app_ignored"]) as sim:
        status = SourcePendo().check(logging.getLogger("airbyte"), {**variant_config(sim, SMALL_PAGE), "app_ids": [424242]})
        assert status.status == Status.FAILED and "424242" in status.message
        assert all(str(app["id"]) in status.message for app in sim.dataset.apps)
