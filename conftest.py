"""Test session set-up: Airbyte's standard tests against a Pendo simulator on 127.0.0.1.

The standard tests read configs from files named in acceptance-test-config.yml; the simulator's port
is only known once it listens, so those files are written here, before collection.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

ROOT = Path(__file__).parent
GENERATED = ROOT / "integration_tests" / "generated"
_simulator = None


def simulator_configs(sim) -> dict:
    config = {"api_key": sim.api_key, "start_date": "2025-01-01", "base_url": sim.url, "page_size": 25, "requests_per_second": 1000}
    return {
        "config.json": config,
        "spec_config.json": dict(config),
        "invalid_config.json": {**config, "api_key": "not-a-pendo-key"},
    }


def pytest_configure(config):
    global _simulator
    from integration_tests.pendo_simulator import PendoSimulator

    _simulator = PendoSimulator(seed=7).start()
    GENERATED.mkdir(exist_ok=True)
    for name, content in simulator_configs(_simulator).items():
        (GENERATED / name).write_text(json.dumps(content, indent=2))


def pytest_unconfigure(config):
    if _simulator is not None:
        _simulator.stop()


def _docker_engine_runs() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def pytest_collection_modifyitems(config, items):
    image_tests = [item for item in items if "image_tests" in item.keywords]
    if image_tests and not _docker_engine_runs():
        skip = pytest.mark.skip(reason="no Docker engine runs here; .ci/image_check.sh exercises the image with podman")
        for item in image_tests:
            item.add_marker(skip)
