"""``PendoSimulator``: the dataset, the clock, the keys and the HTTP server in one object."""
from __future__ import annotations

import random
import threading
from typing import Any

from .dataset import CLOCK_START_MS, Dataset
from .faults import Faults
from .server import IntegrationKey, KeyRing, RequestLog, SimulatorServer


class PendoSimulator:
    """A Pendo API on 127.0.0.1 serving deterministic data; use ``start()``/``stop()`` or ``with``."""

    def __init__(
        self,
        seed: int = 7,
        accounts: int = 120,
        visitors: int = 200,
        objects_per_app: int = 12,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        region: str = "us",
        verbose: bool = False,
    ):
        self.seed = seed
        self.region = region
        self.host = host
        self.dataset = Dataset(seed=seed, accounts=accounts, visitors=visitors, objects_per_app=objects_per_app)
        self.faults = Faults()
        self.log = RequestLog()
        self._requested_port = port
        self._verbose = verbose
        self._clock_ms = CLOCK_START_MS
        self._clock_lock = threading.Lock()
        self._server: SimulatorServer | None = None
        self._thread: threading.Thread | None = None

        token = random.Random(f"{seed}:keys").getrandbits(64)
        foreign_region = "eu" if region != "eu" else "us"
        self.api_key = f"sim-{token:016x}-{region}"
        self.eu_key = f"sim-{token ^ 0xE0:016x}.{foreign_region}"  # a key of another region
        self.revoked_key = f"sim-revoked-{token:016x}"
        self.read_only_key = f"sim-readonly-{token:016x}"
        self.keys = {self.eu_key: foreign_region, self.revoked_key: region, self.read_only_key: region}
        self.key_ring = KeyRing(
            region,
            [
                IntegrationKey(self.api_key, region),
                IntegrationKey(self.eu_key, foreign_region),
                IntegrationKey(self.revoked_key, region, revoked=True),
                IntegrationKey(self.read_only_key, region, read_only=True),
            ],
        )

    # --- lifecycle ---

    def start(self) -> "PendoSimulator":
        if self._server is None:
            self._server = SimulatorServer((self.host, self._requested_port), self, verbose=self._verbose)
            # A short poll interval keeps stop() fast.
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="pendo-simulator", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        self._thread.join()

    def __enter__(self) -> "PendoSimulator":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v1/"

    # --- clock and data changes ---

    @property
    def clock_ms(self) -> int:
        return self._clock_ms

    def advance(self, ms: int) -> int:
        """Move the clock forward by ``ms``; returns the new clock."""
        if ms < 0:
            raise ValueError("the clock only moves forward")
        with self._clock_lock:
            self._clock_ms += ms
            return self._clock_ms

    def touch(self, kind: str, count: int) -> list[str]:
        """Update ``count`` rows of ``kind`` at the current clock; returns their ids."""
        return self.dataset.touch(kind, count, self.clock_ms)

    # --- request log ---

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of the logged requests, oldest first."""
        return self.log.snapshot()

    def clear_requests(self) -> None:
        self.log.clear()
