"""How source-pendo talks HTTP to Pendo: the auth header, error mapping, backoff and timeouts."""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any, Optional, Tuple, Union

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.call_rate import HttpAPIBudget, MovingWindowCallRatePolicy, Rate
from airbyte_cdk.sources.streams.http import HttpClient
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy, HttpStatusErrorHandler
from airbyte_cdk.sources.streams.http.error_handlers.default_error_mapping import DEFAULT_ERROR_MAPPING
from airbyte_cdk.sources.streams.http.error_handlers.response_models import ErrorResolution, ResponseAction
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .config import PendoConfig
from .explain import (
    PASSING_CAUSES,
    bad_request_message,
    broken_connection_message,
    pendo_reason,
    rejected_key_message,
    retry_reason,
    server_error_message,
    timeout_message,
    unreachable_cause,
    unreachable_failure_type,
    unreachable_message,
)
from .outage import OUTAGE_BACKOFF_CAP_SECONDS, OUTAGE_MAX_RETRY_SECONDS, OUTAGE_RETRIES, Outage

API_KEY_HEADER = "x-pendo-integration-key"
CONNECT_TIMEOUT_SECONDS = 30
MAX_RETRIES = 8
MAX_RETRY_SECONDS = 900
# Airbyte cancels a sync that sends nothing for a long time: never wait longer than this at once.
MAX_BACKOFF_SECONDS = 120.0
# Quick retries of a refused connection or a failed DNS lookup before the stream fails: a host out
# of reach now is rarely back a minute later, and the sync as a whole is retried by Airbyte.
MAX_UNREACHABLE_RETRIES = 3


class SyncBudget(HttpAPIBudget):
    """What every request of a sync shares, whatever stream or thread sends it: the request rate,
    the requests in flight (streams are read side by side), and whether Pendo has been found down
    (which cuts the retries of the streams after)."""

    def __init__(self, requests_per_second: int, max_concurrent_requests: int):
        super().__init__(policies=[MovingWindowCallRatePolicy(rates=[Rate(limit=requests_per_second, interval=timedelta(seconds=1))], matchers=[])])
        self.in_flight = threading.BoundedSemaphore(max_concurrent_requests)
        self.outage = Outage()


def request_budget(requests_per_second: int, max_concurrent_requests: int) -> SyncBudget:
    """One budget for every request of a sync."""
    return SyncBudget(requests_per_second, max_concurrent_requests)


class PendoHttpClient(HttpClient):
    """The CDK's client; with a sync's budget, a request (its retries and waits included) is sent
    only while fewer than `max_concurrent_requests` of the sync's requests are. A streamed answer's
    body is read after: a reader that has paused does not hold a place."""

    def __init__(self, *args: Any, api_budget: Optional[HttpAPIBudget] = None, **kwargs: Any):
        super().__init__(*args, api_budget=api_budget, **kwargs)
        self.budget = api_budget

    def send_request(self, *args: Any, **kwargs: Any) -> Tuple[requests.PreparedRequest, requests.Response]:
        budget = self.budget
        if not isinstance(budget, SyncBudget):
            return super().send_request(*args, **kwargs)
        with budget.in_flight:
            return super().send_request(*args, **kwargs)


def outage_of(budget: Optional[HttpAPIBudget]) -> Outage:
    """The sync's outage watch; a stream made without a sync's budget (a test, a one-off) has its own."""
    return budget.outage if isinstance(budget, SyncBudget) else Outage()


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


