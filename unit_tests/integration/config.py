"""Connector configs for the HttpMocker tests, built step by step as each test needs."""

from __future__ import annotations

from typing import Any, Dict

API_ROOT = "https://pendo.test/api/v1/"
API_KEY = "unit-key"


class ConfigBuilder:
    def __init__(self) -> None:
        # A budget no test reaches: with time frozen, the request budget's window never moves on.
        self._config: Dict[str, Any] = {"api_key": API_KEY, "base_url": API_ROOT, "start_date": "2025-01-01", "requests_per_second": 1000}

    def with_start_date(self, date: str) -> "ConfigBuilder":
        self._config["start_date"] = date
        return self

    def with_page_size(self, rows: int) -> "ConfigBuilder":
        self._config["page_size"] = rows
        return self

    def with_app_ids(self, *app_ids: int) -> "ConfigBuilder":
        self._config["app_ids"] = list(app_ids)
        return self

    def with_max_concurrent_requests(self, requests: int) -> "ConfigBuilder":
        self._config["max_concurrent_requests"] = requests
        return self

    def build(self) -> Dict[str, Any]:
        return dict(self._config)
