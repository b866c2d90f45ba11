"""A configuration saved for the 0.2.x connector, run by the `source-pendo` command against the
simulator over real sockets: check, discover and read succeed, and the first run writes the
default start date into it (once)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest

from source_pendo.config import default_start_date

from .conftest import ALL_STREAMS

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "integration_tests" / "configured_catalog.json"


def run_connector(*args: str) -> List[Dict[str, Any]]:
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def of_type(messages, kind: str):
    return [message for message in messages if message["type"] == kind]


@pytest.fixture
def config_0_2(simulator, tmp_path) -> Path:
    # 0.2.x saved only the key; base_url is the one addition, to reach the simulator instead of
    # app.pendo.io.
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"api_key": simulator.api_key, "base_url": simulator.url}))
    return path


def test_a_0_2_config_checks_discovers_and_reads(config_0_2):
    expected_start = default_start_date(datetime.now(timezone.utc)).strftime("%Y-%m-%d")

    checked = run_connector("check", "--config", str(config_0_2))
    [status] = of_type(checked, "CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "SUCCEEDED"
    [control] = of_type(checked, "CONTROL")
    assert control["control"]["connectorConfig"]["config"]["start_date"] == expected_start
    assert json.loads(config_0_2.read_text())["start_date"] == expected_start

    discovered = run_connector("discover", "--config", str(config_0_2))
    assert of_type(discovered, "CONTROL") == []  # migrated once, on the first run
    [catalog] = of_type(discovered, "CATALOG")
    assert sorted(stream["name"] for stream in catalog["catalog"]["streams"]) == sorted(ALL_STREAMS)

    read = run_connector("read", "--config", str(config_0_2), "--catalog", str(CATALOG))
    errors = [m for m in of_type(read, "TRACE") if m["trace"]["type"] == "ERROR"]
    assert errors == []
    streams_with_records = {m["record"]["stream"] for m in of_type(read, "RECORD")}
    # The catalogues, reports and segments are read whole whatever the start date.
    assert {"reports", "segments", "metadata_accounts", "metadata_visitors"} <= streams_with_records
    statuses = {
        m["trace"]["stream_status"]["stream_descriptor"]["name"]: m["trace"]["stream_status"]["status"]
        for m in of_type(read, "TRACE")
        if m["trace"]["type"] == "STREAM_STATUS"
    }
    configured = [entry["stream"]["name"] for entry in json.loads(CATALOG.read_text())["streams"]]
    assert {name: statuses.get(name) for name in configured} == {name: "COMPLETE" for name in configured}