class PendoErrorHandler(HttpStatusErrorHandler):
    """The CDK's default mapping, with Pendo's meaning of 400/401/403, 422 never retried, a refused
    connection or failed DNS lookup retried a few times quickly, and exceptions matched by their class hierarchy (the
    CDK matches the exact class only).

    With `shrink_pages_on_timeout`, a read timeout asks the stream for a smaller page instead of
    sending the same too-big query again. While the sync's `outage` says Pendo is down, a request
    gets a few quick retries instead of the full ones (the CDK asks for them as each request starts).

    A failure is raised here, as our message, rather than handed back to the CDK to raise: the CDK
    would log the request body and the response headers with it."""

    def __init__(self, logger: logging.Logger, config: PendoConfig, shrink_pages_on_timeout: bool = False, outage: Optional[Outage] = None):
        mapping = dict(DEFAULT_ERROR_MAPPING)
        mapping[422] = ErrorResolution(
            response_action=ResponseAction.FAIL,
            failure_type=FailureType.system_error,
            error_message="Pendo could not process the aggregation request (HTTP 422).",
        )
        mapping[requests.exceptions.Timeout] = ErrorResolution(
            response_action=ResponseAction.REDUCE_PAGE_SIZE if shrink_pages_on_timeout else ResponseAction.RETRY,
            failure_type=FailureType.transient_error,
            error_message=timeout_message(config, connecting=False),
        )
        mapping[requests.exceptions.ConnectTimeout] = ErrorResolution(
            response_action=ResponseAction.RETRY,
            failure_type=FailureType.transient_error,
            error_message=timeout_message(config, connecting=True),
        )
        for broken in (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError):
            mapping[broken] = ErrorResolution(
                response_action=ResponseAction.RETRY,
                failure_type=FailureType.transient_error,
                error_message=broken_connection_message(config),
            )
        super().__init__(logger=logger, error_mapping=mapping, max_retries=MAX_RETRIES, max_time=timedelta(seconds=MAX_RETRY_SECONDS))
        self._mapping = mapping
        self._config = config
        self._outage = outage or Outage()
        self._unreachable_in_a_row = 0
        self._unreachable_lock = threading.Lock()

    @property
    def max_retries(self) -> Optional[int]:
        return OUTAGE_RETRIES if self._outage.pendo_down else MAX_RETRIES

    @property
    def max_time(self) -> Optional[int]:
        return OUTAGE_MAX_RETRY_SECONDS if self._outage.pendo_down else MAX_RETRY_SECONDS

    def interpret_response(self, response_or_exception: Optional[Union[requests.Response, Exception]] = None) -> ErrorResolution:
        resolution = self.resolve(response_or_exception)
        if resolution.response_action == ResponseAction.FAIL:
            raise AirbyteTracedException(message=resolution.error_message, internal_message=resolution.error_message, failure_type=resolution.failure_type)
        return resolution

    def resolve(self, response_or_exception: Optional[Union[requests.Response, Exception]]) -> ErrorResolution:
        """What to do about an answer or an exception, and the message that says why."""
        if isinstance(response_or_exception, Exception):
            cause = unreachable_cause(response_or_exception)
            if cause:
                return self._unreachable(cause)
            for cls in type(response_or_exception).__mro__:
                if cls is requests.exceptions.Timeout:
                    # Said with how long this request waited: less than 'Request timeout' while Pendo is down.
                    waited = self._outage.read_timeout(self._config.request_timeout)
                    return replace(self._mapping[cls], error_message=timeout_message(self._config, connecting=False, read_seconds=waited))
                if cls in self._mapping:
                    return self._mapping[cls]
        if isinstance(response_or_exception, requests.Response):
            with self._unreachable_lock:
                self._unreachable_in_a_row = 0
            status = response_or_exception.status_code
            if status in (401, 403):
                return _fail(FailureType.config_error, rejected_key_message(status, is_aggregation(response_or_exception), self._config))
            if status == 400:
                return _fail(FailureType.config_error, bad_request_message(pendo_reason(response_or_exception), self._config))
            if status >= 500:
                return ErrorResolution(
                    response_action=ResponseAction.RETRY,
                    failure_type=FailureType.transient_error,
                    error_message=server_error_message(response_or_exception, self._config),
                )
        return super().interpret_response(response_or_exception)

    def _unreachable(self, cause: str) -> ErrorResolution:
        message = unreachable_message(self._config, cause)
        if cause in PASSING_CAUSES:
            with self._unreachable_lock:
                self._unreachable_in_a_row += 1
                retry = self._unreachable_in_a_row <= MAX_UNREACHABLE_RETRIES
            if retry:
                return ErrorResolution(response_action=ResponseAction.RETRY, failure_type=FailureType.transient_error, error_message=message)
        return _fail(unreachable_failure_type(self._config), message)


def _fail(failure_type: FailureType, message: str) -> ErrorResolution:
    return ErrorResolution(response_action=ResponseAction.FAIL, failure_type=failure_type, error_message=message)


class PendoBackoffStrategy(BackoffStrategy):
    """Honours Retry-After (capped, and saying so); otherwise exponential backoff with full jitter.
    While the sync's `outage` says Pendo is down, every wait is short.

    Each wait is logged as what failed: the CDK's own line after it calls every wait a rate limit."""

    def __init__(
        self,
        base_seconds: float = 2.0,
        cap_seconds: float = MAX_BACKOFF_SECONDS,
        rng: Optional[random.Random] = None,
        logger: Optional[logging.Logger] = None,
        stream: Optional[str] = None,
        config: Optional[PendoConfig] = None,
        outage: Optional[Outage] = None,
    ):
        self._base = base_seconds
        self._cap = cap_seconds
        self._rng = rng or random.Random()
        self._logger = logger or logging.getLogger("airbyte")
        self._who = f"Stream '{stream}': " if stream else ""
        self._config = config
        self._outage = outage or Outage()

    @property
    def retries(self) -> int:
        return OUTAGE_RETRIES if self._outage.pendo_down else MAX_RETRIES

    @property
    def cap_seconds(self) -> float:
        return min(self._cap, OUTAGE_BACKOFF_CAP_SECONDS) if self._outage.pendo_down else self._cap

    def backoff_time(self, response_or_exception, attempt_count: int) -> Optional[float]:
        if isinstance(response_or_exception, Exception) and unreachable_cause(response_or_exception) in PASSING_CAUSES:
            # None: the CDK waits 1, 2, 4 s and logs our message (a wait given here would be logged as a rate limit).
            return None
        seconds = self.wait_seconds(response_or_exception, attempt_count)
        if self._config is not None and response_or_exception is not None and attempt_count <= self.retries:
            # The CDK adds a second to the wait; after the last retry it asks for a wait it will not make.
            self._logger.warning(
                f"{self._who}{retry_reason(response_or_exception, self._config, self._outage.read_timeout(self._config.request_timeout))} Retrying in {seconds + 1:.0f} s"
                f" (retry {attempt_count} of {self.retries})."
            )
        return seconds

    def wait_seconds(self, response_or_exception, attempt_count: int) -> float:
        cap = self.cap_seconds
        retry_after = retry_after_seconds(response_or_exception) if isinstance(response_or_exception, requests.Response) else None
        if retry_after is not None:
            if retry_after > cap:
                self._logger.warning(
                    f"{self._who}Pendo answered HTTP {response_or_exception.status_code} and asked to wait {retry_after:.0f} s"
                    f" before retrying; waiting {cap:.0f} s instead, {self.longest_wait_said()}."
                )
            return min(retry_after, cap)
        ceiling = min(cap, self._base * (2 ** max(attempt_count - 1, 0)))
        return self._rng.uniform(ceiling / 2, ceiling)

    def longest_wait_said(self) -> str:
        if self._outage.pendo_down:
            return "as Pendo was found down earlier in this sync"
        return "the longest source-pendo waits at once"


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
