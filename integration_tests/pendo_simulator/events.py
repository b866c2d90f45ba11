"""Pendo event data: a raw activity log (the ground truth) and what the API derives from it.

The log is generated from the seed, the dataset and the time zone the first time it is
needed (so simulators that never serve events pay nothing). Afterwards only the tagging of
hits changes, and only when a test retags (``retagging``: Pendo applies new and edited page
and feature rules to past data). What the API shows changes with the clock: an event is
**visible** when ``arrives_at <= clock``.

Raw hits (``Hit``)
    ``ts`` (epoch ms), visitor, account (``""`` for anonymous visitors), app, remote IP,
    server, user agent, ``kind`` (``page``, ``feature``, ``track``, or ``untagged`` —
    a page view no tagged page matches, counted by the ``events`` source and shown by
    visitor history only), ``object_id`` (page / feature / track type id of that app;
    None for untagged), ``url``, and ``properties`` for track hits. Hits come in
    sessions (a visitor repeating clicks seconds to minutes apart, ties included) over
    the ``days`` days before the initial clock and ``future_days`` days after it (those
    surface as the clock advances). Planted on purpose:

    * twins: for each dimension (remote IP, server, user agent, account, app, object)
      hits identical to another visible hit but for that one dimension, so that
      pre-aggregated rows exist that differ in one dimension only;
    * hits exactly on a local-midnight bucket boundary, and 1 ms before it (same
      visitor and dimensions: two rows in adjacent buckets), and on local hour tops;
    * user agents with non-ASCII characters, quotes and backslashes.

Raw guide and poll events (``GuideEvent``)
    Pendo rows as the ``guideEvents`` / ``pollEvents`` sources return them. Sequences of
    ``guideSeen``/``guideAdvanced``/``guideDismissed``/``guideActivity``/``guideSnoozed``,
    with ``pollResponse`` events on poll steps. Two distinct events often share
    ``browserTime``, visitor and guide but differ in ``type`` (e.g. ``guideSeen`` and
    ``guideActivity`` of a step) or in ``guideStepId`` (``guideAdvanced`` of step *n*
    and ``guideSeen`` of step *n+1*; two ``guideSeen`` of different steps). Unique keys:
    guideEvents ``(browserTime, visitorId, accountId, appId, guideId, guideStepId, type)``;
    pollEvents the same plus ``pollId``.

Late arrival
    ``arrives_at - ts``: 85 % within an hour, 11 % 4–6 hours, 4 % 2–9 days. So at any
    clock some old buckets are incomplete, and ``advance`` changes them.

Pre-aggregated rows (``aggregate``)
    One row per bucket × visitorId × accountId × appId × remoteIp × server × userAgent
    (× pageId / featureId / trackTypeId for the typed sources) over the visible hits of the
    matching kinds::

        {accountId, visitorId, appId, day|hour, [pageId|featureId|trackTypeId],
         numEvents, numMinutes, firstTime, lastTime, remoteIp, server, userAgent,
         parameters: {}, [properties (trackEvents: of the row's last hit)]}

    ``numMinutes`` counts distinct epoch minutes with a hit. Rows come bucket by bucket
    (ascending), within a bucket in the order of their first hit — not sorted by any id.
    Anonymous visitors' rows have ``accountId`` ``""``, or null with ``null_accounts``
    (the ``nulls_last`` variant: a null in a column clients sort and filter on).

Visitor history (``history``)
    Consecutive visible hits of the visitor within ``[starttime, starttime + 24 h)`` with
    the same type, object, app, URL and user agent form one entry: ``ts`` = first hit,
    ``lastTs`` = last hit, ``duration = lastTs - ts``. Sorted by ``ts``.
"""
from __future__ import annotations

import bisect
import random
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from .dataset import _BROWSERS, _SERVERS, CLOCK_START_MS, VISITOR_SPECIAL_IDS, Dataset
from .timebuckets import DAY_MS, DAY_RANGE, HOUR_MS, HOUR_RANGE, PERIOD_FIELDS, Calendar, normalize_period

DEFAULT_TIMEZONE = "America/New_York"
DEFAULT_HITS_PER_DAY = 100
EVENT_DAYS = 40  # days of activity before the initial clock
FUTURE_DAYS = 3  # days of activity after it, visible as the clock advances
HISTORY_RETENTION_MS = 180 * DAY_MS
MINUTE_MS = 60_000
_QUARTER_HOUR_MS = 900_000

