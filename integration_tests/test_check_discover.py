"""`check` and `discover` against the simulator."""

from airbyte_cdk.models import Status
from airbyte_cdk.test.entrypoint_wrapper import discover

from source_pendo.source import SourcePendo

from .conftest import ALL_STREAMS


def key_of_region(simulator, region):
    return next(key for key, key_region in simulator.keys.items() if key_region == region)


def check(config):
    import logging

    return SourcePendo().check(logging.getLogger("test"), config)


def test_check_passes_with_the_simulators_key(config):
    assert check(config).status == Status.SUCCEEDED


def test_check_explains_a_wrong_key(config):
    result = check({**config, "api_key": "no-such-key"})
    assert result.status == Status.FAILED and "Integration Keys" in result.message


def test_check_names_the_region_of_a_key_from_another_region(simulator, config):
    result = check({**config, "api_key": key_of_region(simulator, "eu")})
    assert result.status == Status.FAILED and "set 'Region' to EU" in result.message


def test_check_names_unknown_app_ids(config):
    result = check({**config, "app_ids": [424242]})
    assert result.status == Status.FAILED and "424242" in result.message


def test_check_reports_an_unreachable_host(config):
    result = check({**config, "base_url": "http://127.0.0.1:9/api/v1/"})
    assert result.status == Status.FAILED and "Could not connect" in result.message


def test_discover_lists_every_stream_with_custom_fields_typed(simulator, config):
    output = discover(SourcePendo(), config)
    streams = {stream.name: stream for stream in output.catalog.catalog.streams}
    assert sorted(streams) == sorted(ALL_STREAMS)
    custom = streams["accounts"].json_schema["properties"]["metadata_custom"]["properties"]
    for field, descriptor in simulator.dataset.account_schema["custom"].items():
        pendo_type = descriptor["Type"]
        typed = custom[field]
        if pendo_type == "time":
            assert typed["format"] == "date-time"
        elif pendo_type == "string":
            assert typed["type"] == ["null", "string"]
        elif pendo_type in ("boolean", "integer"):
            assert typed["type"] == ["null", pendo_type, "string"]
        elif pendo_type == "float":
            assert typed["type"] == ["null", "number", "string"]
        elif pendo_type == "list":
            assert typed["type"] == ["null", "array", "string"] and typed["items"]["type"] == ["null", descriptor["ElementType"]]
        else:
            assert set(typed["type"]) == {"null", "string", "number", "integer", "boolean", "object", "array"}
    assert streams["accounts"].source_defined_primary_key == [["account_id"]]
    assert streams["pages"].default_cursor_field == ["last_updated_at"]
