"""A sync reads the next streams while it writes the current one's messages, within one limit of
requests in flight for the whole sync; Airbyte still gets each stream's messages together, in the
catalogue's order."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer, SyncMode

from .conftest import ALL_STREAMS, catalog, run_read

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


def test_each_streams_messages_come_together_in_the_catalogues_order_with_the_records_of_one_at_a_time(config, tmp_path):
    """The real process, whose one stdout holds log lines and messages in the order they were written."""
    config = {**config, "start_date": "2026-10-01"}  # the simulator's data: a process has its own clock
    side_by_side = read_process({**config, "max_concurrent_requests": 4}, tmp_path)

    def stream_of(message):
        if message["type"] == "RECORD":
            return message["record"]["stream"]
        if message["type"] == "STATE":
            return message["state"]["stream"]["stream_descriptor"]["name"]
        # The CDK's lines about a stream come with its messages, though it was read ahead.
        cdk_line = re.fullmatch(r"Read \d+ records from (\w+) stream|Marking stream (\w+) as \w+", message["log"]["message"]) if message["type"] == "LOG" else None
        return cdk_line and (cdk_line.group(1) or cdk_line.group(2))

    told = [name for name in map(stream_of, side_by_side) if name]
    assert [name for name, _ in itertools.groupby(told)] == ALL_STREAMS
    one_at_a_time = read_process({**config, "max_concurrent_requests": 1}, tmp_path)
    for stream in ALL_STREAMS:
        assert rows_of(side_by_side, stream) == rows_of(one_at_a_time, stream), stream


def read_process(config, tmp_path):
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog(ALL_STREAMS, SyncMode.incremental))))
    executable = Path(sys.executable).parent / "source-pendo"
    done = subprocess.run([str(executable), "read", "--config", str(config_path), "--catalog", str(catalog_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def rows_of(messages, stream):
    return sorted(json.dumps(m["record"]["data"], sort_keys=True) for m in messages if m["type"] == "RECORD" and m["record"]["stream"] == stream)
