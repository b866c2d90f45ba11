"""How source-pendo talks HTTP to Pendo: the auth header, error mapping, backoff and timeouts."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from datetime import timedelta
from typing import Optional, Union

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.call_rate import HttpAPIBudget, MovingWindowCallRatePolicy, Rate
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy, HttpStatusErrorHandler
from airbyte_cdk.sources.streams.http.error_handlers.default_error_mapping import DEFAULT_ERROR_MAPPING
from airbyte_cdk.sources.streams.http.error_handlers.response_models import ErrorResolution, ResponseAction

from .config import KEY_HELP, REGION_API_ROOTS, PendoConfig, region_from_key_suffix

API_KEY_HEADER = "x-pendo-integration-key"
CONNECT_TIMEOUT_SECONDS = 30
MAX_RETRIES = 8
MAX_RETRY_SECONDS = 900
# Airbyte cancels a sync that sends nothing for a long time: never wait longer than this at once.
MAX_BACKOFF_SECONDS = 120.0
REGION_HOSTS_HELP = ", ".join(f"{root.split('/')[2]} = {region}" for region, root in REGION_API_ROOTS.items())


def request_budget(requests_per_second: int) -> HttpAPIBudget:
    """One budget for every request of a sync, whatever stream or thread sends it."""
    return HttpAPIBudget(policies=[MovingWindowCallRatePolicy(rates=[Rate(limit=requests_per_second, interval=timedelta(seconds=1))], matchers=[])])


class PendoKeyAuth(requests.auth.AuthBase):
    """Sends the integration key in Pendo's own header (TokenAuthenticator would add a leading space)."""

    def __init__(self, api_key: str):
        self._api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[API_KEY_HEADER] = self._api_key
        return request


def request_timeout(read_seconds: int) -> tuple:
    return (CONNECT_TIMEOUT_SECONDS, read_seconds)


def is_aggregation(response: requests.Response) -> bool:
    return response.request is not None and response.request.url is not None and response.request.url.rstrip("/").endswith("/aggregation")


def rejected_key_message(status: int, aggregation: bool) -> str:
    if aggregation:
        return (
            f"Pendo refused aggregation queries with this integration key (HTTP {status}). Some Pendo subscriptions"
            " require the key to have 'Allow Write Access' for them: tick it on the key in Settings > Integrations >"
            f" Integration Keys, or create a key with it. If the key was revoked, create a new one. {KEY_HELP}"
        )
    if status == 401:
        return f"Pendo rejected the integration key (HTTP 401): it is wrong or has been revoked. {KEY_HELP}"
    return f"Pendo refused the integration key access (HTTP 403): it may have been revoked. {KEY_HELP}"


def pendo_reason(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "no reason given")[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:300]
    return str(body)[:300]


def host_of(config: PendoConfig) -> str:
    return config.api_root.split("/")[2]


def wrong_region_message(config: PendoConfig) -> str:
    """Pendo answers a key of another region with HTTP 400: which region to pick instead."""
    message = "Pendo answers a key of another region with HTTP 400."
    hint = region_from_key_suffix(config.api_key)
    if hint and hint != config.region:
        return f"{message} The key ends in the suffix of region {hint}: set 'Region' to {hint}."
    return f"{message} Set 'Region' to your subscription's region; the host you log in to tells it ({REGION_HOSTS_HELP})."


def bad_request_message(response: requests.Response, config: PendoConfig) -> str:
    return (
        f"Pendo rejected the request (HTTP 400: {pendo_reason(response)}). {wrong_region_message(config)}"
        " If 'App IDs' is set, check that each is the id of an app of this subscription."
    )


class PendoErrorHandler(HttpStatusErrorHandler):
    """The CDK's default mapping, with Pendo's meaning of 400/401/403, 422 never retried, and
    exceptions matched by their class hierarchy (the CDK matches the exact class only).

    With `shrink_pages_on_timeout`, a read timeout asks the stream for a smaller page instead of
    sending the same too-big query again."""

    def __init__(self, logger: logging.Logger, config: PendoConfig, shrink_pages_on_timeout: bool = False):
        mapping = dict(DEFAULT_ERROR_MAPPING)
        mapping[422] = ErrorResolution(
            response_action=ResponseAction.FAIL,
            failure_type=FailureType.system_error,
            error_message="Pendo could not process the aggregation request (HTTP 422).",
        )
        mapping[requests.exceptions.Timeout] = ErrorResolution(
            response_action=ResponseAction.REDUCE_PAGE_SIZE if shrink_pages_on_timeout else ResponseAction.RETRY,
            failure_type=FailureType.transient_error,
            error_message="Pendo did not answer in time.",
        )
        mapping[requests.exceptions.ConnectTimeout] = ErrorResolution(
            response_action=ResponseAction.RETRY,
            failure_type=FailureType.transient_error,
            error_message="Could not connect to Pendo in time.",
        )
        super().__init__(logger=logger, error_mapping=mapping, max_retries=MAX_RETRIES, max_time=timedelta(seconds=MAX_RETRY_SECONDS))
        self._mapping = mapping
        self._config = config

    def interpret_response(self, response_or_exception: Optional[Union[requests.Response, Exception]] = None) -> ErrorResolution:
        if isinstance(response_or_exception, Exception):
            for cls in type(response_or_exception).__mro__:
                if cls in self._mapping:
                    return self._mapping[cls]
        if isinstance(response_or_exception, requests.Response):
            status = response_or_exception.status_code
            if status in (401, 403):
                return ErrorResolution(
                    response_action=ResponseAction.FAIL,
                    failure_type=FailureType.config_error,
                    error_message=rejected_key_message(status, is_aggregation(response_or_exception)),
                )
            if status == 400:
                return ErrorResolution(
                    response_action=ResponseAction.FAIL,
                    failure_type=FailureType.config_error,
                    error_message=bad_request_message(response_or_exception, self._config),
                )
        return super().interpret_response(response_or_exception)


class PendoBackoffStrategy(BackoffStrategy):
    """Honours Retry-After (capped); otherwise exponential backoff with full jitter."""

    def __init__(self, base_seconds: float = 2.0, cap_seconds: float = MAX_BACKOFF_SECONDS, rng: Optional[random.Random] = None):
        self._base = base_seconds
        self._cap = cap_seconds
        self._rng = rng or random.Random()

    def backoff_time(self, response_or_exception, attempt_count: int) -> Optional[float]:
        retry_after = retry_after_seconds(response_or_exception) if isinstance(response_or_exception, requests.Response) else None
        if retry_after is not None:
            return min(retry_after, self._cap)
        ceiling = min(self._cap, self._base * (2 ** max(attempt_count - 1, 0)))
        return self._rng.uniform(ceiling / 2, ceiling)


def retry_after_seconds(response: requests.Response) -> Optional[float]:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