KINDS = ("page", "feature", "track", "untagged")
_KIND_WEIGHTS = (50, 30, 12, 8)
GUIDE_EVENT_TYPES = ("guideSeen", "guideAdvanced", "guideDismissed", "guideActivity", "guideSnoozed")
POLL_EVENT_TYPES = ("pollResponse",)
_FORCED_SESSIONS = 6


@dataclass(frozen=True)
class AggregatedSource:
    name: str
    kinds: tuple[str, ...]
    object_field: str | None  # the per-object dimension and source parameter
    object_kind: str | None  # the Dataset rows that parameter refers to


AGGREGATED_SOURCES = {
    "events": AggregatedSource("events", KINDS, None, None),
    "pageEvents": AggregatedSource("pageEvents", ("page",), "pageId", "pages"),
    "featureEvents": AggregatedSource("featureEvents", ("feature",), "featureId", "features"),
    "trackEvents": AggregatedSource("trackEvents", ("track",), "trackTypeId", "track_types"),
}
RAW_SOURCES = {"guideEvents": GUIDE_EVENT_TYPES, "pollEvents": POLL_EVENT_TYPES}
# The fields that make a row unique, per source; "<bucket>" stands for day or hour.
ROW_KEYS = {
    "events": ("<bucket>", "visitorId", "accountId", "appId", "remoteIp", "server", "userAgent"),
    "pageEvents": ("<bucket>", "visitorId", "accountId", "appId", "remoteIp", "server", "userAgent", "pageId"),
    "featureEvents": ("<bucket>", "visitorId", "accountId", "appId", "remoteIp", "server", "userAgent", "featureId"),
    "trackEvents": ("<bucket>", "visitorId", "accountId", "appId", "remoteIp", "server", "userAgent", "trackTypeId"),
    "guideEvents": ("browserTime", "visitorId", "accountId", "appId", "guideId", "guideStepId", "type"),
    "pollEvents": ("browserTime", "visitorId", "accountId", "appId", "guideId", "guideStepId", "pollId", "type"),
}

# User agent -> parsedUserAgent (name, version, os).
USER_AGENTS: dict[str, tuple[str, str, str]] = {agent: (name, version, os) for name, version, os, agent in _BROWSERS}
USER_AGENTS.update({
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 YaBrowser/24.1 Mobile Safari/537.36 (ЯндексБраузер)": ("Yandex Browser", "24.1", "Android"),
    "AcmeApp/3.2.1 (iPhone; iOS 17.2; ja_JP; 日本語) CFNetwork/1490.0.4": ("AcmeApp", "3.2.1", "iOS"),
    "Büro-Kiosk/1.0 (Linux; Ünïcode) 🚀": ("Büro-Kiosk", "1.0", "Linux"),
    'Mozilla/5.0 (Windows NT 10.0; "quoted"; C:\\Agent) Chrome/119.0.0.0': ("Chrome", "119.0.0", "Windows"),
})
UNICODE_USER_AGENTS = tuple(agent for agent in USER_AGENTS if not agent.isascii())
_UNKNOWN_AGENT = ("Other", "", "Other")
_UNTAGGED_PATHS = ("help/article?id=42", "über-uns", "search?q=caf%C3%A9", "docs/guide#intro", "页面/未标记", "a/b;c=d")
_GEOS = (
    ("US", "NY", 40.7128, -74.006),
    ("FR", "Île-de-France", 48.8566, 2.3522),
    ("JP", "東京都", 35.6762, 139.6503),
    ("DE", "Bayern", 48.1351, 11.582),
    ("BR", "São Paulo", -23.5505, -46.6333),
    ("CH", "Zürich", 47.3769, 8.5417),
    (None, None, None, None),  # geolocation unknown
)
_POLL_ANSWERS = (0, 3, 7, 9, 10, "Très bien 👍", 'He said "great"', "C:\\answers\\no", "")
_PROPERTY_VALUES: dict[str, tuple[Any, ...]] = {
    "plan": ("free", "pro", "enterprise"),
    "amount": (9.99, 19.5, 250.0, 1200.75),
    "currency": ("USD", "EUR", "JPY", "CHF"),
    "source": ("web", "api", "import"),
    "größe": ("klein", "groß", "très grand"),
}


