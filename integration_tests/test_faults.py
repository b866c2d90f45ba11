"""Pendo misbehaving: every fault survived with exactly the data set, or a failure that says where."""

from collections import Counter

import pytest
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.entrypoint_wrapper import read

from source_pendo.source import SourcePendo

from .conftest import ALL_STREAMS, catalog, records_of, run_read, states_of

PRIMARY_KEYS = {"accounts": "account_id", "visitors": "visitor_id"}
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


def by_key(output, stream):
    key = PRIMARY_KEYS.get(stream, "id")
    return {record[key]: record for record in records_of(output, stream)} if key else None


def duplicates(output, stream):
    key = PRIMARY_KEYS.get(stream, "id")
    counts = Counter(record[key] for record in records_of(output, stream))
    return {k: n for k, n in counts.items() if n > 1}


@pytest.fixture
def clean_read(config):
    """What a fault-free read of every stream gives: the data set as records."""
    return run_read(config, ALL_STREAMS)


@pytest.mark.parametrize("kind, params", AGGREGATION_FAULTS, ids=[f"{k}-{p}" for k, p in AGGREGATION_FAULTS])
def test_each_fault_on_a_page_is_survived_without_loss_or_duplicates(simulator, config, clean_read, slept, kind, params):
    simulator.faults.add(kind, source="visitors", times=2, **params)
    output = run_read(config, ["visitors"])
    assert duplicates(output, "visitors") == {}
    assert by_key(output, "visitors") == by_key(clean_read, "visitors")
    assert sum(1 for r in simulator.requests if r["fault"]) == 2
    if params.get("retry_after"):
        assert 3 + 1 in slept  # the CDK adds a second to every wait it is given


@pytest.mark.parametrize("kind, params", [("status", {"status": 503}), ("reset", {}), ("reset_mid_body", {"after_rows": 4}), ("truncate", {"keep_fraction": 0.5})])
def test_faults_on_rest_lists_and_catalogues_are_survived(simulator, config, clean_read, kind, params):
    simulator.faults.add(kind, path="/report", times=1, **params)
    simulator.faults.add(kind, path="/metadata/schema/account", times=1, **params)
    output = run_read(config, ["reports", "metadata_accounts", "accounts"])
    assert duplicates(output, "reports") == {}
    assert by_key(output, "reports") == by_key(clean_read, "reports")
    assert records_of(output, "metadata_accounts") == records_of(clean_read, "metadata_accounts")
    assert by_key(output, "accounts") == by_key(clean_read, "accounts")


def test_a_full_sync_with_a_tenth_of_requests_failing_in_mixed_ways_is_exact(simulator, config, clean_read):
    faults = simulator.faults.random(rate=0.1, seed=5)
    output = run_read(config, ALL_STREAMS)
    assert faults.faulted >= 5, "the test must actually exercise faults"
    for stream in ALL_STREAMS:
        if stream.startswith("metadata_"):
            assert records_of(output, stream) == records_of(clean_read, stream)
            continue
        assert duplicates(output, stream) == {}, stream
        assert by_key(output, stream) == by_key(clean_read, stream), stream


def test_a_stalled_body_shrinks_the_page_and_the_read_completes(simulator, config, clean_read):
    simulator.clear_requests()
    simulator.faults.add("slow", source="pages", times=2, delay=2.0)
    output = run_read({**config, "page_size": 400, "request_timeout": 1}, ["pages"])
    assert by_key(output, "pages") == by_key(clean_read, "pages")
    assert output.is_in_logs("asking for 200 rows per request instead of 400")
    assert output.is_in_logs("asking for 100 rows per request instead of 200")
    page_sizes = [r["body"]["request"]["pipeline"][-1]["limit"] for r in simulator.requests if r["path"].endswith("aggregation")]
    assert page_sizes == [400, 200, 100]


def test_a_stream_that_keeps_failing_stops_at_its_last_checkpoint_and_others_still_sync(simulator, config, clean_read):
    first = run_read(config, ["features"], SyncMode.incremental)
    checkpoint = states_of(first, "features")[1]
    simulator.faults.add("status", source="features", times=None, status=503)
    output = read(SourcePendo(), config, catalog(["features", "pages"], SyncMode.incremental), state=[checkpoint])
    [error] = [e.trace.error for e in output.errors if e.trace.error.message.startswith("Stream 'features'")]
    assert "Stream 'features' stopped after {'last_updated_at': " in error.message
    assert checkpoint.stream.stream_state.last_updated_at in error.message
    assert error.failure_type.value == "transient_error"
    assert states_of(output, "features") == [] or states_of(output, "features")[-1].stream.stream_state == checkpoint.stream.stream_state
    assert records_of(output, "features") == []
    assert by_key(output, "pages") == by_key(clean_read, "pages")


def test_backoff_waits_are_bounded(simulator, config, slept):
    simulator.faults.add("status", source="pages", times=3, status=429, retry_after=86400)
    run_read(config, ["pages"])
    assert slept and max(slept) <= 121
