"""The failures a user meets first, through the real entrypoint over real sockets: a key of another
region, app ids the subscription lacks, a host out of reach, Pendo refusing a query. Each is named
with its cause and fix, typed by whose fault it is on every command, and carries no traceback,
request body or header in a log message."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from integration_tests.pendo_simulator import PendoSimulator
from integration_tests.pendo_simulator.server import IntegrationKey, KeyRing
from source_pendo.config import REGION_API_ROOTS

from .test_bad_input import check_failure, cli, full_catalog  # noqa: F401  (cli is a fixture)

CLOSED_PORT_ROOT = "http://127.0.0.1:9/api/v1/"


def errors_of(messages):
    return [m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]


def log_lines(messages):
    return [m["log"]["message"] for m in messages if m["type"] == "LOG"]


@pytest.fixture
def eu_simulator():
    sim = PendoSimulator(seed=11, region="eu").start()
    yield sim
    sim.stop()


@pytest.fixture
def regions(simulator, eu_simulator, monkeypatch):
    """Pendo's regional hosts played by two simulators (US, EU); the other regions refuse connections."""
    for region in REGION_API_ROOTS:
        monkeypatch.setitem(REGION_API_ROOTS, region, CLOSED_PORT_ROOT)
    monkeypatch.setitem(REGION_API_ROOTS, "US", simulator.url)
    monkeypatch.setitem(REGION_API_ROOTS, "EU", eu_simulator.url)
    return simulator, eu_simulator


# Pendo answering a key of another region with 401 is what these hosts do for a key they do not
# know. When the simulator has PendoSimulator(variants={"wrong_region_401"}), these tests can use it.
def test_a_key_another_regions_host_accepts_is_named_by_check_and_a_config_error_everywhere(cli, regions):
    _, eu = regions
    config = {"api_key": eu.api_key, "start_date": "2025-01-01"}  # Region left at US, no base_url
    assert "This key belongs to region EU: set 'Region' to EU." in check_failure(cli("check", config))
    for command, args in (("discover", ()), ("read", (full_catalog(),))):
        [error] = errors_of(cli(command, config, *args))[-1:]
        assert error["failure_type"] == "config_error" and "integration key" in error["message"], command
    assert not errors_of(cli("read", {**config, "region": "EU", "requests_per_second": 1000}, full_catalog()))


def test_a_400_about_the_key_on_pendos_host_finds_the_region_too(cli, regions):
    us, eu = regions
    us.key_ring = KeyRing("us", [IntegrationKey(us.api_key, "us"), IntegrationKey(eu.api_key, "eu")])  # answers 400 for it
    message = check_failure(cli("check", {"api_key": eu.api_key, "start_date": "2025-01-01"}))
    assert "HTTP 400: invalid subscription or key for this region" in message and "set 'Region' to EU" in message


def test_a_custom_base_url_is_not_swapped_for_pendos_hosts(cli, regions):
    us, eu = regions
    message = check_failure(cli("check", {"api_key": eu.api_key, "start_date": "2025-01-01", "base_url": us.url}))
    assert "Integration Keys" in message and "belongs to region" not in message
    assert not [r for r in eu.requests if "metadata" in r["path"]]


def test_check_names_app_ids_the_subscription_does_not_show(cli, simulator, config):
    valid = sorted(simulator.dataset.app_ids)
    message = check_failure(cli("check", {**config, "app_ids": [valid[0], 424242]}))
    assert "[424242]" in message and str(valid) in message
    queries = [r["body"]["request"]["pipeline"] for r in simulator.requests if r["path"].endswith("aggregation")]
    assert len(simulator.requests) <= 4 and all(len(pipeline) == 1 for pipeline in queries)


def test_a_400_on_read_leads_with_pendos_words_and_shows_no_body_or_headers(cli, config):
    messages = cli("read", {**config, "app_ids": [424242]}, full_catalog(("pages",)))
    [stream_error, sync_error] = errors_of(messages)
    assert stream_error["message"].startswith("Stream 'pages' stopped reading every object, at the start")
    assert "Pendo refused the request (HTTP 400: unknown appId 424242 for this subscription). Check 'App IDs'" in stream_error["message"]
    assert "Region" not in stream_error["message"]
    assert stream_error["failure_type"] == sync_error["failure_type"] == "config_error"
    user_facing = json.dumps([e["message"] for e in errors_of(messages)] + [e["internal_message"] for e in errors_of(messages)] + log_lines(messages))
    for leak in ("pipeline", "requestId", "Content-Type", "Content-Length", "PendoSimulator/", "x-pendo-integration-key", "Traceback"):
        assert leak not in user_facing, leak


