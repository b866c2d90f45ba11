"""A sync reads the next streams while it writes the current one's messages, within one limit of
requests in flight for the whole sync; Airbyte still gets each stream's messages together, in the
catalogue's order."""

from __future__ import annotations

import itertools
import json

import pytest
from airbyte_cdk.models import SyncMode, Type

from .conftest import ALL_STREAMS, records_of, run_read

# Streams of one REST request each: the first requests of the sync are theirs.
ONE_REQUEST_STREAMS = ["pages", "features", "guides", "track_types"]
EVERY_REQUEST = "/api/v1/"


def test_the_next_streams_are_read_while_the_first_is(simulator, config):
    gate = simulator.hold_together(EVERY_REQUEST, parties=3, timeout=5)
    run_read({**config, "max_concurrent_requests": 3}, ONE_REQUEST_STREAMS)
    assert gate.opened, "three streams' requests were never under way at once"


def test_one_request_at_a_time_reads_one_stream_after_another(simulator, config):
    """The gate above proves something: a sync of one request at a time never opens it."""
    gate = simulator.hold_together(EVERY_REQUEST, parties=2, timeout=0.5)
    run_read({**config, "max_concurrent_requests": 1}, ONE_REQUEST_STREAMS)
    assert not gate.opened


@pytest.mark.parametrize("limit", [2, 4])
def test_streams_side_by_side_keep_to_the_limit_of_requests_in_flight(clock, config, limit):
    # While the first `limit` requests of the sync are held, no other is sent: all 17 streams and
    # their requests sent ahead share the limit.
    gate = clock.hold_together(EVERY_REQUEST, parties=limit + 1, timeout=1)
    run_read({**config, "max_concurrent_requests": limit}, ALL_STREAMS, SyncMode.incremental)
    assert not gate.opened, f"more than {limit} requests were under way at once"


def test_each_streams_messages_come_together_in_the_catalogues_order_with_the_records_of_one_at_a_time(clock, config):
    side_by_side = run_read({**config, "max_concurrent_requests": 4}, ALL_STREAMS, SyncMode.incremental)
    one_at_a_time = run_read({**config, "max_concurrent_requests": 1}, ALL_STREAMS, SyncMode.incremental)

    def stream_of(message):
        if message.type == Type.RECORD:
            return message.record.stream
        if message.type == Type.STATE:
            return message.state.stream.stream_descriptor.name
        return None

    told = [name for name in map(stream_of, side_by_side.records_and_state_messages) if name]
    in_order = [name for name, _ in itertools.groupby(told)]
    assert in_order == [name for name in ALL_STREAMS if name in told]
    for stream in ALL_STREAMS:
        assert sorted_rows(records_of(side_by_side, stream)) == sorted_rows(records_of(one_at_a_time, stream)), stream


def sorted_rows(records):
    return sorted(json.dumps(record, sort_keys=True) for record in records)