@dataclass(slots=True)
class Hit:
    """One raw hit. ``day``/``hour`` are its bucket starts in the log's time zone."""

    ts: int
    arrives_at: int
    visitor_id: str
    account_id: str
    app_id: int
    remote_ip: str
    server: str
    user_agent: str
    kind: str
    object_id: str | None
    url: str | None
    properties: dict[str, Any] | None = None
    page_id: str | None = None  # the page a page/feature hit happened on (history's pageId)
    day: int = 0
    hour: int = 0

    def bucket(self, period: str) -> int:
        return self.day if normalize_period(period) == DAY_RANGE else self.hour

    def as_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "arrivesAt": self.arrives_at,
            "visitorId": self.visitor_id,
            "accountId": self.account_id,
            "appId": self.app_id,
            "remoteIp": self.remote_ip,
            "server": self.server,
            "userAgent": self.user_agent,
            "kind": self.kind,
            "objectId": self.object_id,
            "url": self.url,
            "properties": self.properties,
        }


@dataclass(slots=True)
class GuideEvent:
    """One raw guide or poll event: the API row and when it becomes visible."""

    arrives_at: int
    row: dict[str, Any]

    @property
    def ts(self) -> int:
        return self.row["browserTime"]


@dataclass
class _Profile:
    visitor_id: str
    accounts: list[str]
    apps: list[int]
    ips: tuple[str, str]
    servers: tuple[str, str]
    agents: tuple[str, str]
    geo: tuple[Any, ...]


@dataclass
class _AppObjects:
    pages: list[tuple[str, str]] = field(default_factory=list)  # (page id, URL path)
    features: list[tuple[str, str | None]] = field(default_factory=list)  # (feature id, page id)
    track_types: list[tuple[str, list[str]]] = field(default_factory=list)  # (id, property names)
    guides: list[dict[str, Any]] = field(default_factory=list)


