"""Pendo down mid-sync for longer than the retries last: the sync ends with a transient error after a
bounded wait, its last STATE counts every window or page it finished, and the next sync (Pendo back)
resumes there: nothing lost, nothing repeated but the lookback."""

from collections import Counter

import pytest
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.entrypoint_wrapper import read

from source_pendo.http import MAX_BACKOFF_SECONDS, MAX_RETRIES
from source_pendo.records import ms_from_iso
from source_pendo.source import SourcePendo
from source_pendo.windows import BUCKET_MS

from .conftest import catalog, primary_key, records_of, run_read, states_of

# Retries of one request: 2 s doubling, capped at 120 s, each with the second the CDK adds.
OUTAGE_BOUND_SECONDS = sum(min(MAX_BACKOFF_SECONDS, 2.0 * 2**attempt) + 1 for attempt in range(MAX_RETRIES))
DAY = BUCKET_MS["day"]


def test_the_documented_bound_is_six_minutes_and_a_quarter():
    assert OUTAGE_BOUND_SECONDS == 374


TIME_COLUMN = {"events": "day", "visitor_history": "ts"}


def keys(records, stream):
    """Records counted by primary key (with the time column first, where the stream has one)."""
    key = [*([TIME_COLUMN[stream]] if stream in TIME_COLUMN else []), *primary_key(stream)]
    return Counter(tuple(record.get(field) for field in key) for record in records)


def sync_through_an_outage(simulator, config, slept, stream, fault, **where):
    """A sync whose requests fail from some point on, forever; then one after Pendo is back."""
    simulator.faults.add(fault, times=None, **({"status": 503} if fault == "status" else {}), **where)
    broken = read(SourcePendo(), config, catalog([stream], SyncMode.incremental))
    [error] = [e.trace.error for e in broken.errors if e.trace.error.message.startswith(f"Stream '{stream}'")]
    assert error.failure_type.value == "transient_error"
    waits = [wait for wait in slept if wait >= 1]  # backoff waits; the CDK adds a second to each
    assert len(waits) == MAX_RETRIES and sum(waits) <= OUTAGE_BOUND_SECONDS, waits
    checkpoint = states_of(broken, stream)[-1]
    simulator.faults.clear()
    resumed = run_read(config, [stream], SyncMode.incremental, state=[checkpoint])
    return broken, checkpoint, resumed, error


def test_an_entity_stream_resumes_after_the_last_page_it_finished(simulator, config, clock, slept):
    config.update(max_concurrent_requests=1)
    clean = run_read(config, ["accounts"])
    broken, checkpoint, resumed, error = sync_through_an_outage(simulator, config, slept, "accounts", "status", source="accounts", after=3)
    assert "HTTP 503" in error.message and f"{MAX_RETRIES} retries" in error.message
    assert checkpoint.stream.stream_state.read_all_after == records_of(broken, "accounts")[-1]["account_id"]
    both = records_of(broken, "accounts") + records_of(resumed, "accounts")
    assert keys(both, "accounts") == keys(records_of(clean, "accounts"), "accounts")  # each once


@pytest.mark.parametrize("stream, fault, where", [("events", "status", {"source": "events"}), ("visitor_history", "reset", {"path": "/history"})])
def test_an_event_stream_resumes_after_the_last_window_it_finished(simulator, config, clock, slept, stream, fault, where):
    config.update(max_concurrent_requests=1, lookback_window=1, start_date="2026-10-01")
    simulator.clear_requests()
    clean = keys(records_of(run_read(config, [stream], SyncMode.incremental), stream), stream)
    # Pendo goes down halfway through the requests the sync sends.
    halfway = sum(1 for r in simulator.requests if where.get("path", "aggregation") in r["path"]) // 2
    broken, checkpoint, resumed, _ = sync_through_an_outage(simulator, config, slept, stream, fault, after=halfway, **where)
    assert records_of(broken, stream) and states_of(broken, stream) and records_of(resumed, stream)
    both = keys(records_of(broken, stream) + records_of(resumed, stream), stream)
    assert not clean - both  # nothing lost
    # Repeated: only rows of the day the checkpoint's lookback (1 day) reads again, each once more.
    reread_from = ms_from_iso(getattr(checkpoint.stream.stream_state, TIME_COLUMN[stream]))  # the next day, less the 1-day lookback
    time_at = 0
    repeated = both - clean
    assert all(count <= clean[key] for key, count in repeated.items())
    assert all(ms_from_iso(key[time_at]) >= reread_from - DAY for key in repeated), repeated  # a day's slack: Pendo's days are local
