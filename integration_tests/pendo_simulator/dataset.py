"""Deterministic Pendo-shaped data generated from a seed (never from the wall clock).

Each section (accounts, visitors, each object kind, ...) draws from its own
``random.Random`` seeded by ``"<seed>:<section>"``, so the same seed always yields the
same rows. The rows are built to trip connectors up: timestamps that tie by the dozen,
nulls, unicode, ids containing quotes and backslashes, ids whose sort order differs
from the order rows are returned in.
"""
from __future__ import annotations

import random
import re
import string
import threading
from dataclasses import dataclass
from typing import Any

CLOCK_START_MS = 1_793_491_200_000  # 2026-11-01T00:00:00Z, the simulator's initial "now"
DATA_START_MS = 1_748_736_000_000  # 2025-06-01T00:00:00Z, nothing is older
# Generated times stay an hour clear of the clock, so a touched row is recognisable
# even when the clock has not been advanced.
LATEST_GENERATED_MS = CLOCK_START_MS - 3_600_000

DEFAULT_APP_ID = -323232
APPS = (
    {"id": DEFAULT_APP_ID, "name": "Acme Web"},
    {"id": 5668600916475904, "name": "Acme iOS 📱"},
    {"id": 6493071244623872, "name": "Acme Android – Beta"},
)
ANONYMOUS_PREFIX = "_PENDO_T_"

TIE_COUNT = 3  # lastupdated / lastUpdatedAt values shared by many rows
TIE_SHARE = 0.6  # share of rows whose last-updated time is one of the tie values
NULL_SHARE = 0.12  # share of null custom values
ANONYMOUS_SHARE = 0.2

ACCOUNT_SPECIAL_IDS = ("acme-zürich", 'quote"acct', "back\\slash\\acct", "東京支社", "🚀-launchpad")
VISITOR_SPECIAL_IDS = ("josé.garcía@example.com", 'say "hi"', "DOMAIN\\jdoe", "李雷", "dev-👩‍💻")

_PENDO_ID_ALPHABET = string.ascii_letters + string.digits + "-_"
_REVISION_SUFFIX = re.compile(r" \(rev \d+\)$")


@dataclass(frozen=True)
class FieldSpec:
    """One metadata field: its schema descriptor and, for custom fields, how values look."""

    name: str
    type: str
    display: str
    pool: tuple = ()  # choices for string and list values
    per_app: bool = False
    element_type: str = ""


ACCOUNT_CUSTOM_FIELDS = (
    FieldSpec("industry", "string", "Industry", ("Software", "Santé", "金融サービス", "Retail 🛍️", "Öl & Gas", 'The "Other" one')),
    FieldSpec("contract_start", "time", "Contract Start"),
    FieldSpec("is_paying", "boolean", "Is Paying"),
    FieldSpec("seat_count", "integer", "Seat Count"),
    FieldSpec("arr_usd", "float", "ARR (USD)"),
    FieldSpec("csm_notes", "", "CSM Notes"),
    FieldSpec("product_lines", "list", "Product Lines", ("analytics", "guides", "feedback", "orchestrate"), element_type="string"),
    FieldSpec("région", "string", "Région", ("Île-de-France", "Bayern", "Kantō", "Ontario")),
)
VISITOR_CUSTOM_FIELDS = (
    FieldSpec("role", "string", "Role", ("admin", "éditeur", "viewer", "オーナー", "guest 👀")),
    FieldSpec("signup_date", "time", "Signup Date"),
    FieldSpec("beta_opt_in", "boolean", "Beta Opt-in"),
    FieldSpec("login_count", "integer", "Login Count"),
    FieldSpec("nps_2025", "float", "NPS 2025"),
    FieldSpec("last_import_value", "", "Last Import Value"),
    FieldSpec("teams", "list", "Teams", ("core", "growth", "données", "基盤"), element_type="string"),
)
# Values of the type-less ("") custom fields: every JSON kind but objects.
_MIXED_VALUES = ("42", 42, 2.5, True, False, "n/a", "ünïcode", 0, -7)