class EventLog:
    """The raw activity of one subscription and the queries the API runs over it."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        timezone: str = DEFAULT_TIMEZONE,
        hits_per_day: int = DEFAULT_HITS_PER_DAY,
        days: int = EVENT_DAYS,
        future_days: int = FUTURE_DAYS,
        clock_start_ms: int = CLOCK_START_MS,
        active_visitor_ids: Iterable[str] = VISITOR_SPECIAL_IDS,
        null_accounts: bool = False,
    ):
        """``active_visitor_ids``: visitors given a steady share of the activity (the others
        a random one, possibly none)."""
        if not isinstance(hits_per_day, int) or hits_per_day < 0:
            raise ValueError("hits_per_day must be a non-negative integer")
        if days < 0 or future_days < 0:
            raise ValueError("days and future_days must not be negative")
        self.dataset = dataset
        self.calendar = Calendar(timezone)
        self.hits_per_day = hits_per_day
        self.clock_start_ms = clock_start_ms
        self.start_ms = clock_start_ms - days * DAY_MS
        self.end_ms = clock_start_ms + future_days * DAY_MS
        self.active_visitor_ids = frozenset(active_visitor_ids)
        self._no_account: str | None = None if null_accounts else ""
        self._lock = threading.Lock()
        self._generated = False

    @property
    def timezone(self) -> str:
        return self.calendar.name

    # --- the generated log, built once on first use ---

    @property
    def hits(self) -> list[Hit]:
        """Every hit, visible or not, sorted by ts (ties in generation order)."""
        self._generate()
        return self._hits

    @property
    def guide_events(self) -> list[GuideEvent]:
        """Every guide and poll event, visible or not, sorted by browserTime."""
        self._generate()
        return self._guide_events

    def visible_hits(self, clock_ms: int) -> list[Hit]:
        return [hit for hit in self.hits if hit.arrives_at <= clock_ms]

    def _generate(self) -> None:
        if self._generated:
            return
        with self._lock:
            if self._generated:
                return
            generator = _Generator(self.dataset, self.calendar, self.hits_per_day, self.start_ms, self.end_ms, self.clock_start_ms, self.active_visitor_ids)
            hits = generator.hits()
            self._assign_buckets(hits)
            hits.sort(key=lambda hit: hit.ts)
            self._hits = hits
            self._by_source = _index_by_source(hits)
            self._by_visitor: dict[str, list[Hit]] = {}
            for hit in hits:
                self._by_visitor.setdefault(hit.visitor_id, []).append(hit)
            self._ts_by_visitor = {visitor: [hit.ts for hit in rows] for visitor, rows in self._by_visitor.items()}
            guide_events = generator.guide_events()
            guide_events.sort(key=lambda event: event.ts)
            self._guide_events = guide_events
            self._guide_ts = [event.ts for event in guide_events]
            self._generated = True

    def rewrite_hits(self, rewrite: Callable[[Hit], bool]) -> int:
        """Retagging: ``rewrite`` changes a hit's tagging in place (never its time, visitor or
        app) and says whether it did; every query sees the result at once. Returns the count."""
        hits = self.hits
        with self._lock:
            changed = sum(1 for hit in hits if rewrite(hit))
            if changed:
                self._by_source = _index_by_source(hits)
        return changed

    def _assign_buckets(self, hits: list[Hit]) -> None:
        # Local hours and midnights fall on quarter-hour boundaries (UTC offsets are multiples
        # of 15 minutes), so one lookup per quarter hour serves every hit in it; a quarter
        # whose two ends disagree (none in practice) falls back to a lookup per hit.
        calendar = self.calendar
        quarters: dict[int, tuple[int, int] | None] = {}
        for hit in hits:
            quarter = hit.ts // _QUARTER_HOUR_MS
            if quarter not in quarters:
                low, high = quarter * _QUARTER_HOUR_MS, (quarter + 1) * _QUARTER_HOUR_MS - 1
                at_low = (calendar.bucket_start(low, DAY_RANGE), calendar.bucket_start(low, HOUR_RANGE))
                at_high = (calendar.bucket_start(high, DAY_RANGE), calendar.bucket_start(high, HOUR_RANGE))
                quarters[quarter] = at_low if at_low == at_high else None
            buckets = quarters[quarter]
            if buckets is None:
                buckets = (calendar.bucket_start(hit.ts, DAY_RANGE), calendar.bucket_start(hit.ts, HOUR_RANGE))
            hit.day, hit.hour = buckets

    # --- queries (the API's code path) ---

    def aggregate(
        self,
        source: str,
        period: str,
        start: int,
        end: int,
        clock_ms: int,
        app_ids: Iterable[int],
        object_id: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Rows of ``source`` for the buckets starting in ``[start, end)`` (bucket boundaries),
        from the hits visible at ``clock_ms``; lazily, one bucket at a time."""
        spec = AGGREGATED_SOURCES[source]
        period = normalize_period(period)
        self._generate()
        hits, times = self._by_source[source]
        low, high = bisect.bisect_left(times, start), bisect.bisect_left(times, end)
        return self._aggregated_rows(spec, PERIOD_FIELDS[period], hits, low, high, clock_ms, frozenset(app_ids), object_id)

    def _aggregated_rows(self, spec, bucket_field, hits, low, high, clock_ms, app_ids, object_id):
        day_buckets = bucket_field == "day"
        typed = spec.object_field is not None
        current = None
        # key -> [first hit, numEvents, numMinutes, lastTime, last minute, last hit]
        groups: dict[tuple, list] = {}
        for index in range(low, high):
            hit = hits[index]
            if hit.arrives_at > clock_ms or hit.app_id not in app_ids or (object_id is not None and hit.object_id != object_id):
                continue
            bucket = hit.day if day_buckets else hit.hour
            if bucket != current:
                yield from self._rows_of(spec, bucket_field, current, groups)
                groups = {}
                current = bucket
            key = (hit.visitor_id, hit.account_id, hit.app_id, hit.remote_ip, hit.server, hit.user_agent, hit.object_id if typed else None)
            minute = hit.ts // MINUTE_MS
            group = groups.get(key)
            if group is None:
                groups[key] = [hit, 1, 1, hit.ts, minute, hit]
            else:
                group[1] += 1
                if minute != group[4]:
                    group[2] += 1
                    group[4] = minute
                group[3] = hit.ts
                group[5] = hit
        yield from self._rows_of(spec, bucket_field, current, groups)

    def _rows_of(self, spec: AggregatedSource, bucket_field: str, bucket: int | None, groups: dict[tuple, list]) -> Iterator[dict[str, Any]]:
        for first, num_events, num_minutes, last_time, _minute, last in groups.values():
            row = {"accountId": first.account_id or self._no_account, "visitorId": first.visitor_id, "appId": first.app_id, bucket_field: bucket}
            if spec.object_field is not None:
                row[spec.object_field] = first.object_id
            row["numEvents"] = num_events
            row["numMinutes"] = num_minutes
            row["firstTime"] = first.ts
            row["lastTime"] = last_time
            row["remoteIp"] = first.remote_ip
            row["server"] = first.server
            row["userAgent"] = first.user_agent
            row["parameters"] = {}
            if spec.name == "trackEvents":
                row["properties"] = dict(last.properties or {})
            yield row

    def raw_events(self, source: str, start: int, end: int, clock_ms: int, app_ids: Iterable[int], guide_id: str | None = None) -> Iterator[dict[str, Any]]:
        """guideEvents / pollEvents rows with ``browserTime`` in ``[start, end)``, visible at ``clock_ms``."""
        types = RAW_SOURCES[source]
        self._generate()
        events = self._guide_events
        low, high = bisect.bisect_left(self._guide_ts, start), bisect.bisect_left(self._guide_ts, end)
        app_ids = frozenset(app_ids)
        return (
            {**event.row, "accountId": event.row["accountId"] or self._no_account}
            for event in events[low:high]
            if event.arrives_at <= clock_ms and event.row["type"] in types and event.row["appId"] in app_ids and (guide_id is None or event.row["guideId"] == guide_id)
        )

    def has_visitor(self, visitor_id: str) -> bool:
        return any(row["visitorId"] == visitor_id for row in self.dataset.visitors)

    def history(self, visitor_id: str, start_ms: int, clock_ms: int) -> list[dict[str, Any]]:
        """One day (``[start_ms, start_ms + 24 h)``) of the visitor's visible activity;
        ``[]`` when ``start_ms`` is older than the 180 days Pendo keeps."""
        if start_ms < clock_ms - HISTORY_RETENTION_MS:
            return []
        self._generate()
        hits, times = self._by_visitor.get(visitor_id, []), self._ts_by_visitor.get(visitor_id, [])
        low, high = bisect.bisect_left(times, start_ms), bisect.bisect_left(times, start_ms + DAY_MS)
        entries: list[dict[str, Any]] = []
        previous_key = None
        for hit in hits[low:high]:
            if hit.arrives_at > clock_ms:
                continue
            key = (hit.kind, hit.object_id, hit.app_id, hit.url, hit.user_agent)
            if key == previous_key:
                entry = entries[-1]
                entry["lastTs"] = hit.ts
                entry["duration"] = hit.ts - entry["ts"]
                continue
            previous_key = key
            name, version, operating_system = USER_AGENTS.get(hit.user_agent, _UNKNOWN_AGENT)
            entries.append({
                "type": hit.kind,
                "ts": hit.ts,
                "lastTs": hit.ts,
                "pageId": hit.page_id,
                "featureId": hit.object_id if hit.kind == "feature" else None,
                "guideId": None,
                "guideStepId": None,
                "uri": hit.url,
                "untaggedUrl": hit.url if hit.kind == "untagged" else None,
                "duration": 0,
                "parsedUserAgent": {"name": name, "version": version, "os": operating_system},
                "appId": hit.app_id,
            })
        return entries


