"""A sync killed (SIGKILL) at random points and resumed each time from its last STATE ends complete."""

import json
import random
import subprocess
import sys
from pathlib import Path

from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer, SyncMode

from .conftest import catalog

ROOT = Path(__file__).resolve().parent.parent
STREAMS = {"accounts": "account_id", "visitors": "visitor_id", "features": "id"}
KILLS = 4


def test_a_sync_killed_at_random_points_and_resumed_from_its_last_state_loses_nothing(simulator, config, tmp_path):
    rng = random.Random(20261124)
    (tmp_path / "config.json").write_text(json.dumps({**config, "page_size": 5}))
    (tmp_path / "catalog.json").write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog(STREAMS, SyncMode.incremental))))
    saved_states = {}  # what the platform keeps: the last STATE it received per stream
    emitted = {stream: set() for stream in STREAMS}
    kills = 0
    for attempt in range(KILLS + 1):
        args = [sys.executable, "main.py", "read", "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")]
        if saved_states:
            (tmp_path / "state.json").write_text(json.dumps(list(saved_states.values())))
            args += ["--state", str(tmp_path / "state.json")]
        kill_after = rng.randrange(10, 150) if attempt < KILLS else None
        received = 0
        with subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
            for line in process.stdout:
                message = json.loads(line)
                if message["type"] == "RECORD":
                    record = message["record"]
                    emitted[record["stream"]].add(record["data"][STREAMS[record["stream"]]])
                    received += 1
                elif message["type"] == "STATE":
                    saved_states[message["state"]["stream"]["stream_descriptor"]["name"]] = message["state"]
                if kill_after is not None and received >= kill_after:
                    process.kill()
                    kills += 1
                    break
            returncode = process.wait()
        if kill_after is None or received < kill_after:
            assert returncode == 0
            break
    assert kills == KILLS, "every run but the last must have been killed mid-sync"
    expected = {
        "accounts": {row["accountId"] for row in simulator.dataset.accounts},
        "visitors": {row["visitorId"] for row in simulator.dataset.visitors if not row["visitorId"].startswith("_PENDO_T_")},
        "features": {row["id"] for row in simulator.dataset.features},
    }
    assert emitted == expected
