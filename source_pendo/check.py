"""The connection check: a few cheap calls, and a message that says what to fix."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any, Mapping, Optional, Set, Union

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http import HttpClient
from airbyte_cdk.sources.streams.http.error_handlers import ErrorHandler
from airbyte_cdk.sources.streams.http.error_handlers.response_models import ErrorResolution, ResponseAction

from . import aggregation
from .config import ALL_APPS, REGION_API_ROOTS, PendoConfig
from .explain import (
    KEY_OR_REGION,
    bad_request_message,
    host_of,
    pendo_reason,
    region_hint,
    rejected_key_message,
    unreachable_cause,
    unreachable_failure_type,
    unreachable_message,
)
from .http import PendoErrorHandler, PendoKeyAuth, request_timeout
from .regions import PROBE_TIMEOUT, region_accepting_key

logger = logging.getLogger("airbyte")

CHECK_READ_TIMEOUT_SECONDS = 60
# Retries of a passing problem (a 5xx, a broken connection, a timeout) before check explains it: a
# check should not fail on one hiccup a sync would have retried, and must still answer quickly. The
# CDK waits 1 s, then 2 s.
QUICK_RETRIES = 2


@dataclass(frozen=True)
class Problem:
    message: str
    failure_type: FailureType = FailureType.config_error


class Unanswered(Exception):
    """A request that got no answer check can read; `cause` is the requests exception."""

    def __init__(self, cause: requests.RequestException):
        super().__init__(str(cause))
        self.cause = cause


# What the sync's error handler does about a problem that passes.
RETRIED = (ResponseAction.RETRY, ResponseAction.RATE_LIMITED, ResponseAction.REDUCE_PAGE_SIZE)


class CheckAnswers(ErrorHandler):
    """Every answer is check's to explain, after at most QUICK_RETRIES quick retries in a row of a
    passing problem (what the sync's error handler retries, but a host the user named that is out of
    reach); an exception that is not retried, or still there, is raised as Unanswered."""

    def __init__(self, config: PendoConfig, quick_retries: int):
        self._config = config
        self._quick_retries = quick_retries
        self._sync_handler = PendoErrorHandler(logger, config)
        self._retries_in_a_row = 0

    @property
    def max_retries(self) -> Optional[int]:
        return self._quick_retries

    @property
    def max_time(self) -> Optional[int]:
        return None

    def interpret_response(self, response_or_exception: Optional[Union[requests.Response, Exception]] = None) -> ErrorResolution:
        sync_resolution = self._sync_handler.resolve(response_or_exception)
        if self._retries_in_a_row < self._quick_retries and self.passing(response_or_exception, sync_resolution):
            self._retries_in_a_row += 1
            return ErrorResolution(response_action=ResponseAction.RETRY, failure_type=FailureType.transient_error, error_message=sync_resolution.error_message)
        self._retries_in_a_row = 0
        if isinstance(response_or_exception, requests.RequestException):
            raise Unanswered(response_or_exception)
        if response_or_exception.ok:
            return ErrorResolution(response_action=ResponseAction.SUCCESS)
        return ErrorResolution(response_action=ResponseAction.IGNORE, error_message=f"Pendo answered HTTP {response_or_exception.status_code}; check explains it.")

    def passing(self, response_or_exception: Any, sync_resolution: ErrorResolution) -> bool:
        if isinstance(response_or_exception, Exception) and unreachable_cause(response_or_exception):
            return unreachable_failure_type(self._config) == FailureType.transient_error
        return sync_resolution.response_action in RETRIED


class CheckClient:
    """Check's requests to `api_root` (the configured host unless another is probed), sent by the
    CDK's HttpClient as a stream's are (auth, the sync's error handler's idea of what is passing),
    with check's quick retries and a shorter read timeout."""

    def __init__(self, config: PendoConfig, api_root: Optional[str] = None, timeout: Optional[tuple] = None, quick_retries: int = QUICK_RETRIES):
        self.config = config
        self.api_root = api_root or config.api_root
        self.timeout = timeout or request_timeout(min(config.request_timeout, CHECK_READ_TIMEOUT_SECONDS))
        self._client = HttpClient(
            name="check",
            logger=logger,
            error_handler=CheckAnswers(config, quick_retries),
            authenticator=PendoKeyAuth(config.api_key),
        )

    def get(self, path: str) -> requests.Response:
        return self._client.send_request("GET", self.api_root + path, request_kwargs={"timeout": self.timeout})[1]

    def aggregate(self, body: Mapping[str, Any]) -> requests.Response:
        return self._client.send_request("POST", self.api_root + "aggregation", request_kwargs={"timeout": self.timeout}, json=body)[1]

    def accepts_key(self) -> bool:
        """Whether this host reads the metadata catalogue with the key."""
        try:
            return self.get("metadata/schema/visitor").status_code == 200
        except Unanswered:
            return False


