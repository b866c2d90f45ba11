"""The CDK floor: the least an airbyte-cdk source can do per record.

One full-refresh stream that yields ``rows`` already-parsed records through
``airbyte_cdk.entrypoint.launch``: no HTTP, no parsing, no shaping, no cursor. What it costs is the
CDK's message path alone (record to AirbyteMessage, serialisation, print).

    python bench/cdk_floor.py read --config floor_config.json --catalog floor_catalog.json

The config holds ``stream`` (the name), ``rows`` and where the records come from:

- ``rows_path``: an Airbyte output file (source-pendo's own): the data of its RECORD lines, each a
  distinct object as a real source makes them, all parsed into memory *before* the clock starts
  (repeated if there are fewer than ``rows``). This is the floor the benchmark judges by.
- ``sample``: one record, yielded ``rows`` times as shallow copies (every copy shares the same
  value objects, which the CDK then serialises hot from the CPU cache: cheaper than real records).

``schema`` (the stream's JSON schema; default any object) is optional. The time spent loading
``rows_path`` is written to stderr as ``floor-preload-seconds <s>`` so the benchmark can take it
off the wall time. ``write_files`` below makes the config and catalog.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Iterable, List, Mapping, Optional, Tuple

import orjson
from airbyte_cdk.entrypoint import launch
from airbyte_cdk.models import ConnectorSpecification, SyncMode
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream

ANY_OBJECT = {"type": "object", "additionalProperties": True}
PRELOAD_LINE = "floor-preload-seconds"
_RECORD_PREFIX = b'{"type":"RECORD"'


def load_records(path: str, rows: int) -> List[dict]:
    records: List[dict] = []
    with open(path, "rb") as handle:
        for line in handle:
            if line.startswith(_RECORD_PREFIX) and len(records) < rows:
                records.append(orjson.loads(line)["record"]["data"])
    while records and len(records) < rows:
        records.extend(orjson.loads(orjson.dumps(record)) for record in records[: rows - len(records)])
    return records


class FloorStream(Stream):
    primary_key = None

    def __init__(self, name: str, rows: int, schema: Mapping[str, Any], records: Optional[List[dict]], sample: Optional[Mapping[str, Any]]):
        self._name = name
        self._rows = rows
        self._schema = schema
        self._records = records
        self._sample = dict(sample or {})

    @property
    def name(self) -> str:
        return self._name

    def get_json_schema(self) -> Mapping[str, Any]:
        return self._schema

    def read_records(self, sync_mode: SyncMode, cursor_field=None, stream_slice=None, stream_state=None) -> Iterable[Mapping[str, Any]]:
        if self._records is not None:
            records, self._records = self._records, None
            records.reverse()
            while records:
                yield records.pop()  # handed over, as a real source's record is: freed once written
            return
        sample = self._sample
        for _ in range(self._rows):
            yield dict(sample)


class FloorSource(AbstractSource):
    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return ConnectorSpecification(connectionSpecification={"type": "object", "additionalProperties": True})

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Optional[Any]]:
        return True, None

    def streams(self, config: Mapping[str, Any]) -> List[Stream]:
        rows = int(config["rows"])
        records = None
        if config.get("rows_path"):
            started = time.perf_counter()
            records = load_records(config["rows_path"], rows)
            print(f"{PRELOAD_LINE} {time.perf_counter() - started:.3f}", file=sys.stderr, flush=True)
        return [FloorStream(config["stream"], rows, config.get("schema") or ANY_OBJECT, records, config.get("sample"))]


def write_files(config_path: str, catalog_path: str, stream: str, rows: int, *, rows_path: Optional[str] = None,
                sample: Optional[Mapping[str, Any]] = None, schema: Optional[Mapping[str, Any]] = None) -> None:
    """The config and configured catalog of a floor read (records from `rows_path`, else `sample`)."""
    with open(config_path, "w", encoding="utf-8") as handle:
        json.dump({"stream": stream, "rows": rows, "rows_path": rows_path, "sample": sample, "schema": schema or ANY_OBJECT}, handle)
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
