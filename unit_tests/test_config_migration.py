"""MigrateStartDate: a configuration without start_date gets the default written into it."""

import json
import os
from datetime import datetime, timezone

import pytest

from source_pendo.config import default_start_date
from source_pendo.config_migration import MigrateStartDate
from source_pendo.source import SourcePendo


def control_messages(text: str):
    messages = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [m["control"] for m in messages if m["type"] == "CONTROL"]


def write(tmp_path, config) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_a_0_2_config_gets_the_default_start_date_in_file_and_control_message(tmp_path, capsys):
    path = write(tmp_path, {"api_key": "k"})
    MigrateStartDate.migrate(["check", "--config", path], SourcePendo())
    saved = json.loads(open(path).read())
    expected = default_start_date(datetime.now(timezone.utc)).strftime("%Y-%m-%d")
    assert saved == {"api_key": "k", "start_date": expected}
    [control] = control_messages(capsys.readouterr().out)
    assert control["type"] == "CONNECTOR_CONFIG"
    assert control["connectorConfig"]["config"] == saved


def test_a_config_with_a_start_date_is_left_alone(tmp_path, capsys):
    path = write(tmp_path, {"api_key": "k", "start_date": "2025-01-01"})
    before = os.stat(path).st_mtime_ns
    MigrateStartDate.migrate(["read", "--config", path, "--catalog", "c.json"], SourcePendo())
    assert os.stat(path).st_mtime_ns == before
    assert control_messages(capsys.readouterr().out) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_a_read_only_config_file_still_reaches_the_platform(tmp_path, capsys):
    path = write(tmp_path, {"api_key": "k"})
    os.chmod(path, 0o444)
    MigrateStartDate.migrate(["discover", "--config", path], SourcePendo())
    assert json.loads(open(path).read()) == {"api_key": "k"}
    [control] = control_messages(capsys.readouterr().out)
    assert "start_date" in control["connectorConfig"]["config"]


@pytest.mark.parametrize("args", [["spec"], ["check", "--config", "/no/such/file.json"]])
def test_no_config_or_an_unreadable_one_is_left_to_the_entrypoint(args, capsys):
    MigrateStartDate.migrate(args, SourcePendo())
    assert control_messages(capsys.readouterr().out) == []
