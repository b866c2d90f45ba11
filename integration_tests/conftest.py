"""Fixtures for reads of source-pendo against its Pendo simulator, over real sockets."""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, Iterable, List, Optional

import pytest
from airbyte_cdk.models import AirbyteStateMessage, SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read

from integration_tests.pendo_simulator import PendoSimulator
from integration_tests.simulator_client import PendoClient
from source_pendo.records import snake_case
from source_pendo.row_key import ROW_KEY
from source_pendo.source import SourcePendo
from source_pendo.streams.history import IDENTITY_COLUMNS

ENTITY_STREAMS = ["accounts", "visitors", "pages", "features", "guides", "track_types"]
EVENT_STREAMS = ["events", "feature_events", "page_events", "track_events", "guide_events", "poll_events", "visitor_history"]
ALL_STREAMS = ENTITY_STREAMS + ["reports", "segments", "metadata_accounts", "metadata_visitors"] + EVENT_STREAMS


@pytest.fixture(autouse=True)
def slept(monkeypatch):
    """Backoff waits are recorded instead of slept; the simulator itself waits on events, not sleep."""
    waits = []
    monkeypatch.setattr("time.sleep", waits.append)
    return waits


@pytest.fixture(scope="module")
def sim():
    """One simulator for a module of tests of the simulator itself (default seed and sizes)."""
    with PendoSimulator() as simulator:
        yield simulator


@pytest.fixture
def api(sim):
    """A client of the module's simulator, with its faults and request log cleared around the test."""
    sim.faults.clear()
    sim.clear_requests()
    client = PendoClient(sim)
    yield client
    client.session.close()
    sim.faults.clear()


@pytest.fixture
def simulator():
    sim = PendoSimulator(seed=11).start()
    yield sim
    sim.stop()


@pytest.fixture
def config(simulator) -> Dict[str, Any]:
    # The simulator answers in a millisecond: a production rate budget would only slow the tests.
    return {"api_key": simulator.api_key, "start_date": "2025-01-01", "base_url": simulator.url, "page_size": 7, "requests_per_second": 1000}


@pytest.fixture
def clock(simulator, monkeypatch):
    """The connector's "now" is the simulator's clock."""
    monkeypatch.setattr("source_pendo.windows.now_ms", lambda: simulator.clock_ms)
    return simulator


def primary_key(stream: str, period: str = "day") -> List[str]:
    """The stream's primary key columns, as the connector declares them."""
    [instance] = [s for s in SourcePendo().streams({"api_key": "k", "start_date": "2025-01-01", "period": period}) if s.name == stream]
    key = instance.primary_key
    return [] if key is None else [key] if isinstance(key, str) else [field for [field] in key]


def identity_columns(stream: str, period: str = "day") -> List[str]:
    """The columns that tell the stream's rows apart: its primary key, or for a stream keyed by
    `row_key` the record columns that key is a digest of."""
    [instance] = [s for s in SourcePendo().streams({"api_key": "k", "start_date": "2025-01-01", "period": period}) if s.name == stream]
    if primary_key(stream, period) != [ROW_KEY]:
        return primary_key(stream, period)
    if stream == "visitor_history":
        return list(IDENTITY_COLUMNS)
    return [snake_case(column.format(period=period)) for column in instance.key_columns]


def records_by_key(output: EntrypointOutput, stream: str, period: str = "day") -> Dict[tuple, Dict[str, Any]]:
    key = primary_key(stream, period)
    return {tuple(record.get(field) for field in key): record for record in records_of(output, stream)}


def duplicate_keys(output: EntrypointOutput, stream: str, period: str = "day") -> Dict[tuple, int]:
    key = primary_key(stream, period)
    counts = Counter(tuple(record.get(field) for field in key) for record in records_of(output, stream))
    return {k: n for k, n in counts.items() if n > 1}


def catalog(streams: Iterable[str], sync_mode: SyncMode = SyncMode.full_refresh):
    builder = CatalogBuilder()
    for name in streams:
        builder.with_stream(name, sync_mode)
    return builder.build()


def run_read(config, streams, sync_mode=SyncMode.full_refresh, state: Optional[List[AirbyteStateMessage]] = None) -> EntrypointOutput:
    output = read(SourcePendo(), config, catalog(streams, sync_mode), state=state)
    assert not output.errors, output.get_formatted_error_message()
    return output


def records_of(output: EntrypointOutput, stream: str) -> List[Dict[str, Any]]:
    return [m.record.data for m in output.records if m.record.stream == stream]


def states_of(output: EntrypointOutput, stream: str) -> List[AirbyteStateMessage]:
    return [m.state for m in output.state_messages if m.state.stream.stream_descriptor.name == stream]
