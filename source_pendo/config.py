"""Validated connector settings: the raw config as the rest of the code wants it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, MutableMapping, Optional, Tuple, Union

import pendulum
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

REGION_API_ROOTS = {
    "US": "https://app.pendo.io/api/v1/",
    "US1": "https://us1.app.pendo.io/api/v1/",
    "EU": "https://app.eu.pendo.io/api/v1/",
    "JP": "https://app.jpn.pendo.io/api/v1/",
    "AU": "https://app.au.pendo.io/api/v1/",
}
# Suffixes some keys carry; a hint, never the rule.
KEY_SUFFIX_REGIONS = {".eu": "EU", ".jpn": "JP", ".jp": "JP", ".au": "AU", ".us1": "US1"}

ALL_APPS = 'expandAppIds("*")'
# The same rule as the spec's `pattern` for start_date (the CDK does not check `format`).
START_DATE_FORMAT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$")
EARLIEST_START = datetime(2010, 1, 1, tzinfo=timezone.utc)
# A start date left empty: this many days back (spec.yaml's start_date says so).
DEFAULT_START_DAYS = 30
KEY_FORMAT = re.compile(r"^[\x21-\x7e]+$")
KEY_HELP = "Create one in Pendo under Settings > Integrations > Integration Keys and paste it in 'Integration key'."
MAX_LOOKBACK_DAYS = 180
MAX_SETTLING_HOURS = 72
MAX_REQUEST_TIMEOUT = 3600
MAX_PAGE_SIZE = 500_000
MAX_CONCURRENT_REQUESTS = 32
MAX_REQUESTS_PER_SECOND = 1000

DEFAULTS = {
    "region": "US",
    "period": "day",
    "lookback_window": 30,
    "settling_hours": 8,
    "app_ids": [],
    "include_anonymous_visitors": False,
    "request_timeout": 300,
    "page_size": 50_000,
    "max_concurrent_requests": 4,
    "requests_per_second": 20,
}


def config_error(message: str) -> AirbyteTracedException:
    return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.config_error)


def read_config_file(path: str) -> MutableMapping[str, Any]:
    """The config file's settings, or a config error that says where the file is not a JSON object."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise config_error(f"Could not read the config file {path} ({getattr(error, 'strerror', None) or 'not UTF-8 text'}).") from error
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as error:
        raise config_error(
            f"The config file {path} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
            " Write it as one JSON object, e.g. {\"api_key\": \"...\", \"start_date\": \"2025-01-01\"}."
        ) from error
    if not isinstance(settings, dict):
        raise config_error(f"The config file {path} holds a JSON {type(settings).__name__}, not an object of settings such as {{\"start_date\": \"2025-01-01\"}}.")
    return settings


@dataclass(frozen=True)
class PendoConfig:
    api_key: str
    region: str
    region_from_key: bool  # 'Region' was left at US and the key's suffix named another
    api_root: str
    start_date: datetime
    period: str
    lookback_window_days: int
    settling_hours: int
    app_ids: Tuple[int, ...]
    include_anonymous_visitors: bool
    request_timeout: int
    page_size: int
    max_concurrent_requests: int
    requests_per_second: int
    # 'API base URL' was set: the host is the user's to fix, and Pendo's own hosts are not probed.
    custom_base_url: bool = False

    @property
    def start_ms(self) -> int:
        return int(self.start_date.timestamp() * 1000)

    @property
    def app_id_param(self) -> Union[str, int, list]:
        """The `appId` source parameter: every app, or the chosen ones."""
        if not self.app_ids:
            return ALL_APPS
        return self.app_ids[0] if len(self.app_ids) == 1 else list(self.app_ids)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> "PendoConfig":
        settings = {**DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}
        api_key = _api_key(settings.get("api_key"))
        region = str(settings["region"]).upper()
        if region not in REGION_API_ROOTS:
            raise config_error(f"Unknown region '{settings['region']}'. Choose one of {', '.join(REGION_API_ROOTS)}.")
        suffix_region = region_from_key_suffix(api_key)
        region_from_key = region == DEFAULTS["region"] and suffix_region not in (None, region) and not settings.get("base_url")
        if region_from_key:
            region = suffix_region
        return cls(
            api_key=api_key,
            region=region,
            region_from_key=region_from_key,
            api_root=_api_root(settings.get("base_url"), region),
            start_date=_start_date(settings.get("start_date")),
            period=_choice("period", settings["period"], ("day", "hour")),
            lookback_window_days=_bounded_int("lookback_window", settings["lookback_window"], "Lookback window (days)", MAX_LOOKBACK_DAYS),
            settling_hours=_bounded_int("settling_hours", settings["settling_hours"], "Settling margin (hours)", MAX_SETTLING_HOURS, minimum=0),
            app_ids=_app_ids(settings["app_ids"]),
            include_anonymous_visitors=_boolean("include_anonymous_visitors", settings["include_anonymous_visitors"], "Include anonymous visitors"),
            request_timeout=_bounded_int("request_timeout", settings["request_timeout"], "Request timeout (seconds)", MAX_REQUEST_TIMEOUT),
            page_size=_bounded_int("page_size", settings["page_size"], "Page size (rows)", MAX_PAGE_SIZE),
            max_concurrent_requests=_bounded_int(
                "max_concurrent_requests", settings["max_concurrent_requests"], "Concurrent requests", MAX_CONCURRENT_REQUESTS
            ),
            requests_per_second=_bounded_int("requests_per_second", settings["requests_per_second"], "Requests per second", MAX_REQUESTS_PER_SECOND),
            custom_base_url=bool(settings.get("base_url")),
        )


