"""A long sync killed (SIGKILL) at 10 random points, across entity, event and history streams, and
resumed each time from its last STATE, ends with every row of the simulator's data."""

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer, SyncMode

from integration_tests.pendo_simulator import PendoSimulator
from source_pendo.records import snake_case

from .conftest import catalog
from .test_variants import as_record_value, event_identity, expected_event_rows, expected_history, variant_config

ROOT = Path(__file__).resolve().parent.parent
ENTITY_KEYS = {"accounts": ("accountId", "account_id"), "visitors": ("visitorId", "visitor_id"), "features": ("id", "id")}
STREAMS = [*ENTITY_KEYS, "events", "page_events", "visitor_history"]
# Where each run is killed: at a random record, 1 to 11, of these streams in turn (the order they are read in).
KILL_IN = ["accounts", "accounts", "visitors", "visitors", "events", "events", "page_events", "page_events", "visitor_history", "visitor_history"]
KILLS = len(KILL_IN)


def identity(stream, data):
    if stream in ENTITY_KEYS:
        return data[ENTITY_KEYS[stream][1]]
    if stream == "visitor_history":
        return data["visitor_id"], data["ts"], data["type"]
    return tuple(data.get(column) for column in record_columns(stream))


def record_columns(stream):
    return [snake_case(column) for column in event_identity(stream, "day")]


def expected(sim, cfg):
    rows = {stream: {row[pendo] for row in getattr(sim.dataset, stream)} for stream, (pendo, _) in ENTITY_KEYS.items()}
    rows["visitors"] = {v for v in rows["visitors"] if not v.startswith("_PENDO_T_")}
    for stream in ("events", "page_events"):
        columns = event_identity(stream, "day")
        rows[stream] = {tuple(as_record_value(c, row.get(c)) for c in columns) for row in expected_event_rows(sim, stream, cfg)}
    rows["visitor_history"] = set(expected_history(sim, cfg))
    return rows


def test_a_sync_killed_ten_times_at_random_points_and_resumed_from_its_last_state_loses_nothing(tmp_path):
    rng = random.Random(20261204)
    with PendoSimulator(seed=11, accounts=30, visitors=45, objects_per_app=3) as sim:
        # The connector runs in its own process on the real clock; the simulator has no data after its own.
        cfg = {**variant_config(sim, page_size=5), "max_concurrent_requests": 2}
        (tmp_path / "config.json").write_text(json.dumps(cfg))
        (tmp_path / "catalog.json").write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog(STREAMS, SyncMode.incremental))))
        saved_states = {}  # what the platform keeps: the last STATE it received per stream
        emitted = {stream: set() for stream in STREAMS}
        killed_in = Counter()
        for attempt in range(KILLS + 1):
            args = [sys.executable, "main.py", "read", "--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")]
            if saved_states:
                (tmp_path / "state.json").write_text(json.dumps(list(saved_states.values())))
                args += ["--state", str(tmp_path / "state.json")]
            kill_in, kill_after = (KILL_IN[attempt], rng.randrange(1, 12)) if attempt < KILLS else (None, None)
            received = 0
            with subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
                for line in process.stdout:
                    message = json.loads(line)
                    if message["type"] == "RECORD":
                        record = message["record"]
                        emitted[record["stream"]].add(identity(record["stream"], record["data"]))
                        received += record["stream"] == kill_in
                    elif message["type"] == "STATE":
                        saved_states[message["state"]["stream"]["stream_descriptor"]["name"]] = message["state"]
                    if kill_after is not None and received >= kill_after:
                        process.kill()
                        killed_in[kill_in] += 1
                        break
                returncode = process.wait()
            if kill_after is None or received < kill_after:
                assert returncode == 0
                break
        assert killed_in == Counter(KILL_IN), "every run but the last must have been killed mid-sync"
        want = expected(sim, cfg)
        for stream in STREAMS:
            assert want[stream], stream
            assert emitted[stream] == want[stream], stream
