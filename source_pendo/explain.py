"""What a failed request means to the user: a message led by what Pendo said, or by why its host could
not be reached, with the fix. Never a request body, a header or the key."""

from __future__ import annotations

import re
import socket
import ssl
from typing import Iterator, Optional

import requests
from airbyte_cdk.models import FailureType

from .config import KEY_HELP, REGION_API_ROOTS, PendoConfig, region_from_key_suffix

REGION_HOSTS_HELP = ", ".join(f"{root.split('/')[2]} = {region}" for region, root in REGION_API_ROOTS.items())
APP_IDS_HINT = (
    "Check 'App IDs': each must be the id of an app of this subscription (Settings > Subscription Settings > Apps);"
    " leave it empty for every app."
)
REPORT_HINT = "This Pendo answers differently from what source-pendo expects: please report this message to source-pendo's maintainers."
# Pendo's answers about the key or where it belongs (e.g. "invalid subscription or key for this region").
KEY_OR_REGION = re.compile(r"\b(region|subscription|key)\b", re.IGNORECASE)
REFUSED = "the connection was refused"
UNRESOLVED = "its name could not be resolved (DNS lookup failed)"
# Causes that may pass in seconds (a restarting proxy, a resolver hiccup); a failed TLS handshake will not.
PASSING_CAUSES = (REFUSED, UNRESOLVED)


def pendo_reason(response: requests.Response) -> str:
    """Pendo's own words for an error answer, kept short."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "no reason given")[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:300]
    return str(body)[:300]


def host_of(config: PendoConfig) -> str:
    return config.api_root.split("/")[2]


def region_hint(config: PendoConfig, accepting_region: Optional[str] = None) -> str:
    """Which region to set: the one whose host accepts the key (found by `check`), else the one the
    key's suffix names, else how to find it."""
    if accepting_region:
        return f"This key belongs to region {accepting_region}: set 'Region' to {accepting_region}."
    suffix_region = region_from_key_suffix(config.api_key)
    if suffix_region and (suffix_region != config.region or config.custom_base_url):
        return f"The key ends in the suffix of region {suffix_region}: set 'Region' to {suffix_region}."
    return f"Set 'Region' to your subscription's region; the host you log in to tells it ({REGION_HOSTS_HELP})."


def _suffix_names_another_region(config: PendoConfig) -> bool:
    suffix_region = region_from_key_suffix(config.api_key)
    return bool(suffix_region) and (suffix_region != config.region or config.custom_base_url)


def rejected_key_message(status: int, aggregation: bool, config: PendoConfig) -> str:
    if aggregation:
        return (
            f"Pendo refused aggregation queries with this integration key (HTTP {status}). Some Pendo subscriptions"
            " require the key to have 'Allow Write Access' for them: tick it on the key in Settings > Integrations >"
            f" Integration Keys, or create a key with it. If the key was revoked, create a new one. {KEY_HELP}"
        )
    if status == 401:
        message = "Pendo rejected the integration key (HTTP 401): it is wrong, has been revoked, or belongs to another region."
    else:
        message = "Pendo refused the integration key access (HTTP 403): it may have been revoked or belong to another region."
    if _suffix_names_another_region(config):
        return f"{message} {region_hint(config)}"
    return f"{message} If the key is right, check 'Region' ('check' names the region that accepts it). {KEY_HELP}"


def bad_request_hint(reason: str, config: PendoConfig) -> str:
    """The fix a 400 calls for, chosen by what Pendo said: a 400 alone does not mean another region."""
    lowered = reason.lower()
    if "appid" in lowered or "app id" in lowered:
        return APP_IDS_HINT
    if "unexpected parameter" in lowered or "bad parameters" in lowered:
        return f"Pendo refused a parameter of source-pendo's query. {REPORT_HINT}"
    if "bad filter" in lowered:
        return f"Pendo refused a filter of source-pendo's query. {REPORT_HINT}"
    if KEY_OR_REGION.search(reason) or _suffix_names_another_region(config):
        return f"Pendo refused the key on this host, as it does a key of another region. {region_hint(config)}"
    return f"Pendo refused source-pendo's request. {REPORT_HINT}"


def bad_request_message(reason: str, config: PendoConfig) -> str:
    return f"Pendo refused the request (HTTP 400: {reason}). {bad_request_hint(reason, config)}"


def server_error_message(response: requests.Response, config: PendoConfig) -> str:
    return f"Pendo at {host_of(config)} answered HTTP {response.status_code} ({pendo_reason(response)})."


def timeout_message(config: PendoConfig, connecting: bool, read_seconds: Optional[int] = None) -> str:
    """`read_seconds`: how long the request waited for an answer, if not 'Request timeout'."""
    if connecting:
        return f"Could not connect to Pendo at {host_of(config)} in time."
    return f"Pendo at {host_of(config)} did not answer within {read_seconds or config.request_timeout} s."


def broken_connection_message(config: PendoConfig) -> str:
    return f"The connection to Pendo at {host_of(config)} broke before Pendo answered (reset or closed)."


def retry_reason(failure: object, config: PendoConfig, read_seconds: Optional[int] = None) -> str:
    """What failed, in a user's words, for the log line of a retry (`read_seconds` as for timeout_message)."""
    if isinstance(failure, requests.Response):
        if failure.status_code >= 500:
            return server_error_message(failure, config)
        return f"Pendo at {host_of(config)} answered HTTP {failure.status_code}."
    if isinstance(failure, BaseException):
        cause = unreachable_cause(failure)
        if cause:
            return unreachable_message(config, cause)
        if isinstance(failure, requests.exceptions.Timeout):
            return timeout_message(config, isinstance(failure, requests.exceptions.ConnectTimeout), read_seconds)
    return broken_connection_message(config)


def unreachable_cause(error: BaseException) -> Optional[str]:
    """Why a host could not be reached, in a user's words, if the request never got an answer
    because of a refused connection, a name that does not resolve or a failed TLS handshake."""
    for link in _chain(error):
        if isinstance(link, ConnectionRefusedError):
            return REFUSED
        if isinstance(link, socket.gaierror):
            return UNRESOLVED
        if isinstance(link, ssl.SSLCertVerificationError):
            return f"its TLS certificate was not accepted ({link.verify_message})"
        if isinstance(link, ssl.SSLError):
            detail = (getattr(link, "reason", None) or str(link)).replace("_", " ").lower()
            return f"the secure (TLS) connection failed ({detail}; is the URL http:// rather than https://?)"
    return None


def unreachable_message(config: PendoConfig, cause: str) -> str:
    fix = "Check 'API base URL'." if config.custom_base_url else "Check that this network can reach Pendo; if it can, Pendo may be down: try again later."
    return f"Could not connect to Pendo at {host_of(config)}: {cause}. {fix}"


def unreachable_failure_type(config: PendoConfig) -> FailureType:
    """A host the user set is theirs to fix; Pendo's own host out of reach is worth retrying later."""
    return FailureType.config_error if config.custom_base_url else FailureType.transient_error


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and what caused it: requests wraps urllib3's errors, which wrap the socket's."""
    pending, seen = [error], set()
    while pending:
        link = pending.pop(0)
        if not isinstance(link, BaseException) or id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        pending.extend([*link.args, getattr(link, "reason", None), link.__cause__, link.__context__])