def region_from_key_suffix(api_key: str) -> Optional[str]:
    lowered = api_key.lower()
    for suffix, region in KEY_SUFFIX_REGIONS.items():
        if lowered.endswith(suffix):
            return region
    return None


def _api_root(base_url: Optional[str], region: str) -> str:
    if not base_url:
        return REGION_API_ROOTS[region]
    base_url = str(base_url).strip()
    if not base_url.startswith(("http://", "https://")):
        raise config_error(f"API base URL must start with http:// or https://, got '{base_url}'. Leave it empty to use the region's host.")
    return base_url if base_url.endswith("/") else base_url + "/"


def _start_date(value: Any) -> datetime:
    if not value:
        return default_start_date(datetime.now(timezone.utc))
    text = str(value).strip()
    try:
        parsed = pendulum.parse(text, tz="UTC") if START_DATE_FORMAT.match(text) else None
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        parsed = None
    if not isinstance(parsed, datetime):
        raise config_error(f"Start date '{value}' is not a date. Use YYYY-MM-DD or YYYY-MM-DDTHH:mm:ssZ, e.g. 2025-01-01.")
    start = datetime.fromtimestamp(parsed.timestamp(), tz=timezone.utc)
    if start < EARLIEST_START:
        raise config_error(f"Start date {value} is before 2010, before Pendo existed. Give a date from 2010 on.")
    if start > datetime.now(timezone.utc):
        raise config_error(f"Start date {value} is in the future. Give a date in the past, e.g. the day your Pendo subscription began.")
    return start


def default_start_date(now: datetime) -> datetime:
    """Without a start date (as in every 0.2.x configuration): midnight UTC DEFAULT_START_DAYS
    before `now`, so that a first sync of event data stays bounded."""
    day = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=DEFAULT_START_DAYS)


def _choice(name: str, value: Any, allowed: Tuple[str, ...]) -> str:
    text = str(value).lower()
    if text not in allowed:
        raise config_error(f"'{name}' must be one of {', '.join(allowed)}, got '{value}'.")
    return text


def _bounded_int(name: str, value: Any, title: str, maximum: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        floor = "above 0" if minimum == 1 else f"from {minimum}"
        raise config_error(f"{title} ('{name}') must be a whole number {floor} and at most {maximum}, got {value!r}.")
    return value


def _boolean(name: str, value: Any, title: str) -> bool:
    if not isinstance(value, bool):
        raise config_error(f"{title} ('{name}') must be true or false, got {value!r}.")
    return value


def _api_key(value: Any) -> str:
    key = str(value or "").strip()
    if not key:
        raise config_error(f"The integration key is missing. {KEY_HELP}")
    if not KEY_FORMAT.match(key):
        # Never echo the key: it is a secret even when malformed.
        raise config_error(f"The integration key has characters no Pendo key has (spaces, line breaks or non-ASCII). Copy it again without them. {KEY_HELP}")
    return key


def _app_ids(value: Any) -> Tuple[int, ...]:
    if not isinstance(value, (list, tuple)):
        raise config_error(f"App IDs must be a list of whole numbers such as [-323232], got {value!r}.")
    bad = [v for v in value if isinstance(v, bool) or not isinstance(v, int)]
    if bad:
        raise config_error(f"App IDs must be whole numbers (Pendo shows them under Settings > Subscription Settings > Apps); not numbers: {bad!r}.")
    return tuple(dict.fromkeys(value))
