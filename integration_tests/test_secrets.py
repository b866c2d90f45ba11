"""The integration key never leaves the request header: not in logs, traces, errors or records."""

import json
import logging

from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer

from source_pendo.run import run

from .conftest import ALL_STREAMS, catalog


def test_the_key_appears_in_no_output_even_with_debug_logs_and_failures(simulator, config, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    simulator.faults.random(rate=0.2, seed=3)
    simulator.faults.add("status", source="guides", times=None, status=500)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog(ALL_STREAMS))))
    run(["check", "--config", str(config_path), "--debug"])
    run(["discover", "--config", str(config_path), "--debug"])
    try:
        run(["read", "--config", str(config_path), "--catalog", str(catalog_path), "--debug"])
    except Exception as error:  # the guides stream fails for good: its error must not carry the key either
        assert simulator.api_key not in repr(error)
    captured = capsys.readouterr()
    everything = captured.out + captured.err + caplog.text
    assert '"type":"RECORD"' in everything and "Stream 'guides' stopped" in everything
    assert simulator.api_key not in everything
    # The key did travel where it must: in the header of every request.
    assert all(r["headers"].get("x-pendo-integration-key") == simulator.api_key for r in simulator.requests)
