"""Pendo misbehaving: every fault survived with exactly the data set, or a failure that says where."""

import email.utils
import json
import time
from collections import Counter

import pytest
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.entrypoint_wrapper import read

from integration_tests.pendo_simulator import PendoSimulator
from source_pendo.source import SourcePendo

from .conftest import ALL_STREAMS, catalog, duplicate_keys, records_by_key, records_of, run_read, states_of
from .test_variants import assert_every_row_once, variant_config

AGGREGATION_FAULTS = [
    ("status", {"status": 429}),
    ("status", {"status": 429, "retry_after": 3}),
    ("status", {"status": 500}),
    ("status", {"status": 502}),
    ("status", {"status": 503, "html": True}),
    ("status", {"status": 504}),
    ("reset", {}),
    ("reset_mid_body", {"after_rows": 3}),
    ("truncate", {"keep_fraction": 0.5}),
    ("invalid_json", {}),
    ("missing_results", {}),
]


@pytest.fixture
def clean_read(clock, config):
    """What a fault-free read of some streams gives: the data set as records (read before faults are added)."""
    return lambda streams: run_read(config, streams)


@pytest.mark.parametrize("kind, params", AGGREGATION_FAULTS, ids=[f"{k}-{p}" for k, p in AGGREGATION_FAULTS])
def test_each_fault_on_a_page_is_survived_without_loss_or_duplicates(simulator, config, clean_read, slept, kind, params):
    clean = clean_read(["visitors"])
    simulator.faults.add(kind, source="visitors", times=2, **params)
    output = run_read(config, ["visitors"])
    assert duplicate_keys(output, "visitors") == {}
    assert records_by_key(output, "visitors") == records_by_key(clean, "visitors")
    assert sum(1 for r in simulator.requests if r["fault"]) == 2
    if params.get("retry_after"):
        assert 3 + 1 in slept  # the CDK adds a second to every wait it is given


@pytest.mark.parametrize(
    "kind, params",
    [("status", {"status": 503}), ("reset", {}), ("reset_mid_body", {"after_rows": 4}), ("truncate", {"keep_fraction": 0.5}), ("invalid_json", {}), ("missing_results", {})],
)
def test_faults_on_rest_lists_and_catalogues_are_survived(simulator, config, clean_read, kind, params):
    clean = clean_read(["reports", "metadata_accounts", "accounts"])
    simulator.faults.add(kind, path="/report", times=1, **params)
    simulator.faults.add(kind, path="/metadata/schema/account", times=1, **params)
    output = run_read(config, ["reports", "metadata_accounts", "accounts"])
    assert duplicate_keys(output, "reports") == {}
    assert records_by_key(output, "reports") == records_by_key(clean, "reports")
    assert records_of(output, "metadata_accounts") == records_of(clean, "metadata_accounts")
    assert records_by_key(output, "accounts") == records_by_key(clean, "accounts")


def test_a_full_sync_with_a_tenth_of_requests_failing_in_mixed_ways_is_exact(simulator, config, clean_read):
    # Every entity is updated after this start; the event streams cover the simulator's 40 days of activity.
    config.update(page_size=25, start_date="2025-06-01")
    clean = clean_read(ALL_STREAMS)
    faults = simulator.faults.random(rate=0.1, seed=5)
    output = run_read(config, ALL_STREAMS)
    assert faults.faulted >= 5, "the test must actually exercise faults"
    for stream in ALL_STREAMS:
        # Every record as often as in a clean read: none lost, none repeated, none changed.
        assert as_multiset(records_of(output, stream)) == as_multiset(records_of(clean, stream)), stream
        assert records_of(clean, stream), stream


def as_multiset(records):
    return Counter(json.dumps(record, sort_keys=True) for record in records)


def test_a_stalled_body_shrinks_the_page_and_the_read_completes(simulator, config, clean_read):
    clean = clean_read(["pages"])
    simulator.clear_requests()
    simulator.faults.add("slow", source="pages", times=2, delay=2.0)
    output = run_read({**config, "page_size": 400, "request_timeout": 1}, ["pages"])
    assert records_by_key(output, "pages") == records_by_key(clean, "pages")
    assert output.is_in_logs("asking for 200 rows per request instead of 400")
    assert output.is_in_logs("asking for 100 rows per request instead of 200")
    page_sizes = [r["body"]["request"]["pipeline"][-1]["limit"] for r in simulator.requests if r["path"].endswith("aggregation")]
    assert page_sizes == [400, 200, 100]


