"""The CDK floor: the least an airbyte-cdk source can do per record.

One full-refresh stream that yields ``rows`` copies of one already-parsed record (``sample``, e.g.
the first record source-pendo emitted) through ``airbyte_cdk.entrypoint.launch``: no HTTP, no
parsing, no shaping, no cursor. What it costs is the CDK's message path alone (record to
AirbyteMessage, serialisation, print).

    python bench/cdk_floor.py read --config floor_config.json --catalog floor_catalog.json

The config holds ``stream`` (the name), ``rows``, ``sample`` (the record data) and optionally
``schema`` (the stream's JSON schema; default: any object). ``write_files`` below makes both files.
"""
from __future__ import annotations

import json
import logging
import sys
from typing import Any, Iterable, List, Mapping, Optional, Tuple

from airbyte_cdk.entrypoint import launch
from airbyte_cdk.models import ConnectorSpecification, SyncMode
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream

ANY_OBJECT = {"type": "object", "additionalProperties": True}


class FloorStream(Stream):
    primary_key = None

    def __init__(self, name: str, sample: Mapping[str, Any], rows: int, schema: Mapping[str, Any]):
        self._name = name
        self._sample = dict(sample)
        self._rows = rows
        self._schema = schema

    @property
    def name(self) -> str:
        return self._name

    def get_json_schema(self) -> Mapping[str, Any]:
        return self._schema

    def read_records(self, sync_mode: SyncMode, cursor_field=None, stream_slice=None, stream_state=None) -> Iterable[Mapping[str, Any]]:
        sample = self._sample
        for _ in range(self._rows):
            yield dict(sample)  # a fresh record each time, as a real source makes


class FloorSource(AbstractSource):
    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return ConnectorSpecification(connectionSpecification={"type": "object", "additionalProperties": True})

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Optional[Any]]:
        return True, None

    def streams(self, config: Mapping[str, Any]) -> List[Stream]:
        return [FloorStream(config["stream"], config["sample"], int(config["rows"]), config.get("schema") or ANY_OBJECT)]


def write_files(config_path: str, catalog_path: str, stream: str, rows: int, sample: Mapping[str, Any], schema: Optional[Mapping[str, Any]] = None) -> None:
    """The config and configured catalog of a floor read."""
    with open(config_path, "w", encoding="utf-8") as handle:
        json.dump({"stream": stream, "rows": rows, "sample": sample, "schema": schema or ANY_OBJECT}, handle)
    catalog = {
        "streams": [
            {
                "stream": {"name": stream, "json_schema": schema or ANY_OBJECT, "supported_sync_modes": ["full_refresh"]},
                "sync_mode": "full_refresh",
                "destination_sync_mode": "overwrite",
            }
        ]
    }
    with open(catalog_path, "w", encoding="utf-8") as handle:
        json.dump(catalog, handle)


if __name__ == "__main__":
    launch(FloorSource(), sys.argv[1:])
