import pytest

from source_pendo.config import PendoConfig

API_ROOT = "https://pendo.test/api/v1/"


@pytest.fixture
def make_config():
    def make(**overrides) -> PendoConfig:
        return PendoConfig.from_mapping({"api_key": "unit-key", "start_date": "2025-01-01", "base_url": API_ROOT, **overrides})

    return make


@pytest.fixture(autouse=True)
def slept(monkeypatch):
    """Backoff waits are recorded instead of slept (the simulator waits on events, not sleep)."""
    waits = []
    monkeypatch.setattr("time.sleep", waits.append)
    return waits