def tls_to_a_plain_port(simulator):
    return simulator.url.replace("http://", "https://")


UNREACHABLE = {
    "refused": (lambda sim: CLOSED_PORT_ROOT, "127.0.0.1:9: the connection was refused"),
    "dns": (lambda sim: "http://no-such-host.invalid/api/v1/", "no-such-host.invalid: its name could not be resolved"),
    "tls": (tls_to_a_plain_port, "the secure (TLS) connection failed"),
}


@pytest.mark.parametrize("base_url, cause", UNREACHABLE.values(), ids=UNREACHABLE.keys())
def test_an_unreachable_base_url_is_one_config_error_on_every_command_naming_the_selected_stream(cli, simulator, config, slept, base_url, cause):
    bad = {**config, "base_url": base_url(simulator)}
    check_message = check_failure(cli("check", bad))
    assert check_message.startswith("Could not connect to Pendo at ") and cause in check_message and "Check 'API base URL'" in check_message
    [discover_error] = errors_of(cli("discover", bad))
    assert discover_error["message"] == check_message and discover_error["failure_type"] == "config_error"
    slept.clear()
    messages = cli("read", bad, full_catalog(("accounts",)))
    stream_error, sync_error = errors_of(messages)
    assert stream_error["message"].startswith("Stream 'accounts' stopped") and check_message in stream_error["message"]
    assert "metadata_accounts" not in json.dumps([(e["message"], e["internal_message"]) for e in errors_of(messages)])
    assert stream_error["failure_type"] == sync_error["failure_type"] == "config_error"
    assert sum(slept) < 15, "a refused connection is retried for seconds, not minutes"
    assert not [line for line in log_lines(messages) if "Rate limit" in line or "Traceback" in line]


def test_pendos_own_host_out_of_reach_is_transient_on_every_command(cli, monkeypatch, simulator):
    monkeypatch.setitem(REGION_API_ROOTS, "US", CLOSED_PORT_ROOT)
    config = {"api_key": simulator.api_key, "start_date": "2025-01-01"}
    assert "the connection was refused" in check_failure(cli("check", config))
    [discover_error] = errors_of(cli("discover", config))
    assert discover_error["failure_type"] == "transient_error"
    errors = errors_of(cli("read", config, full_catalog(("pages", "reports"))))
    assert [e["failure_type"] for e in errors] == ["transient_error"] * 3
    assert errors[-1]["message"].startswith("During the sync, the following streams did not sync successfully: pages, reports.")


def test_discover_failing_on_the_metadata_catalogue_names_no_stream_as_stopped(cli, simulator, config):
    simulator.faults.add("status", path="/metadata/schema/account", times=None, status=503)
    [error] = errors_of(cli("discover", config))
    assert error["message"].startswith("Could not build the schema of stream 'accounts' from Pendo's metadata catalogue: Pendo at 127.0.0.1")
    assert "HTTP 503" in error["message"] and "stopped" not in error["message"] and error["failure_type"] == "transient_error"


def test_a_config_file_that_is_not_json_is_a_config_error_naming_line_and_column(cli, tmp_path):
    config_path = tmp_path / "broken.json"
    config_path.write_text('{\n  "api_key": "k",\n  "start_date": "2025-01-01",,\n}')
    for command in ("check", "discover"):
        [error] = errors_of(cli(command, config_path))
        assert error["failure_type"] == "config_error"
        assert "is not valid JSON" in error["message"] and "line 3, column 30" in error["message"]


def test_the_process_logs_no_traceback_and_its_trace_keeps_it(tmp_path, config):
    """The real process, so the CDK's handler of an uncaught error (the FATAL line) runs too."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps({**config, "api_key": "no-such-key"}))
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(full_catalog(("accounts",)))
    executable = Path(sys.executable).parent / "source-pendo"
    done = subprocess.run([str(executable), "read", "--config", str(config_path), "--catalog", str(catalog_path)], capture_output=True, text=True, timeout=120)
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode != 0
    logs = [m["log"] for m in messages if m["type"] == "LOG"]
    assert [log for log in logs if log["level"] == "FATAL"], "the CDK logs the final error as FATAL"
    assert not [log for log in logs if "Traceback" in log["message"]]
    errors = errors_of(messages)
    assert errors and all(e["failure_type"] == "config_error" for e in errors)
    assert "Stream 'accounts' stopped" in errors[0]["message"] and "Traceback" in errors[0]["stack_trace"]
