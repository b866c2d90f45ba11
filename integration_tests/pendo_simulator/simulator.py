"""``PendoSimulator``: the dataset, the event log, the clock, the keys and the HTTP server in one object."""
from __future__ import annotations

import random
import threading
from typing import Any, Iterable

from .dataset import CLOCK_START_MS, VISITOR_SPECIAL_IDS, Dataset
from .event_sources import OBJECT_PARAMETERS, selection
from .events import AGGREGATED_SOURCES, DEFAULT_HITS_PER_DAY, DEFAULT_TIMEZONE, RAW_SOURCES, EventLog
from .faults import Faults
from .gate import RequestGate
from .pipeline import QueryContext
from .retagging import retag, tag_untagged
from .server import IntegrationKey, KeyRing, RequestLog, SimulatorServer
from .variant_data import delete_visitors, drop_lastupdated, give_odd_ids
from .variants import parse_variants


class PendoSimulator:
    """A Pendo API on 127.0.0.1 serving deterministic data; use ``start()``/``stop()`` or ``with``.

    ``variants`` names behaviours of real Pendo that public evidence leaves open (see
    ``variants.VARIANTS``; ``"all"`` is every one); none is on by default.
    """

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
        timezone: str = DEFAULT_TIMEZONE,
        hits_per_day: int = DEFAULT_HITS_PER_DAY,
        variants: Iterable[str] = (),
    ):
        self.variants = parse_variants(variants)
        self.seed = seed
        self.region = region
        self.host = host
        self.dataset = Dataset(seed=seed, accounts=accounts, visitors=visitors, objects_per_app=objects_per_app)
        # Visitors with odd ids, and visitors deleted since, are given activity to be seen in.
        self.odd_visitor_ids = give_odd_ids(self.dataset) if "odd_visitor_ids" in self.variants else frozenset()
        self.deleted_visitor_ids = delete_visitors(self.dataset, keep=self.odd_visitor_ids) if "deleted_visitors" in self.variants else frozenset()
        if "missing_lastupdated" in self.variants:
            drop_lastupdated(self.dataset)
        # Generated on first use: simulators that never serve events pay nothing.
        self.events = EventLog(
            self.dataset,
            timezone=timezone,
            hits_per_day=hits_per_day,
            active_visitor_ids={*VISITOR_SPECIAL_IDS, *self.odd_visitor_ids, *self.deleted_visitor_ids},
            null_accounts="nulls_last" in self.variants,
        )
        self.faults = Faults()
        self.log = RequestLog()
        self.gate: RequestGate | None = None
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
            wrong_region_status=401 if "wrong_region_401" in self.variants else 400,
            keys=[
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

    def hold_together(self, path: str, parties: int, timeout: float = 5.0) -> RequestGate:
        """Hold the first requests whose path contains ``path`` until ``parties`` of them are
        under way at once; ``gate.opened`` tells whether they ever were."""
        self.gate = RequestGate(path, parties, timeout)
        return self.gate

    def touch(self, kind: str, count: int) -> list[str]:
        """Update ``count`` rows of ``kind`` at the current clock; returns their ids."""
        return self.dataset.touch(kind, count, self.clock_ms)

    # --- retroactive tagging ---

    def retag(self, kind: str, from_object_id: str, to_object_id: str, *, first_ms: int | None = None, end_ms: int | None = None) -> int:
        """Pendo re-applies an edited ``page`` or ``feature`` rule to past data: the hits of
        ``from_object_id`` with ts in ``[first_ms, end_ms)`` (None: unbounded), visible or
        not, become hits of ``to_object_id`` (same app). pageEvents / featureEvents rows and
        visitor history change at once; the ``events`` source does not. Returns the hits moved."""
        return retag(self.events, self.dataset, kind, from_object_id, to_object_id, first_ms, end_ms)

    def tag_untagged(self, page_id: str, *, url_path: str | None = None, first_ms: int | None = None, end_ms: int | None = None) -> int:
        """Pendo applies a new page rule to past data: untagged page views of ``page_id``'s app
        (whose URL path after the host is ``url_path``; None: all) with ts in ``[first_ms,
        end_ms)`` become hits of that page. Returns the hits tagged."""
        return tag_untagged(self.events, self.dataset, page_id, url_path, first_ms, end_ms)

    # --- event data ---

    @property
    def timezone(self) -> str:
        """The subscription's IANA time zone: day buckets start at its local midnight."""
        return self.events.timezone

    def bucket_start(self, ms: int, period: str) -> int:
        """The start of the ``dayRange``/``hourRange`` bucket (``day``/``hour`` also accepted) containing ``ms``."""
        return self.events.calendar.bucket_start(ms, period)

    def event_rows(
        self,
        source: str,
        period: str,
        first_ms: int,
        end_ms: int,
        app_ids: int | Iterable[int] | str | None = None,
        *,
        object_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Exactly the rows the API returns right now for ``source`` over the buckets whose
        start lies in ``[first_ms, end_ms)``, in the API's order.

        ``app_ids`` is what the ``appId`` parameter takes (None: the default app only; a
        number, a list, or ``'expandAppIds("*")'``); ``object_id`` is the pageId / featureId
        / trackTypeId / guideId parameter instead. Raises ``AggregationError`` where the API
        answers 400.
        """
        if source not in AGGREGATED_SOURCES and source not in RAW_SOURCES:
            raise ValueError(f"{source!r} is not a time-series source; expected one of {', '.join([*AGGREGATED_SOURCES, *RAW_SOURCES])}")
        clock = self.clock_ms
        context = QueryContext(self.dataset, clock, self.events, self.variants)
        if object_id is not None:
            params: Any = {self._object_parameter(source): object_id}
        elif app_ids is None:
            params = None
        else:
            params = {"appId": app_ids if isinstance(app_ids, (int, str)) else list(app_ids)}
        selected_apps, selected_object = selection(source, params, context)
        calendar = self.events.calendar
        start, end = calendar.ceil(first_ms, period), calendar.ceil(end_ms, period)
        if source in RAW_SOURCES:
            return list(self.events.raw_events(source, start, end, clock, selected_apps, selected_object))
        return list(self.events.aggregate(source, period, start, end, clock, selected_apps, selected_object))

    @staticmethod
    def _object_parameter(source: str) -> str:
        if source not in OBJECT_PARAMETERS:
            raise ValueError(f"source {source} takes no object parameter")
        return OBJECT_PARAMETERS[source][0]

    # --- request log ---

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of the logged requests, oldest first."""
        return self.log.snapshot()

    def clear_requests(self) -> None:
        self.log.clear()