# --- generation ----------------------------------------------------------------


class _Generator:
    def __init__(self, dataset: Dataset, calendar: Calendar, hits_per_day: int, start_ms: int, end_ms: int, clock_start_ms: int, active_visitor_ids: frozenset[str]):
        self.dataset = dataset
        self.active_visitor_ids = active_visitor_ids
        self.calendar = calendar
        self.hits_per_day = hits_per_day
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.clock_start_ms = clock_start_ms
        self.days = (end_ms - start_ms) // DAY_MS
        # Not seeded by the time zone: only the boundary hits depend on it.
        self.seed = f"{dataset.seed}:events"
        self.profiles = self._profiles()
        self.objects = self._objects()

    def _rng(self, section: str) -> random.Random:
        return random.Random(f"{self.seed}:{section}")

    # --- who and what ---

    def _profiles(self) -> list[tuple[_Profile, int]]:
        rng = self._rng("profiles")
        agents = list(USER_AGENTS)
        profiles = []
        for visitor in [*self.dataset.visitors, *self.dataset.deleted_visitors]:
            metadata = visitor["metadata"]
            auto = metadata["auto"]
            visitor_id = visitor["visitorId"]
            apps = [int(group.split("__", 1)[1]) for group in metadata if group.startswith("auto__")] or [self.dataset.default_app_id]
            primary_agent = auto.get("lastuseragent") or rng.choice(agents)
            primary_server = auto.get("lastservername") or rng.choice(_SERVERS)
            profile = _Profile(
                visitor_id=visitor_id,
                accounts=list(auto.get("accountids") or []),
                apps=apps,
                ips=(_ip(rng), _ip(rng)),
                servers=(primary_server, rng.choice([server for server in _SERVERS if server != primary_server])),
                agents=(primary_agent, rng.choice([agent for agent in agents if agent != primary_agent])),
                geo=rng.choice(_GEOS),
            )
            weight = 3 if visitor_id in self.active_visitor_ids else rng.choice((0, 1, 1, 1, 2, 2, 3, 5, 8))
            profiles.append((profile, weight))
        return profiles

    def _objects(self) -> dict[int, _AppObjects]:
        objects = {app_id: _AppObjects() for app_id in self.dataset.app_ids}
        page_paths = {}
        for page in self.dataset.pages:
            rule = page["rules"][0]["rule"] if page.get("rules") else "//*/"
            page_paths[page["id"]] = rule.rsplit("/", 1)[-1]
            objects[page["appId"]].pages.append((page["id"], page_paths[page["id"]]))
        for feature in self.dataset.features:
            objects[feature["appId"]].features.append((feature["id"], feature.get("pageId")))
        for track_type in self.dataset.track_types:
            objects[track_type["appId"]].track_types.append((track_type["id"], list(track_type.get("eventPropertyNameList") or [])))
        for guide in self.dataset.guides:
            if guide.get("steps"):
                objects[guide["appId"]].guides.append(guide)
        self.page_paths = page_paths
        self.feature_pages = {feature_id: page_id for app in objects.values() for feature_id, page_id in app.features}
        self.track_properties = {track_type_id: names for app in objects.values() for track_type_id, names in app.track_types}
        self.object_ids = {}
        for app_id, app in objects.items():
            self.object_ids[(app_id, "page")] = [page_id for page_id, _ in app.pages]
            self.object_ids[(app_id, "feature")] = [feature_id for feature_id, _ in app.features]
            self.object_ids[(app_id, "track")] = [track_type_id for track_type_id, _ in app.track_types]
        return objects

    def _active_profiles(self) -> tuple[list[_Profile], list[int]]:
        active = [(profile, weight) for profile, weight in self.profiles if weight > 0]
        return [profile for profile, _ in active], list(_cumulative(weight for _, weight in active))

    # --- hits ---

    def hits(self) -> list[Hit]:
        rng = self._rng("hits")
        profiles, cumulative = self._active_profiles()
        target = self.hits_per_day * self.days
        hits: list[Hit] = []
        if not profiles or target <= 0:
            return hits
        while len(hits) < target:
            profile = rng.choices(profiles, cum_weights=cumulative)[0]
            app_id = rng.choice(profile.apps)
            account_id = rng.choice(profile.accounts) if profile.accounts else ""
            remote_ip = profile.ips[0] if rng.random() < 0.85 else profile.ips[1]
            server = profile.servers[0] if rng.random() < 0.85 else profile.servers[1]
            agent = profile.agents[0] if rng.random() < 0.85 else profile.agents[1]
            ts = rng.randrange(self.start_ms, self.end_ms)
            for _ in range(min(rng.choice((1, 1, 2, 3, 4, 6, 9, 14)), target - len(hits))):
                kind = rng.choices(KINDS, weights=_KIND_WEIGHTS)[0]
                hits.append(self._hit(rng, ts, profile.visitor_id, account_id, app_id, remote_ip, server, agent, kind))
                ts += rng.choice((0, 500, 4_000, 20_000, 45_000, 90_000, 300_000))
                if ts >= self.end_ms:
                    break
        hits += self._twins(rng, hits)
        hits += self._boundary_hits(rng, profiles, cumulative)
        return hits

    def _object_ids(self, app_id: int, kind: str) -> list[str]:
        return self.object_ids.get((app_id, kind), [])

    def _where(self, kind: str, app_id: int, object_id: str | None, server: str) -> tuple[str | None, str | None]:
        """(url, pageId) of a hit on ``object_id``."""
        if kind == "page":
            return f"https://{server}/{self.page_paths[object_id]}", object_id
        if kind == "feature":
            page_id = self.feature_pages[object_id]
            return (f"https://{server}/{self.page_paths[page_id]}" if page_id in self.page_paths else f"https://{server}/"), page_id
        return None, None

    def _hit(self, rng, ts, visitor_id, account_id, app_id, remote_ip, server, agent, kind, object_id=None) -> Hit:
        if kind != "untagged" and not self._object_ids(app_id, kind):
            kind = "untagged"
        properties = url = page_id = None
        if kind == "untagged":
            object_id = None
            url = f"https://{server}/{rng.choice(_UNTAGGED_PATHS)}"
        else:
            object_id = object_id or rng.choice(self._object_ids(app_id, kind))
            url, page_id = self._where(kind, app_id, object_id, server)
        if kind == "track":
            names = self.track_properties[object_id]
            properties = {name: rng.choice(_PROPERTY_VALUES.get(name, ("x",))) for name in (names or ["plan"])[:3]}
            if rng.random() < 0.5:
                properties["seats"] = rng.randrange(1, 50)
        return Hit(ts, ts + _arrival_delay(rng), visitor_id, account_id, app_id, remote_ip, server, agent, kind, object_id, url, properties, page_id)

    def _twins(self, rng: random.Random, hits: list[Hit]) -> list[Hit]:
        """For each tagged kind and each dimension, hits equal to a visible hit of that kind
        but for that one dimension (an app change brings an object of the other app)."""
        clock = self.clock_start_ms
        agents = list(USER_AGENTS)
        account_ids = [row["accountId"] for row in self.dataset.accounts]
        twins = []
        for kind in ("page", "feature", "track"):
            bases = [hit for hit in hits if hit.kind == kind and hit.account_id and hit.arrives_at <= clock and hit.ts < clock - DAY_MS]
            if not bases:
                continue
            for dimension in ("remoteIp", "server", "userAgent", "accountId", "appId", "objectId"):
                for _ in range(2):
                    base = rng.choice(bases)
                    twin = Hit(
                        base.ts, base.arrives_at, base.visitor_id, base.account_id, base.app_id, base.remote_ip, base.server, base.user_agent,
                        kind, base.object_id, base.url, dict(base.properties) if base.properties is not None else None, base.page_id,
                    )
                    if dimension == "remoteIp":
                        twin.remote_ip = _ip(rng)
                    elif dimension == "server":
                        twin.server = rng.choice([server for server in _SERVERS if server != base.server])
                    elif dimension == "userAgent":
                        twin.user_agent = rng.choice([agent for agent in UNICODE_USER_AGENTS if agent != base.user_agent] or agents)
                    elif dimension == "accountId":
                        others = [account for account in account_ids if account != base.account_id]
                        if not others:
                            continue
                        twin.account_id = rng.choice(others)
                    elif dimension == "appId":
                        others = [app_id for app_id in self.objects if app_id != base.app_id and self._object_ids(app_id, kind)]
                        if not others:
                            continue
                        twin.app_id = rng.choice(others)
                        twin.object_id = rng.choice(self._object_ids(twin.app_id, kind))
                    else:
                        others = [object_id for object_id in self._object_ids(base.app_id, kind) if object_id != base.object_id]
                        if not others:
                            continue
                        twin.object_id = rng.choice(others)
                    twin.url, twin.page_id = self._where(kind, twin.app_id, twin.object_id, twin.server)
                    twins.append(twin)
        return twins

    def _boundary_hits(self, rng: random.Random, profiles: list[_Profile], cumulative: list[int]) -> list[Hit]:
        """Hits exactly on local midnights and hour tops, and 1 ms before a midnight."""
        hits = []
        first_day = self.calendar.ceil(self.start_ms + 1, DAY_RANGE)
        midnights = self.calendar.buckets(first_day, self.calendar.bucket_start(self.clock_start_ms, DAY_RANGE), DAY_RANGE)
        for index, midnight in enumerate(midnights[:: max(1, len(midnights) // 8)]):
            profile = rng.choices(profiles, cum_weights=cumulative)[0]
            app_id = rng.choice(profile.apps)
            account_id = rng.choice(profile.accounts) if profile.accounts else ""
            dimensions = (profile.visitor_id, account_id, app_id, profile.ips[0], profile.servers[0], profile.agents[0])
            pages = self.objects[app_id].pages
            # The same page on both sides of the midnight: two rows differing in the bucket only.
            page_id = rng.choice(pages)[0] if pages else None
            for ts in (midnight - 1, midnight, midnight + (index % 20 + 1) * HOUR_MS):
                hit = self._hit(rng, ts, *dimensions, "page", object_id=page_id)
                hit.arrives_at = ts + rng.randrange(MINUTE_MS, HOUR_MS)  # promptly: boundaries are visible
                hits.append(hit)
        return hits

    # --- guide and poll events ---

    def guide_events(self) -> list[GuideEvent]:
        rng = self._rng("guides")
        profiles, cumulative = self._active_profiles()
        target = max(1, self.hits_per_day // 4) * self.days if self.hits_per_day else 0
        events: list[GuideEvent] = []
        keys: set[tuple] = set()
        if not profiles or target <= 0:
            return events
        sessions = 0
        while len(events) < target:
            profile = rng.choices(profiles, cum_weights=cumulative)[0]
            apps = [app_id for app_id in profile.apps if self.objects[app_id].guides]
            if not apps:
                sessions += 1
                if sessions > target * 10:
                    break
                continue
            sessions += 1
            app_id = rng.choice(apps)
            guides = self.objects[app_id].guides
            if sessions <= _FORCED_SESSIONS:  # the forced cases need several steps
                guides = [guide for guide in guides if len(guide["steps"]) > 1] or guides
            guide = rng.choice(guides)
            self._guide_session(rng, profile, app_id, guide, rng.randrange(self.start_ms, self.end_ms), sessions, events, keys)
        return events

    def _guide_session(self, rng, profile, app_id, guide, ts, session, events, keys) -> None:
        account_id = rng.choice(profile.accounts) if profile.accounts else ""
        server = profile.servers[0]
        pages = self.objects[app_id].pages
        country, region, latitude, longitude = profile.geo
        common = {
            "accountId": account_id,
            "visitorId": profile.visitor_id,
            "appId": app_id,
            "country": country,
            "region": region,
            "latitude": latitude,
            "longitude": longitude,
            "loadTime": rng.randrange(40, 4000),
            "remoteIp": profile.ips[0],
            "serverName": server,
            "url": f"https://{server}/{rng.choice(pages)[1]}" if pages else f"https://{server}/",
            "userAgent": profile.agents[0],
        }
        guide_timestamp = guide.get("publishedAt") or guide["createdAt"]
        # The first sessions force the shared-browserTime cases; later ones draw them.
        force = session <= _FORCED_SESSIONS
        delay = _arrival_delay(rng)

        def emit(event_type, step, at, poll_id=None, answer=None):
            key = (at, profile.visitor_id, account_id, app_id, guide["id"], step["id"], event_type, poll_id)
            if key in keys:
                return
            keys.add(key)
            row = {
                "type": event_type,
                "guideId": guide["id"],
                "guideStepId": step["id"],
                "pollId": poll_id,
                "pollResponse": answer,
                "browserTime": at,
            }
            if event_type != "guideActivity":  # guideActivity rows carry no guideTimestamp
                row["guideTimestamp"] = guide_timestamp
            row.update(common)
            events.append(GuideEvent(at + delay + rng.randrange(0, 5_000), row))

        steps = guide["steps"]
        for index, step in enumerate(steps):
            emit("guideSeen", step, ts)
            if index + 1 < len(steps) and force and session % 2 == 0:
                emit("guideSeen", steps[index + 1], ts)  # two steps seen at once: differ in step only
            if force or rng.random() < 0.3:
                emit("guideActivity", step, ts)  # differs from guideSeen in type only
            ts += rng.choice((1_500, 4_000, 12_000, 40_000))
            for poll_id in step.get("pollIds") or []:
                emit("pollResponse", step, ts, poll_id, rng.choice(_POLL_ANSWERS))
                ts += rng.choice((800, 3_000))
            if index + 1 == len(steps) or rng.random() < 0.25:
                emit(rng.choice(("guideDismissed", "guideDismissed", "guideSnoozed")), step, ts)
                return
            emit("guideAdvanced", step, ts)  # shares browserTime with guideSeen of the next step


def _index_by_source(hits: list[Hit]) -> dict[str, tuple[list[Hit], list[int]]]:
    """source -> (its hits in ts order, their ts): what the aggregated sources bisect."""
    index = {}
    for name, source in AGGREGATED_SOURCES.items():
        rows = [hit for hit in hits if hit.kind in source.kinds]
        index[name] = (rows, [hit.ts for hit in rows])
    return index


def _cumulative(weights: Iterable[int]) -> Iterator[int]:
    total = 0
    for weight in weights:
        total += weight
        yield total


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return f"2001:db8:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"
    return f"{rng.choice((10, 84, 172, 192, 203))}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _arrival_delay(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.04:
        return rng.randrange(2 * DAY_MS, 9 * DAY_MS)
    if roll < 0.15:
        return rng.randrange(4 * HOUR_MS, 6 * HOUR_MS)
    return rng.randrange(MINUTE_MS, HOUR_MS)
