"""Reads through source-pendo's public entry point, as the platform runs it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional

from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read
from airbyte_cdk.test.state_builder import StateBuilder

from source_pendo.source import SourcePendo


def ms(iso: str) -> int:
    """Epoch milliseconds of an ISO-8601 UTC time ("2026-11-02" or "2026-11-02T10:00:00")."""
    return int(datetime.fromisoformat(iso).replace(tzinfo=timezone.utc).timestamp() * 1000)


def read_stream(
    stream: str,
    sync_mode: SyncMode,
    config: Mapping[str, Any],
    state: Optional[Mapping[str, Any]] = None,
    expecting_exception: bool = False,
) -> EntrypointOutput:
    catalog = CatalogBuilder().with_stream(stream, sync_mode).build()
    state_messages = StateBuilder().with_stream_state(stream, dict(state)).build() if state is not None else None
    return read(SourcePendo(), dict(config), catalog, state_messages, expecting_exception=expecting_exception)


def record_data(output: EntrypointOutput) -> List[Dict[str, Any]]:
    return [message.record.data for message in output.records]


def stream_states(output: EntrypointOutput) -> List[Dict[str, Any]]:
    return [message.state.stream.stream_state.__dict__ for message in output.state_messages]
