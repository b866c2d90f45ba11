"""Pendo down mid-sync for longer than the retries last: the sync ends with a transient error after a
bounded wait, its last STATE counts every window or page it finished, and the next sync (Pendo back)
resumes there: nothing lost, nothing repeated but the lookback."""

from collections import Counter

import pytest
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.entrypoint_wrapper import read

from source_pendo.http import MAX_BACKOFF_SECONDS, MAX_RETRIES
from source_pendo.outage import GAVE_UP_EARLY, OUTAGE_BACKOFF_CAP_SECONDS, OUTAGE_RETRIES
from source_pendo.reader import MAX_RETRIES_WITHOUT_PROGRESS
from source_pendo.records import ms_from_iso
from source_pendo.source import SourcePendo
from source_pendo.windows import BUCKET_MS

from .conftest import ALL_STREAMS, EVENT_STREAMS, catalog, primary_key, records_of, run_read, states_of

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


# A later stream's request, while the sync has found Pendo down: a few quick retries.
LATER_STREAM_BOUND_SECONDS = OUTAGE_RETRIES * (OUTAGE_BACKOFF_CAP_SECONDS + 1)
FULL_REFRESH_ONLY = {"reports", "segments", "metadata_accounts", "metadata_visitors"}


def test_a_later_stream_costs_six_seconds_at_most():
    assert LATER_STREAM_BOUND_SECONDS == 6


def stream_errors(output):
    return {e.trace.error.stream_descriptor.name: e.trace.error for e in output.errors if e.trace.error.stream_descriptor}


def last_states(output):
    return {state.stream.stream_descriptor.name: state for state in (m.state for m in output.state_messages)}


def requests_sent(simulator, config, streams):
    simulator.clear_requests()
    output = run_read(config, streams, SyncMode.incremental)
    return output, len(simulator.requests)


