"""The connection check: one cheap call per endpoint family, and a message that says what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import requests
from airbyte_cdk.models import FailureType

from . import aggregation
from .config import PendoConfig
from .http import PendoKeyAuth, host_of, pendo_reason, rejected_key_message, request_timeout, wrong_region_message

CHECK_READ_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Problem:
    message: str
    failure_type: FailureType = FailureType.config_error


def diagnose(config: PendoConfig) -> Optional[Problem]:
    """What stops this config from reading Pendo, if anything: the key, its region, its write access,
    the app ids, or the host being out of reach."""
    session = requests.Session()
    session.auth = PendoKeyAuth(config.api_key)
    timeout = request_timeout(min(config.request_timeout, CHECK_READ_TIMEOUT_SECONDS))
    try:
        response = session.get(config.api_root + "metadata/schema/visitor", timeout=timeout)
        problem = _problem(response, config, aggregation_call=False)
        if problem:
            return problem
        probe = aggregation.pipeline_body("pages", {"appId": config.app_id_param}, [{"count": None}], request_id="check")
        response = session.post(config.api_root + "aggregation", json=probe, timeout=timeout)
        return _problem(response, config, aggregation_call=True)
    except requests.exceptions.Timeout:
        return Problem(f"{_host(config)} did not answer within {timeout[1]} seconds. Check 'Region' (or 'API base URL') and try again later.", FailureType.transient_error)
    except requests.exceptions.ConnectionError:
        return Problem(f"Could not connect to {_host(config)}. Check 'Region' (or 'API base URL') and that this network can reach Pendo.", FailureType.transient_error)
    except requests.exceptions.RequestException as error:
        return Problem(f"The request to {_host(config)} failed ({type(error).__name__}). Check 'API base URL'.")
    finally:
        session.close()


def _problem(response: requests.Response, config: PendoConfig, aggregation_call: bool) -> Optional[Problem]:
    status = response.status_code
    if status < 400:
        return None
    if status in (401, 403):
        return Problem(rejected_key_message(status, aggregation_call))
    if status == 400:
        if aggregation_call and config.app_ids:
            return Problem(
                f"Pendo rejected the app ids {list(config.app_ids)} ({pendo_reason(response)}). Use ids of apps of this"
                " subscription (Settings > Subscription Settings > Apps), or leave 'App IDs' empty for every app."
            )
        return Problem(f"{_host(config)} refused the key. {wrong_region_message(config)}")
    return Problem(f"{_host(config)} answered HTTP {status} ({pendo_reason(response)}). Pendo may be unavailable: try again later.", FailureType.transient_error)


def _host(config: PendoConfig) -> str:
    return "Pendo at " + host_of(config)
