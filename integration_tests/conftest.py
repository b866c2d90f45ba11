"""Fixtures for reads of source-pendo against its Pendo simulator, over real sockets."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

import pytest
from airbyte_cdk.models import AirbyteStateMessage, SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read

from integration_tests.pendo_simulator import PendoSimulator
from source_pendo.source import SourcePendo

ENTITY_STREAMS = ["accounts", "visitors", "pages", "features", "guides", "track_types"]
ALL_STREAMS = ENTITY_STREAMS + ["reports", "segments", "metadata_accounts", "metadata_visitors"]


@pytest.fixture(autouse=True)
def slept(monkeypatch):
    """Backoff waits are recorded instead of slept; the simulator itself waits on events, not sleep."""
    waits = []
    monkeypatch.setattr("time.sleep", waits.append)
    return waits


@pytest.fixture
def simulator():
    sim = PendoSimulator(seed=11).start()
    yield sim
    sim.stop()


@pytest.fixture
def config(simulator) -> Dict[str, Any]:
    return {"api_key": simulator.api_key, "start_date": "2025-01-01", "base_url": simulator.url, "page_size": 7}


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