def test_a_stream_that_keeps_failing_stops_at_its_last_checkpoint_and_others_still_sync(simulator, config, clean_read):
    clean = clean_read(["pages"])
    first = run_read(config, ["features"], SyncMode.incremental)
    checkpoint = states_of(first, "features")[1]
    simulator.faults.add("status", source="features", times=None, status=503)
    output = read(SourcePendo(), config, catalog(["features", "pages"], SyncMode.incremental), state=[checkpoint])
    [error] = [e.trace.error for e in output.errors if e.trace.error.message.startswith("Stream 'features'")]
    assert "Stream 'features' stopped reading every object, after id " in error.message
    assert checkpoint.stream.stream_state.read_all_after in error.message
    assert error.failure_type.value == "transient_error"
    assert states_of(output, "features") == [] or states_of(output, "features")[-1].stream.stream_state == checkpoint.stream.stream_state
    assert records_of(output, "features") == []
    assert records_by_key(output, "pages") == records_by_key(clean, "pages")


def test_backoff_waits_are_bounded(simulator, config, slept):
    simulator.faults.add("status", source="pages", times=3, status=429, retry_after=86400)
    run_read(config, ["pages"])
    assert slept and max(slept) <= 121


@pytest.mark.parametrize("kind, params", [("status", {"status": 502}), ("reset", {}), ("reset_mid_body", {"after_rows": 2}), ("truncate", {"keep_fraction": 0.5}), ("invalid_json", {}), ("missing_results", {})])
def test_faults_on_visitor_history_days_are_survived(simulator, config, clean_read, kind, params):
    config.update(start_date="2026-10-20")
    clean = clean_read(["visitor_history"])
    simulator.faults.add(kind, path="/history", times=3, **params)
    output = run_read(config, ["visitor_history"])
    assert as_multiset(records_of(output, "visitor_history")) == as_multiset(records_of(clean, "visitor_history"))
    assert sum(1 for r in simulator.requests if r["fault"]) == 3


# Every fault a request can meet, drawn by the simulator's seeded random mode.
MIX_KINDS = ["status", "reset", "reset_mid_body", "truncate", "invalid_json", "missing_results", "stall"]


def test_a_full_read_of_every_stream_with_three_in_ten_requests_failing_is_exact(monkeypatch):
    with PendoSimulator(seed=11, accounts=30, visitors=45, objects_per_app=3) as sim:
        monkeypatch.setattr("source_pendo.windows.now_ms", lambda: sim.clock_ms)
        # Pages of ten rows: ~270 requests to fault. A stalled body ends at the 1 s read timeout (~10 s in all).
        # One request at a time: the seed alone decides which request meets which fault.
        cfg = {**variant_config(sim, page_size=10), "request_timeout": 1, "max_concurrent_requests": 1}
        faults = sim.faults.random(rate=0.3, seed=14, kinds=MIX_KINDS)
        output = run_read(cfg, ALL_STREAMS)
        assert_every_row_once(sim, output, cfg)
        drawn = Counter(r["fault"] for r in sim.requests if r["fault"])
        assert set(drawn) == set(MIX_KINDS), drawn
        assert faults.faulted / faults.seen > 0.25, (faults.faulted, faults.seen)
        statuses = {r["status"] for r in sim.requests if r["fault"] == "status"}
        assert statuses == {429, 500, 502, 503, 504}


@pytest.mark.parametrize("retry_after", ["3600", "http-date"])
def test_a_huge_retry_after_is_capped_and_the_log_says_so(simulator, config, clean_read, slept, retry_after):
    clean = clean_read(["pages"])
    if retry_after == "http-date":
        retry_after = email.utils.formatdate(time.time() + 3600, usegmt=True)
    simulator.faults.add("status", source="pages", times=2, status=429, retry_after=retry_after)
    output = run_read(config, ["pages"])
    assert records_by_key(output, "pages") == records_by_key(clean, "pages")
    assert [wait for wait in slept if wait > 1] == [121, 121]  # the cap, plus the second the CDK adds to every wait
    said = [m.log.message for m in output.logs if "asked to wait" in m.log.message]
    assert len(said) == 2
    assert all(m.startswith("Stream 'pages': Pendo answered HTTP 429 and asked to wait 3") and m.endswith("waiting 120 s instead, the longest source-pendo waits at once.") for m in said)
