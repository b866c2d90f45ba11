"""The connection check: a few cheap calls, and a message that says what to fix."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping, Optional, Set

import requests
from airbyte_cdk.models import FailureType

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
from .http import PendoKeyAuth, request_timeout
from .regions import region_accepting_key

CHECK_READ_TIMEOUT_SECONDS = 60
TRANSIENT_RETRY_SECONDS = (1, 2)


@dataclass(frozen=True)
class Problem:
    message: str
    failure_type: FailureType = FailureType.config_error


def diagnose(config: PendoConfig, region_roots: Mapping[str, str] = REGION_API_ROOTS) -> Optional[Problem]:
    """`diagnose_once`, asked again after a short wait while the problem is a passing one (a broken
    answer, a 5xx): a check should not fail on one hiccup that a sync would have retried."""
    for wait in TRANSIENT_RETRY_SECONDS:
        problem = diagnose_once(config, region_roots)
        if problem is None or problem.failure_type != FailureType.transient_error:
            return problem
        time.sleep(wait)
    return diagnose_once(config, region_roots)


def diagnose_once(config: PendoConfig, region_roots: Mapping[str, str] = REGION_API_ROOTS) -> Optional[Problem]:
    """What stops this config from reading Pendo, if anything: the key, its region, its write access,
    the app ids, or the host being out of reach. `region_roots`: Pendo's hosts, asked which one
    accepts a key the configured host refuses."""
    session = requests.Session()
    session.auth = PendoKeyAuth(config.api_key)
    timeout = request_timeout(min(config.request_timeout, CHECK_READ_TIMEOUT_SECONDS))
    try:
        response = session.get(config.api_root + "metadata/schema/visitor", timeout=timeout)
        if response.status_code >= 400:
            return _key_problem(response, config, region_roots)
        if config.app_ids:
            problem = _unknown_app_ids(session, config, timeout)
            if problem:
                return problem
        probe = aggregation.pipeline_body("pages", {"appId": config.app_id_param}, [{"count": None}], request_id="check")
        return _aggregation_problem(session.post(config.api_root + "aggregation", json=probe, timeout=timeout), config)
    except requests.exceptions.Timeout:
        return Problem(f"{_host(config)} did not answer within {timeout[1]} seconds. Check 'Region' (or 'API base URL') and try again later.", FailureType.transient_error)
    except requests.exceptions.RequestException as error:
        cause = unreachable_cause(error)
        if cause:
            return Problem(unreachable_message(config, cause), unreachable_failure_type(config))
        if isinstance(error, requests.exceptions.ChunkedEncodingError):
            return Problem(f"{_host(config)} broke off its answer. Try again later.", FailureType.transient_error)
        return Problem(f"Could not connect to {_host(config)} ({type(error).__name__}). Try again later.", FailureType.transient_error)
    finally:
        session.close()


def _key_problem(response: requests.Response, config: PendoConfig, region_roots: Mapping[str, str]) -> Problem:
    status = response.status_code
    if status not in (400, 401, 403):
        return _unavailable(response, config)
    reason = pendo_reason(response)
    refused_key = status != 400 or bool(KEY_OR_REGION.search(reason))
    # A base URL of the user's own (a proxy, a test server) is where they want to go: Pendo's hosts are not asked.
    if refused_key and not config.custom_base_url:
        region = region_accepting_key(config.api_key, region_roots, config.api_root)
        if region:
            return Problem(f"{_host(config)} refused the integration key (HTTP {status}: {reason}). {region_hint(config, region)}")
    if status == 400:
        return Problem(bad_request_message(reason, config))
    return Problem(rejected_key_message(status, False, config))


def _unknown_app_ids(session: requests.Session, config: PendoConfig, timeout: tuple) -> Optional[Problem]:
    """Configured app ids the subscription does not show. Pendo may answer an unknown app id with no
    rows rather than an error, so the ids are compared with those its pages and features carry."""
    known: Set[int] = set()
    for source in ("pages", "features"):
        # Whole objects, not a `select`: no public client shows Pendo's `select`, and the objects are small.
        body = aggregation.pipeline_body(source, {"appId": ALL_APPS}, request_id=f"check-apps-{source}")
        response = session.post(config.api_root + "aggregation", json=body, timeout=timeout)
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
