"""The two CDK floors of the benchmark (bench/cdk_floor.py, bench/concurrent_floor.py) emit the same
records, so that their speeds compare the message paths alone."""

import sys
from pathlib import Path

import pytest
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import read

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import cdk_floor  # noqa: E402
import concurrent_floor  # noqa: E402

SAMPLE = {"day": "2026-11-01T00:00:00.000Z", "visitor_id": "v1", "num_events": 3, "parameters": {"utm_source": "x"}}


@pytest.fixture
def config():
    return {"stream": "page_events", "rows": 5, "sample": SAMPLE}


def records(source, config):
    output = read(source, config, CatalogBuilder().with_stream("page_events", SyncMode.full_refresh).build())
    assert not output.errors
    return [(message.record.stream, message.record.data) for message in output.records]


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_the_concurrent_floor_emits_what_the_sequential_floor_does(config, concurrency):
    sequential = records(cdk_floor.FloorSource(), config)
    assert sequential == [("page_events", SAMPLE)] * 5
    assert records(concurrent_floor.ConcurrentFloorSource(), {**config, "concurrency": concurrency}) == sequential