@pytest.mark.parametrize("down_from, workers", [("the middle of the first stream", 1), ("a quarter of the sync", 1), ("a quarter of the sync", 4)])
def test_an_outage_over_a_sync_of_every_stream_costs_the_full_retries_once_and_the_next_sync_loses_nothing(simulator, config, clock, slept, down_from, workers):
    config.update(max_concurrent_requests=workers, lookback_window=1, start_date="2026-10-01")
    clean, sent = requests_sent(simulator, config, ALL_STREAMS)
    if down_from == "the middle of the first stream":
        _, sent = requests_sent(simulator, config, ALL_STREAMS[:1])
        simulator.faults.add("status", status=503, times=None, after=sent // 2)
    else:
        simulator.faults.add("status", status=503, times=None, after=sent // 4)
    slept.clear()

    broken = read(SourcePendo(), config, catalog(ALL_STREAMS, SyncMode.incremental))

    failed = stream_errors(broken)
    assert len(failed) >= 5, list(failed)
    assert list(failed) == [name for name in ALL_STREAMS if name in failed]  # in the order the sync read them
    for name, error in failed.items():
        assert error.failure_type.value == "transient_error"
        assert error.message.startswith(f"Stream '{name}' stopped ") and "HTTP 503" in error.message, error.message
    waited = [name for name, error in failed.items() if f"It kept failing after {MAX_RETRIES} retries" in error.message]
    later = [name for name in failed if name not in waited]
    assert all(failed[name].message.endswith(GAVE_UP_EARLY) for name in later)
    # The stream that meets the outage first waits out the full retries. Read one after another, that
    # is the first to fail; read side by side, a stream further on may meet it first, and several
    # (as many as requests may be in flight) may each be waiting when the first gives up; a stream
    # started after that retries quickly.
    assert waited and len(waited) <= workers and later, (waited, later)
    if workers == 1:
        assert waited == [list(failed)[0]]
    if workers == 1:  # with more, requests sent ahead wait side by side: their recorded waits add up, the time does not
        assert sum(slept) <= OUTAGE_BOUND_SECONDS + len(later) * LATER_STREAM_BOUND_SECONDS, slept
    [final] = [e.trace.error for e in broken.errors if not e.trace.error.stream_descriptor]
    assert final.failure_type.value == "transient_error"
    assert f"Pendo was still unavailable for {', '.join(later)}" in final.message and "already waited out the full retries" in final.message

    simulator.faults.clear()
    resumed = run_read(config, ALL_STREAMS, SyncMode.incremental, state=list(last_states(broken).values()))
    checkpoints = last_states(broken)
    for stream in ALL_STREAMS:
        time_column = cursor_of(stream) if stream in EVENT_STREAMS else None
        want = timed_keys(records_of(clean, stream), stream, time_column)
        both = timed_keys(records_of(broken, stream) + records_of(resumed, stream), stream, time_column)
        assert not want - both, stream  # nothing lost
        if stream in FULL_REFRESH_ONLY:
            continue  # no cursor: each sync reads all of it again
        repeated = both - want
        assert all(count <= want[key] for key, count in repeated.items()), stream  # each at most once more
        if time_column is None:
            assert not repeated, stream  # keyset pages: nothing read twice
            continue
        # Repeated: only rows from the checkpoint's day on (its next day less the 1-day lookback), with a
        # day's slack; a stream stopped in its first window has no checkpoint and reads that window again.
        checkpoint = checkpoints.get(stream)
        reread_from = ms_from_iso(getattr(checkpoint.stream.stream_state, time_column) if checkpoint else config["start_date"])
        assert all(as_ms(key[0]) >= reread_from - DAY for key in repeated), (stream, repeated)


def cursor_of(stream):
    [instance] = [s for s in SourcePendo().streams({"api_key": "k", "start_date": "2025-01-01"}) if s.name == stream]
    return instance.cursor_field


def timed_keys(records, stream, time_column):
    """Records counted by primary key, with their time first where there is one."""
    key = [*([time_column] if time_column else []), *primary_key(stream)]
    return Counter(tuple(record.get(field) for field in key) for record in records)


def as_ms(value):
    return value if isinstance(value, (int, float)) else ms_from_iso(value)


def test_pendo_back_mid_sync_restores_the_full_retries_for_the_streams_after(simulator, config, slept):
    config.update(max_concurrent_requests=1)
    streams = ["accounts", "pages", "features", "guides"]
    clean = run_read(config, streams)
    # Down for accounts' full retries (its catalogue request and 8 retries) and pages' quick ones; then
    # back, with a blip on guides that only the full retries outlast.
    simulator.faults.add("status", status=503, times=MAX_RETRIES + 1 + OUTAGE_RETRIES + 1)
    simulator.faults.add("status", status=503, source="guides", times=OUTAGE_RETRIES + 2)

    output = read(SourcePendo(), config, catalog(streams))

    failed = stream_errors(output)
    assert list(failed) == ["accounts", "pages"]
    assert failed["pages"].message.endswith(GAVE_UP_EARLY)
    for stream in ("features", "guides"):
        assert keys(records_of(output, stream), stream) == keys(records_of(clean, stream), stream)


def test_a_single_blip_after_a_failed_stream_is_still_survived(simulator, config, slept):
    config.update(max_concurrent_requests=1)
    clean = run_read(config, ["pages"])
    simulator.faults.add("status", status=503, times=MAX_RETRIES + 1)  # accounts: every retry
    simulator.faults.add("status", status=502, source="pages", times=1)

    output = read(SourcePendo(), config, catalog(["accounts", "pages"]))

    assert list(stream_errors(output)) == ["accounts"]
    assert keys(records_of(output, "pages"), "pages") == keys(records_of(clean, "pages"), "pages")
    waits = [wait for wait in slept if wait > 0]  # the backoff library also "sleeps" 0 s around the CDK's waits
    assert len(waits) == MAX_RETRIES + 1 and waits[-1] <= OUTAGE_BACKOFF_CAP_SECONDS + 1, waits


def test_each_retry_is_logged_as_what_failed_before_the_cdks_own_line(simulator, config, slept):
    simulator.faults.add("status", status=503, source="pages", times=2)
    output = run_read(config, ["pages"])
    lines = [m.log.message for m in output.logs]
    ours = [line for line in lines if line.startswith("Stream 'pages': Pendo at ")]
    assert [line.split(" (retry ")[1] for line in ours] == ["1 of 8).", "2 of 8)."]
    assert all("answered HTTP 503" in line and " Retrying in " in line for line in ours)
    for index, line in enumerate(lines):
        if "Rate limit exceeded" in line:
            assert lines[index - 1] in ours, lines[index - 1: index + 1]


def test_answers_that_keep_breaking_off_cost_the_full_retries_once_too(simulator, config, slept):
    config.update(max_concurrent_requests=1)
    streams = ["pages", "features", "guides"]
    simulator.faults.add("reset_mid_body", times=None, after_rows=0)

    output = read(SourcePendo(), config, catalog(streams))

    failed = stream_errors(output)
    assert list(failed) == streams
    assert all(error.failure_type.value == "transient_error" and "kept failing" in error.message for error in failed.values())
    assert failed["pages"].message.endswith("lower 'Page size' or raise 'Request timeout'.")
    assert failed["features"].message.endswith(GAVE_UP_EARLY) and failed["guides"].message.endswith(GAVE_UP_EARLY)
    waits = [wait for wait in slept if wait > 0]
    assert len(waits) == MAX_RETRIES_WITHOUT_PROGRESS + 2 * OUTAGE_RETRIES, waits
    assert all(wait <= OUTAGE_BACKOFF_CAP_SECONDS for wait in waits[MAX_RETRIES_WITHOUT_PROGRESS:]), waits