def diagnose(config: PendoConfig, region_roots: Mapping[str, str] = REGION_API_ROOTS) -> Optional[Problem]:
    """What stops this config from reading Pendo, if anything: the key, its region, its write access,
    the app ids, or the host being out of reach. `region_roots`: Pendo's hosts, asked which one
    accepts a key the configured host refuses."""
    client = CheckClient(config)
    try:
        response = client.get("metadata/schema/visitor")
        if response.status_code >= 400:
            return _key_problem(response, config, region_roots)
        if config.app_ids:
            problem = _unknown_app_ids(client)
            if problem:
                return problem
        probe = aggregation.pipeline_body("pages", {"appId": config.app_id_param}, [{"count": None}], request_id="check")
        return _aggregation_problem(client.aggregate(probe), config)
    except Unanswered as unanswered:
        return _unanswered(unanswered.cause, client)


def _unanswered(error: requests.RequestException, client: CheckClient) -> Problem:
    config = client.config
    if isinstance(error, requests.exceptions.Timeout):
        return Problem(f"{_host(config)} did not answer within {client.timeout[1]} seconds. Check 'Region' (or 'API base URL') and try again later.", FailureType.transient_error)
    cause = unreachable_cause(error)
    if cause:
        return Problem(unreachable_message(config, cause), unreachable_failure_type(config))
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return Problem(f"{_host(config)} broke off its answer. Try again later.", FailureType.transient_error)
    return Problem(f"Could not connect to {_host(config)} ({type(error).__name__}). Try again later.", FailureType.transient_error)


def _host_accepts_key(config: PendoConfig, api_root: str) -> bool:
    """One quick question to another of Pendo's hosts: no retries, a short timeout."""
    return CheckClient(config, api_root, PROBE_TIMEOUT, quick_retries=0).accepts_key()


def _key_problem(response: requests.Response, config: PendoConfig, region_roots: Mapping[str, str]) -> Problem:
    status = response.status_code
    if status not in (400, 401, 403):
        return _unavailable(response, config)
    reason = pendo_reason(response)
    refused_key = status != 400 or bool(KEY_OR_REGION.search(reason))
    # A base URL of the user's own (a proxy, a test server) is where they want to go: Pendo's hosts are not asked.
    if refused_key and not config.custom_base_url:
        region = region_accepting_key(partial(_host_accepts_key, config), region_roots, config.api_root)
        if region:
            return Problem(f"{_host(config)} refused the integration key (HTTP {status}: {reason}). {region_hint(config, region)}")
    if status == 400:
        return Problem(bad_request_message(reason, config))
    return Problem(rejected_key_message(status, False, config))


def _unknown_app_ids(client: CheckClient) -> Optional[Problem]:
    """Configured app ids the subscription does not show. Pendo may answer an unknown app id with no
    rows rather than an error, so the ids are compared with those its pages and features carry."""
    config = client.config
    known: Set[int] = set()
    for source in ("pages", "features"):
        # Whole objects, not a `select`: no public client shows Pendo's `select`, and the objects are small.
        body = aggregation.pipeline_body(source, {"appId": ALL_APPS}, request_id=f"check-apps-{source}")
        response = client.aggregate(body)
        problem = _aggregation_problem(response, config)
        if problem:
            return problem
        try:
            rows = response.json().get("results") or []
        except (ValueError, AttributeError):
            return None  # an unreadable answer proves nothing about the ids
        known |= {row.get("appId") for row in rows if isinstance(row, dict) and isinstance(row.get("appId"), int)}
    unknown = [app_id for app_id in config.app_ids if app_id not in known]
    if not known or not unknown:
        return None
    return Problem(
        f"App IDs {unknown} are not apps of this subscription: its pages and features belong to the apps"
        f" {sorted(known)}. Set 'App IDs' to some of these, or leave it empty for every app."
    )


def _aggregation_problem(response: requests.Response, config: PendoConfig) -> Optional[Problem]:
    status = response.status_code
    if status < 400:
        return None
    if status in (401, 403):
        return Problem(rejected_key_message(status, True, config))
    if status == 400:
        return Problem(bad_request_message(pendo_reason(response), config))
    return _unavailable(response, config)


def _unavailable(response: requests.Response, config: PendoConfig) -> Problem:
    status = response.status_code
    if status == 404 and config.custom_base_url:
        return Problem(f"{_host(config)} has no Pendo API at {config.api_root} (HTTP 404). Check 'API base URL'.")
    return Problem(f"{_host(config)} answered HTTP {status} ({pendo_reason(response)}). Pendo may be unavailable: try again later.", FailureType.transient_error)


def _host(config: PendoConfig) -> str:
    return "Pendo at " + host_of(config)
