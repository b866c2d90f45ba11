"""A full read of all 17 streams (day period) against the simulator: in every stream that has a
primary key, no key column is null in any record and no two records share a key (a destination's
MERGE never matches a null, and two rows on one key collapse into one); every record matches its
stream's discovered schema."""

from collections import Counter

import jsonschema
import pytest

from source_pendo.source import SourcePendo

from .conftest import ALL_STREAMS, primary_key, records_of, run_read


@pytest.fixture(scope="module")
def full_read(sim):
    """Every stream read whole once, with the connector's clock at the simulator's."""
    config = {"api_key": sim.api_key, "start_date": "2025-01-01", "base_url": sim.url, "page_size": 50, "requests_per_second": 1000}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("source_pendo.windows.now_ms", lambda: sim.clock_ms)
        output = run_read(config, ALL_STREAMS)
        schemas = {stream.name: stream.get_json_schema() for stream in SourcePendo().streams(config)}
    return output, schemas


@pytest.mark.parametrize("stream", ALL_STREAMS)
def test_no_primary_key_column_is_null_and_keys_are_unique(full_read, stream):
    output, _ = full_read
    records = records_of(output, stream)
    assert records, f"{stream}: no records to check"
    key = primary_key(stream)
    if not key:
        # The metadata catalogues: one record per read, replaced whole, nothing to deduplicate.
        assert len(records) == 1
        return
    nulls = [record for record in records if any(record.get(column) is None for column in key)]
    assert not nulls, f"{stream}: {len(nulls)} records with a null key column, e.g. {nulls[0]}"
    shared = {k: n for k, n in Counter(tuple(record[column] for column in key) for record in records).items() if n > 1}
    assert not shared, f"{stream}: {len(shared)} keys shared by several records, e.g. {next(iter(shared))}"


@pytest.mark.parametrize("stream", ALL_STREAMS)
def test_every_record_matches_its_stream_s_schema(full_read, stream):
    output, schemas = full_read
    validator = jsonschema.Draft7Validator(schemas[stream])
    invalid = [(record, error.message) for record in records_of(output, stream) for error in validator.iter_errors(record)]
    assert not invalid, f"{stream}: {len(invalid)} schema errors, e.g. {invalid[0][1]} in {invalid[0][0]}"
