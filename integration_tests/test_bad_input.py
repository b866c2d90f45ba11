"""Every bad input the README lists, through the real entrypoint: a config_error that names the fix,
from check, discover and read alike, and never the key."""

import json
from pathlib import Path

import pytest
from airbyte_cdk.models import AirbyteMessageSerializer, ConfiguredAirbyteCatalogSerializer
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_pendo.run import run

from .conftest import catalog

SECRET_LOOKING_KEY = "CANARY-sk-7f3e9b2d-do-not-log"


@pytest.fixture
def cli(tmp_path, capsys):
    """Runs `source-pendo ARGS` in-process; returns its messages. An exception that escapes the
    entrypoint becomes the TRACE message the connector's process would print for it."""

    def run_cli(command, config, catalog_json=None, state=None):
        """`config`: the settings, or the path of a config file as it is."""
        if isinstance(config, Path):
            config_path = config
        else:
            config_path = tmp_path / "config.json"
            config_path.write_text(json.dumps(config))
        args = [command, "--config", str(config_path)]
        if catalog_json is not None:
            (tmp_path / "catalog.json").write_text(catalog_json)
            args += ["--catalog", str(tmp_path / "catalog.json")]
        if state is not None:
            (tmp_path / "state.json").write_text(state)
            args += ["--state", str(tmp_path / "state.json")]
        try:
            run(args)
        except Exception as error:
            traced = error if isinstance(error, AirbyteTracedException) else AirbyteTracedException.from_exception(error)
            print(json.dumps(AirbyteMessageSerializer.dump(traced.as_airbyte_message())))
        captured = capsys.readouterr()
        assert SECRET_LOOKING_KEY not in captured.out + captured.err
        return [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]

    return run_cli


def check_failure(messages):
    [status] = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert status["status"] == "FAILED"
    return status["message"]


def config_errors(messages):
    errors = [m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert errors, "expected an error"
    assert all(error["failure_type"] == "config_error" for error in errors), errors
    return " ".join(error["message"] for error in errors)


def full_catalog(streams=("pages",)):
    return json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog(streams)))


BAD_CONFIGS = {
    "missing key": ({"api_key": ""}, "Integration Keys"),
    "malformed key": ({"api_key": SECRET_LOOKING_KEY + " x"}, "Copy it again"),
    "wrong key": ({"api_key": SECRET_LOOKING_KEY}, "Integration Keys"),
    "unknown region": ({"region": "MARS"}, "US, US1, EU, JP, AU"),
    "malformed start date": ({"start_date": "01/02/2025"}, "YYYY-MM-DD"),
    "future start date": ({"start_date": "2999-01-01"}, "in the past"),
    "start date before 2010": ({"start_date": "2009-06-30"}, "from 2010 on"),
    "non-integer app ids": ({"app_ids": ["web"]}, "whole numbers"),
    "unknown app ids": ({"app_ids": [424242]}, "424242"),
    "zero page size": ({"page_size": 0}, "above 0"),
    "zero request timeout": ({"request_timeout": 0}, "above 0"),
    "zero lookback": ({"lookback_window": 0}, "above 0"),
    "base url not http": ({"base_url": "ftp://pendo.example/api/v1/"}, "http:// or https://"),
}


@pytest.mark.parametrize("overrides, fix", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_config_is_a_config_error_naming_the_fix_from_every_command(cli, config, overrides, fix):
    bad = {**config, **overrides}
    assert fix in check_failure(cli("check", bad))
    assert fix in config_errors(cli("discover", bad))
    read_messages = cli("read", bad, full_catalog())
    assert fix in config_errors(read_messages)
    assert not [m for m in read_messages if m["type"] == "RECORD"]


def test_key_of_another_region_names_the_region_from_every_command(cli, simulator, config):
    bad = {**config, "api_key": simulator.eu_key}
    assert "set 'Region' to EU" in check_failure(cli("check", bad))
    assert "set 'Region' to EU" in config_errors(cli("discover", bad))
    assert "set 'Region' to EU" in config_errors(cli("read", bad, full_catalog()))


def test_read_only_key_is_told_about_write_access(cli, simulator, config):
    bad = {**config, "api_key": simulator.read_only_key}
    assert "Allow Write Access" in check_failure(cli("check", bad))
    assert "Allow Write Access" in config_errors(cli("read", bad, full_catalog()))


def test_state_from_another_version_is_a_config_error(cli, config):
    state = json.dumps([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "pages"}, "stream_state": {"cursor": 17}}}])
    assert "Reset the stream" in config_errors(cli("read", config, full_catalog(), state=state))


def test_malformed_state_file_is_a_config_error(cli, config):
    assert "state" in config_errors(cli("read", config, full_catalog(), state="{not json")).lower()


def test_catalog_naming_a_stream_that_does_not_exist_is_a_config_error(cli, config):
    message = config_errors(cli("read", config, full_catalog(("pages", "page_views"))))
    assert "page_views" in message and "Refresh the source schema" in message
