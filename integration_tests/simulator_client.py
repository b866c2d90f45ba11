"""A small client of the simulator for the simulator's own tests, and what they share."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import requests

from integration_tests.pendo_simulator import PendoSimulator

REPO_ROOT = Path(__file__).resolve().parents[1]
KEY_HEADER = "x-pendo-integration-key"
EXPAND_ALL = 'expandAppIds("*")'
OTHER_APP_ID = 5668600916475904
TIMEOUT_S = 10


class PendoClient:
    def __init__(self, sim: PendoSimulator, key: str | None = None):
        self.sim = sim
        self.session = requests.Session()
        self.session.headers[KEY_HEADER] = key or sim.api_key

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT_S)
        return self.session.get(self.sim.url + path, **kwargs)

    def aggregate(self, pipeline, *, ascii_only: bool = True, **kwargs) -> requests.Response:
        body = {"response": {"mimeType": "application/json"}, "request": {"requestId": "simulator-test", "pipeline": pipeline}}
        return self.post(json.dumps(body, ensure_ascii=ascii_only).encode(), **kwargs)

    def post(self, data: bytes | str, content_type: str = "application/json", **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT_S)
        return self.session.post(self.sim.url + "aggregation", data=data, headers={"Content-Type": content_type}, **kwargs)

    def results(self, pipeline, **kwargs) -> list:
        response = self.aggregate(pipeline, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def error(self, pipeline) -> tuple[int, str]:
        response = self.aggregate(pipeline)
        return response.status_code, response.json()["message"]

    def history(self, visitor_id: str, **params) -> requests.Response:
        return self.get(f"visitor/{quote(visitor_id, safe='')}/history", params=params)