ACCOUNT_SCHEMA_FIELDS = {
    "agent": (
        FieldSpec("name", "string", "Name"),
        FieldSpec("planlevel", "string", "Plan Level"),
        FieldSpec("creationdate", "time", "Creation Date"),
    ),
    "auto": (
        FieldSpec("id", "string", "Account ID"),
        FieldSpec("firstvisit", "time", "First Visit", per_app=True),
        FieldSpec("lastvisit", "time", "Last Visit", per_app=True),
        FieldSpec("lastupdated", "time", "Last Updated"),
        FieldSpec("idhash", "integer", "ID Hash"),
    ),
    "custom": ACCOUNT_CUSTOM_FIELDS,
    "salesforce": (
        FieldSpec("sfdc_id", "string", "Salesforce ID"),
        FieldSpec("account_owner", "string", "Account Owner"),
        FieldSpec("annual_revenue", "float", "Annual Revenue"),
    ),
}
VISITOR_SCHEMA_FIELDS = {
    "agent": (
        FieldSpec("email", "string", "Email"),
        FieldSpec("name", "string", "Name"),
        FieldSpec("language", "string", "Language"),
    ),
    "auto": (
        FieldSpec("id", "string", "Visitor ID"),
        FieldSpec("accountid", "string", "Account ID"),
        FieldSpec("accountids", "list", "Account IDs", element_type="string"),
        FieldSpec("firstvisit", "time", "First Visit", per_app=True),
        FieldSpec("lastvisit", "time", "Last Visit", per_app=True),
        FieldSpec("lastupdated", "time", "Last Updated"),
        FieldSpec("lastbrowsername", "string", "Last Browser Name", per_app=True),
        FieldSpec("lastbrowserversion", "string", "Last Browser Version"),
        FieldSpec("lastoperatingsystem", "string", "Last Operating System", per_app=True),
        FieldSpec("lastservername", "string", "Last Server Name", per_app=True),
        FieldSpec("lastuseragent", "string", "Last User Agent", per_app=True),
        FieldSpec("idhash", "integer", "ID Hash"),
    ),
    "custom": VISITOR_CUSTOM_FIELDS,
    "pendo": (FieldSpec("donotprocess", "boolean", "Do Not Process"),),
}

_COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Café Ünïcorn", "株式会社テスト", "Ωmega 🚀", "Nørd", "O'Malley & Söhne", "Wayne")
_COMPANY_SUFFIXES = ("GmbH", "Inc.", "Ltd", "SAS", "K.K.", "")
_FIRST_NAMES = ("Ana", "Zoë", "José", "Łukasz", "Søren", "Chloé", "Mia", "Oliver", "さくら", "王芳", "Raj", "Fatima")
_LAST_NAMES = ("López", "Müller", "O'Brien", "Nakamura", "Kowalski", "Smith", "Ødegaard", "陈", "Nguyễn", "Dubois")
_HANDLES = ("maria.k", "jdoe", "sam", "li.wei", "anna_b", "z.adams", "Mike.O", "x")
_LANGUAGES = ("en-US", "fr-FR", "de-DE", "ja-JP", "zh-CN", "pt-BR", None)
_PLAN_LEVELS = ("free", "pro", "enterprise", None)
_BROWSERS = (
    ("Chrome", "120.0.0", "Mac OS X", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"),
    ("Firefox", "121.0", "Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"),
    ("Safari", "17.2", "iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"),
    ("Edge", "120.0.2210", "Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"),
)
_SERVERS = ("app.example.com", "staging.example.com", "app.exemple.fr", "localhost:8080")

_PAGE_NAMES = ("Dashboard", "Paramètres", "ダッシュボード", "Checkout 🛒", 'Reports "beta"', "Settings \\ Advanced", "Onboarding – Step 1", "Invoices", "Profil utilisateur", "搜索结果", "Billing", "Home")
_PAGE_SLUGS = ("dashboard", "settings", "checkout", "reports", "billing", "profile", "search", "café")
_FEATURE_NAMES = ("Save button", "Export CSV", "Filtre avancé", "検索ボックス", "Share 🔗", 'Click "Upgrade"', "Sidebar toggle", "Help menu", "Datumsauswahl", "Delete row")
_ELEMENT_PATHS = ("#save", 'button[data-test="save"]', ".toolbar > .export", "a:contains('Aide')", "div.grid\\:row", "#検索")
_GUIDE_NAMES = ("Welcome tour 👋", "Nouveautés de mars", "NPS survey", "新機能のお知らせ", "Upgrade prompt", "Release notes \\ v2", "Onboarding checklist", 'Feedback "quick poll"')
_GUIDE_STATES = ("public", "draft", "disabled", "staged")
_LAUNCH_METHODS = ("auto", "badge", "dom", "launcher", "api")
_STEP_TYPES = ("lightbox", "tooltip", "banner", "poll")
_TRACK_NAMES = ("invoice_paid", "file_uploaded", "signup_completed", "rapport_généré", "エクスポート完了", "trial_started", "seat_added", "api_key_created")
_EVENT_PROPERTIES = ("plan", "amount", "currency", "source", "größe")
_REPORT_NAMES = ("Weekly actives", "Comptes à risque", "Feature adoption 📈", "ゲストの利用状況", 'Power users "top 10"', "Churn \\ retention")
_REPORT_KINDS = ("visitor", "account", "path", "funnel", "retention")
_SEGMENT_NAMES = ("Admins", "Utilisateurs français", "Trial accounts", "エンタープライズ", "Beta 🧪", 'Plan = "pro"')
_GROUP_NAMES = ("Ungrouped", "Navigation", "Paramètres", "Growth 🚀")


def _time(rng: random.Random, low: int = DATA_START_MS, high: int = LATEST_GENERATED_MS) -> int:
    return rng.randrange(low, high + 1)


def _non_integral(rng: random.Random, high: int = 100_000) -> float:
    return rng.randrange(high) + rng.choice((0.25, 0.5, 0.75))


def _pendo_id(rng: random.Random) -> str:
    return "".join(rng.choice(_PENDO_ID_ALPHABET) for _ in range(27))


def _unique_ids(rng: random.Random, count: int, make_id, specials: tuple[str, ...]) -> list[str]:
    """``count`` distinct ids from ``make_id``, with the special ids at random positions."""
    taken = set(specials)
    ids: list[str] = []
    while len(ids) < count:
        candidate = make_id(rng)
        if candidate not in taken:
            taken.add(candidate)
            ids.append(candidate)
    positions = rng.sample(range(count), min(count, len(specials)))
    for position, special in zip(positions, specials):
        ids[position] = special
    return ids


def _custom_value(rng: random.Random, spec: FieldSpec) -> Any:
    if rng.random() < NULL_SHARE:
        return None
    if spec.type == "string":
        return rng.choice(spec.pool)
    if spec.type == "time":
        return _time(rng)
    if spec.type == "boolean":
        return rng.random() < 0.5
    if spec.type == "integer":
        return rng.randrange(5000)
    if spec.type == "float":
        return _non_integral(rng)
    if spec.type == "list":
        return rng.sample(spec.pool, rng.randrange(len(spec.pool) + 1))
    return rng.choice(_MIXED_VALUES)


def _descriptor(spec: FieldSpec) -> dict[str, Any]:
    return {
        "Type": spec.type,
        "DisplayName": spec.display,
        "ElementType": spec.element_type,
        "ElementFormat": "",
        "Dirty": False,
        "isHidden": False,
        "isDeleted": False,
        "isCalculated": False,
        "isPerApp": spec.per_app,
        "neverIndex": False,
    }


def build_schema(groups: dict[str, tuple[FieldSpec, ...]]) -> dict[str, dict[str, dict[str, Any]]]:
    return {group: {spec.name: _descriptor(spec) for spec in specs} for group, specs in groups.items()}


class Dataset:
    """All rows of one simulated subscription. Rows are mutated only by ``touch``."""

    def __init__(self, *, seed: int = 7, accounts: int = 120, visitors: int = 200, objects_per_app: int = 12):
        if min(accounts, visitors, objects_per_app) < 0:
            raise ValueError("row counts must not be negative")
        self.seed = seed
        self.apps = [dict(app) for app in APPS]
        ties = self._rng("ties").sample(range(DATA_START_MS // 60_000, LATEST_GENERATED_MS // 60_000), TIE_COUNT)
        self.tie_times = sorted(minute * 60_000 for minute in ties)
        self.users = self._users()
        self.accounts = self._accounts(accounts)
        self.visitors = self._visitors(visitors)
        # Visitors deleted since their activity (the deleted_visitors variant): no longer
        # served, but the event log still holds what they did.
        self.deleted_visitors: list[dict[str, Any]] = []
        self.pages = self._per_app("pages", objects_per_app, self._page)
        self.features = self._per_app("features", objects_per_app, self._feature)
        self.guides = self._per_app("guides", objects_per_app, self._guide)
        self.track_types = self._per_app("track_types", objects_per_app, self._track_type)
        self.reports = self._subscription_wide("reports", objects_per_app, self._report)
        self.segments = self._subscription_wide("segments", objects_per_app, self._segment)
        self.account_schema = build_schema(ACCOUNT_SCHEMA_FIELDS)
        self.visitor_schema = build_schema(VISITOR_SCHEMA_FIELDS)
        self._touch_lock = threading.Lock()
        self._touches = 0

    @property
    def default_app_id(self) -> int:
        return DEFAULT_APP_ID

    @property
    def app_ids(self) -> list[int]:
        return [app["id"] for app in self.apps]

    def rows(self, kind: str) -> list[dict[str, Any]]:
        """The rows of ``kind``: accounts, visitors, pages, features, guides, track_types, reports, segments."""
        if kind not in TOUCHABLE_KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(TOUCHABLE_KINDS)}")
        return getattr(self, kind)

    def touch(self, kind: str, count: int, now_ms: int) -> list[str]:
        """Mark ``count`` deterministically chosen rows of ``kind`` as updated at ``now_ms``
        and change their content; returns their ids."""
        rows = self.rows(kind)
        with self._touch_lock:
            self._touches += 1
            revision = self._touches
            chosen = self._rng(f"touch:{revision}").sample(rows, min(max(count, 0), len(rows)))
            for row in chosen:
                _touch_row(kind, row, now_ms, revision)
        return [_row_id(kind, row) for row in chosen]

    def _rng(self, section: str) -> random.Random:
        return random.Random(f"{self.seed}:{section}")

    def _updated_at(self, rng: random.Random) -> int:
        return rng.choice(self.tie_times) if rng.random() < TIE_SHARE else _time(rng)

    def _users(self) -> list[dict[str, Any]]:
        rng = self._rng("users")
        users = []
        for index in range(6):
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            users.append({
                "id": str(rng.randrange(10**15, 10**16)),
                "username": f"user{index}@acme.example",
                "first": first,
                "last": last,
                "role": rng.choice((1, 2, 8)),
                "userType": rng.choice(("", "admin", "viewer")),
            })
        return users

    def _user(self, rng: random.Random) -> dict[str, Any]:
        return dict(rng.choice(self.users))

    # --- accounts and visitors -------------------------------------------------

    def _accounts(self, count: int) -> list[dict[str, Any]]:
        rng = self._rng("accounts")
        ids = _unique_ids(rng, count, _random_account_id, ACCOUNT_SPECIAL_IDS)
        return [self._account(rng, account_id) for account_id in ids]

    def _account(self, rng: random.Random, account_id: str) -> dict[str, Any]:
        first = _time(rng)
        last = _time(rng, first)
        metadata: dict[str, Any] = {
            "auto": {"id": account_id, "firstvisit": first, "lastvisit": last, "lastupdated": self._updated_at(rng), "idhash": rng.getrandbits(32)},
        }
        for app_id in _used_apps(rng):
            app_first = _time(rng, first, last)
            metadata[f"auto__{app_id}"] = {"firstvisit": app_first, "lastvisit": _time(rng, app_first, last)}
        metadata["agent"] = {
            "name": f"{rng.choice(_COMPANIES)} {rng.choice(_COMPANY_SUFFIXES)}".strip(),
            "planlevel": rng.choice(_PLAN_LEVELS),
            "creationdate": _time(rng) if rng.random() < 0.8 else None,
        }
        metadata["custom"] = {spec.name: _custom_value(rng, spec) for spec in ACCOUNT_CUSTOM_FIELDS}
        if rng.random() < 0.5:
            metadata["salesforce"] = {
                "sfdc_id": f"0015e{rng.getrandbits(40):010X}",
                "account_owner": f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}" if rng.random() < 0.9 else None,
                "annual_revenue": _non_integral(rng, 10**8),
            }
        return {"accountId": account_id, "metadata": metadata}

    def _visitors(self, count: int) -> list[dict[str, Any]]:
        rng = self._rng("visitors")
        ids = _unique_ids(rng, count, _random_visitor_id, VISITOR_SPECIAL_IDS)
        account_ids = [account["accountId"] for account in self.accounts]
        return [self._visitor(rng, visitor_id, account_ids) for visitor_id in ids]

    def _visitor(self, rng: random.Random, visitor_id: str, account_ids: list[str]) -> dict[str, Any]:
        anonymous = visitor_id.startswith(ANONYMOUS_PREFIX)
        accounts = [] if anonymous or not account_ids else rng.sample(account_ids, min(len(account_ids), rng.choice((1, 1, 1, 2))))
        browser, version, operating_system, user_agent = rng.choice(_BROWSERS)
        server = rng.choice(_SERVERS)
        first = _time(rng)
        last = _time(rng, first)
        metadata: dict[str, Any] = {
            "auto": {
                "id": visitor_id,
                "accountid": accounts[0] if accounts else None,
                "accountids": accounts,
                "firstvisit": first,
                "lastvisit": last,
                "lastupdated": self._updated_at(rng),
                "lastbrowsername": browser,
                "lastbrowserversion": version,
                "lastoperatingsystem": operating_system,
                "lastservername": server,
                "lastuseragent": user_agent,
                "idhash": rng.getrandbits(32),
            },
        }
        for app_id in _used_apps(rng):
            app_first = _time(rng, first, last)
            metadata[f"auto__{app_id}"] = {
                "firstvisit": app_first,
                "lastvisit": _time(rng, app_first, last),
                "lastbrowsername": browser,
                "lastoperatingsystem": operating_system,
                "lastservername": server,
                "lastuseragent": user_agent,
            }
        name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
        metadata["agent"] = {
            "email": None if anonymous or rng.random() < 0.1 else (visitor_id if "@" in visitor_id else f"{rng.choice(_HANDLES)}@example.com"),
            "name": None if anonymous else name,
            "language": rng.choice(_LANGUAGES),
        }
        metadata["custom"] = {spec.name: _custom_value(rng, spec) for spec in VISITOR_CUSTOM_FIELDS}
        metadata["pendo"] = {"donotprocess": rng.random() < 0.05}
        return {"visitorId": visitor_id, "metadata": metadata}

    # --- product objects -------------------------------------------------------

    def _per_app(self, section: str, count: int, make_row) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for app in self.apps:
            rng = self._rng(f"{section}:{app['id']}")
            groups = [self._group(rng, name) for name in _GROUP_NAMES]
            rows.extend(make_row(rng, app["id"], index, groups) for index in range(count))
        return rows

    def _subscription_wide(self, section: str, count: int, make_row) -> list[dict[str, Any]]:
        rng = self._rng(section)
        # The first rows cover a subscription-wide one (null appId) and every app once.
        app_choices = [None, *self.app_ids]
        return [make_row(rng, app_choices[index] if index < len(app_choices) else rng.choice(app_choices), index) for index in range(count)]

    def _group(self, rng: random.Random, name: str) -> dict[str, Any]:
        return {"id": _pendo_id(rng), "name": name, "description": rng.choice(("", "Auto-created", None)), "color": rng.choice((".groupColor01", ".groupColor07", "#e6e6e6"))}

    def _object_base(self, rng: random.Random, kind: str, app_id: int | None, name: str) -> dict[str, Any]:
        object_id = _pendo_id(rng)
        updated = self._updated_at(rng)
        return {
            "id": object_id,
            "appId": app_id,
            "name": name,
            "kind": kind,
            "createdAt": _time(rng, high=updated),
            "lastUpdatedAt": updated,
            "createdByUser": self._user(rng),
            "lastUpdatedByUser": self._user(rng),
            "rootVersionId": object_id,
            "stableVersionId": f"{object_id}-{rng.getrandbits(32):08x}",
            "dirty": rng.random() < 0.1,
        }

    def _page(self, rng, app_id, index, groups) -> dict[str, Any]:
        row = self._object_base(rng, "Page", app_id, _numbered_name(_PAGE_NAMES, index))
        row["group"] = rng.choice(groups) if rng.random() < 0.85 else None
        row["isCoreEvent"] = rng.random() < 0.2
        slugs = rng.sample(_PAGE_SLUGS, rng.choice((1, 1, 2)))
        row["rules"] = [
            {
                "rule": f"//*/{slug}",
                "designerHint": f"https://app.example.com/{slug}" if rng.random() < 0.8 else None,
                "parsedRule": f"^https?://[^/]*/?{slug}/?(?:;[^#]*)?(?:\\?[^#]*)?(?:#.*)?$",
            }
            for slug in slugs
        ]
        return row

    def _feature(self, rng, app_id, index, groups) -> dict[str, Any]:
        row = self._object_base(rng, "Feature", app_id, _numbered_name(_FEATURE_NAMES, index))
        row["group"] = rng.choice(groups) if rng.random() < 0.85 else None
        app_wide = rng.random() < 0.2
        app_pages = [page["id"] for page in self.pages if page["appId"] == app_id]
        row["pageId"] = None if app_wide or not app_pages else rng.choice(app_pages)
        row["appWide"] = app_wide
        row["isCoreEvent"] = rng.random() < 0.2
        row["elementPathRules"] = rng.sample(_ELEMENT_PATHS, rng.choice((1, 1, 2)))
        return row

    def _guide(self, rng, app_id, index, _groups) -> dict[str, Any]:
        row = self._object_base(rng, "Guide", app_id, _numbered_name(_GUIDE_NAMES, index))
        state = rng.choice(_GUIDE_STATES)
        step_types = [rng.choice(_STEP_TYPES) for _ in range(rng.choice((1, 1, 2, 3, 4)))]
        row["state"] = state
        row["launchMethod"] = rng.choice(_LAUNCH_METHODS)
        row["isMultiStep"] = len(step_types) > 1
        row["publishedAt"] = None if state == "draft" else _time(rng, row["createdAt"], row["lastUpdatedAt"])
        row["showsAfter"] = row["createdAt"] if rng.random() < 0.5 else None
        row["expiresAfter"] = None if rng.random() < 0.7 else _time(rng)
        row["steps"] = [
            {
                "id": _pendo_id(rng),
                "guideId": row["id"],
                "type": step_type,
                "rank": (rank + 1) * 5_000_000,
                "pollIds": [_pendo_id(rng)] if step_type == "poll" else [],
                "elementPathRule": rng.choice(_ELEMENT_PATHS) if step_type == "tooltip" else None,
                "lastUpdatedAt": row["lastUpdatedAt"],
            }
            for rank, step_type in enumerate(step_types)
        ]
        return row

    def _track_type(self, rng, app_id, index, groups) -> dict[str, Any]:
        name = _numbered_name(_TRACK_NAMES, index)
        row = self._object_base(rng, "TrackType", app_id, name)
        row["group"] = rng.choice(groups) if rng.random() < 0.5 else None
        row["trackTypeName"] = name
        row["eventPropertyNameList"] = rng.sample(_EVENT_PROPERTIES, rng.randrange(len(_EVENT_PROPERTIES)))
        return row

    def _report(self, rng, app_id, index) -> dict[str, Any]:
        kind = rng.choice(_REPORT_KINDS)
        level = "account" if kind == "account" else "visitor"
        row = self._object_base(rng, kind, app_id, _numbered_name(_REPORT_NAMES, index))
        del row["rootVersionId"], row["stableVersionId"], row["dirty"]
        row["level"] = level
        row["shared"] = rng.random() < 0.6
        row["definition"] = {
            "generator": f"{level}Table",
            "config": {"columns": rng.sample(("metadata.auto.lastvisit", "metadata.agent.name", "numEvents", "numMinutes"), 2), "segmentId": None},
            "timeSeries": {"period": "dayRange", "first": "now()", "count": -rng.choice((7, 30, 90))},
        }
        row["lastSuccessRunAt"] = _time(rng, row["lastUpdatedAt"]) if rng.random() < 0.7 else None
        return row

    def _segment(self, rng, app_id, index) -> dict[str, Any]:
        row = self._object_base(rng, "segment", app_id, _numbered_name(_SEGMENT_NAMES, index))
        del row["kind"], row["rootVersionId"], row["stableVersionId"], row["dirty"]
        row["shared"] = rng.random() < 0.5
        row["definition"] = {
            "kind": rng.choice(("visitor", "account")),
            "filters": [{"field": "metadata.custom.région", "operator": "==", "value": rng.choice(("Île-de-France", "Kantō", None))}],
        }
        return row


TOUCHABLE_KINDS = ("accounts", "visitors", "pages", "features", "guides", "track_types", "reports", "segments")


def _touch_row(kind: str, row: dict[str, Any], now_ms: int, revision: int) -> None:
    if kind in ("accounts", "visitors"):
        row["metadata"]["auto"]["lastupdated"] = now_ms
        counter = "seat_count" if kind == "accounts" else "login_count"
        custom = row["metadata"]["custom"]
        custom[counter] = (custom.get(counter) or 0) + 1
    else:
        row["lastUpdatedAt"] = now_ms
        row["name"] = f"{_REVISION_SUFFIX.sub('', row['name'])} (rev {revision})"


def _row_id(kind: str, row: dict[str, Any]) -> str:
    if kind == "accounts":
        return row["accountId"]
    if kind == "visitors":
        return row["visitorId"]
    return row["id"]


def _used_apps(rng: random.Random) -> list[int]:
    apps = [app["id"] for app in APPS if rng.random() < (0.9 if app["id"] == DEFAULT_APP_ID else 0.4)]
    return apps or [DEFAULT_APP_ID]


def _numbered_name(pool: tuple[str, ...], index: int) -> str:
    base = pool[index % len(pool)]
    return base if index < len(pool) else f"{base} {index // len(pool) + 1}"


def _random_account_id(rng: random.Random) -> str:
    form = rng.randrange(4)
    if form == 0:
        return f"acct-{rng.getrandbits(24):06x}"
    if form == 1:
        return str(rng.randrange(1, 100_000))
    if form == 2:
        return f"{rng.choice(('Globex', 'initech', 'Umbrella', 'wayne'))}-{rng.randrange(1000)}"
    return f"ACME{rng.randrange(10**6):06d}"


def _random_visitor_id(rng: random.Random) -> str:
    if rng.random() < ANONYMOUS_SHARE:
        return ANONYMOUS_PREFIX + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(11))
    form = rng.randrange(4)
    if form == 0:
        return f"{rng.choice(_HANDLES)}{rng.randrange(1000)}@example.com"
    if form == 1:
        return f"user-{rng.getrandbits(32):08x}"
    if form == 2:
        return str(rng.randrange(10**9))
    return f"VIS-{rng.getrandbits(20):05X}"
