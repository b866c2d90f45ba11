"""The README's commands for a newcomer work as written: the sample config reaches the simulator
the README starts (`python -m integration_tests.pendo_simulator`: port 8765, default seed), the
incremental catalog is read incrementally, and the README's one line makes a state file that the
next read resumes from."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from integration_tests.pendo_simulator import PendoSimulator
from source_pendo.source import SourcePendo

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = ROOT / "integration_tests" / "sample_config.json"
INCREMENTAL_CATALOG = ROOT / "integration_tests" / "configured_catalog_incremental.json"


def readme_state_line() -> str:
    """The README's shell line that turns a read's output into a state file."""
    [line] = [line for line in (ROOT / "README.md").read_text().splitlines() if "> state.json" in line]
    return line.strip()


def test_sample_config_matches_the_simulator_the_readme_starts():
    config = json.loads(SAMPLE_CONFIG.read_text())
    simulator = PendoSimulator(port=8765)  # as `python -m integration_tests.pendo_simulator` builds it
    assert config["api_key"] == simulator.api_key
    assert config["base_url"] == "http://127.0.0.1:8765/api/v1/"


def test_incremental_catalog_selects_every_incremental_stream_incrementally():
    streams = {s.name: s for s in SourcePendo().streams({"api_key": "k", "start_date": "2025-01-01"})}
    entries = {e["stream"]["name"]: e for e in json.loads(INCREMENTAL_CATALOG.read_text())["streams"]}
    assert sorted(entries) == sorted(streams)
    for name, entry in entries.items():
        wanted = "incremental" if streams[name].supports_incremental else "full_refresh"
        assert entry["sync_mode"] == wanted, name


def test_the_readme_state_line_makes_a_state_file_the_next_read_resumes_from(simulator, tmp_path):
    config = {**json.loads(SAMPLE_CONFIG.read_text()), "api_key": simulator.api_key, "base_url": simulator.url}
    (tmp_path / "config.json").write_text(json.dumps(config))
    catalog = {"streams": [e for e in json.loads(INCREMENTAL_CATALOG.read_text())["streams"] if e["stream"]["name"] in ("accounts", "pages")]}
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    command = f"{sys.executable} {ROOT / 'main.py'} read --config config.json --catalog catalog.json > output.jsonl"
    subprocess.run(command, shell=True, check=True, cwd=tmp_path, timeout=300)
    line = readme_state_line()
    assert re.fullmatch(r"python3? .*output\.jsonl > state\.json", line), line
    subprocess.run(line.replace("python3 ", f"{sys.executable} ", 1), shell=True, check=True, cwd=tmp_path, timeout=60)
    state = json.loads((tmp_path / "state.json").read_text())
    assert sorted(entry["stream"]["stream_descriptor"]["name"] for entry in state) == ["accounts", "pages"]
    resumed = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "read", "--config", "config.json", "--catalog", "catalog.json", "--state", "state.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=True,
    )
    records = [m for m in map(json.loads, filter(str.strip, resumed.stdout.splitlines())) if m["type"] == "RECORD"]
    assert records == []  # nothing changed in the simulator since the state was taken
