import email.utils
import json
import logging
import random
import socket
import ssl
import time

import pytest
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.error_handlers.response_models import ResponseAction
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_pendo.http import API_KEY_HEADER, MAX_UNREACHABLE_RETRIES, PendoBackoffStrategy, PendoErrorHandler, PendoKeyAuth, retry_after_seconds

AGGREGATION = "https://app.pendo.io/api/v1/aggregation"
PAGES = "https://app.pendo.io/api/v1/page"


def response(status: int, url: str = PAGES, body: bytes = b"{}", headers=None) -> requests.Response:
    result = requests.Response()
    result.status_code = status
    result._content = body
    result.headers.update(headers or {})
    result.request = requests.Request("GET", url).prepare()
    return result


@pytest.fixture
def handler(make_config):
    return PendoErrorHandler(logging.getLogger("test"), make_config(api_key="abc.eu"))


def test_auth_sets_pendo_header_without_prefix():
    prepared = PendoKeyAuth("abc").__call__(requests.Request("GET", PAGES).prepare())
    assert prepared.headers[API_KEY_HEADER] == "abc"


def failure(handler, response_or_exception) -> AirbyteTracedException:
    """The error a failing answer raises: ours, never handed to the CDK (which would log the request body and headers)."""
    with pytest.raises(AirbyteTracedException) as raised:
        handler.interpret_response(response_or_exception)
    assert raised.value.internal_message == raised.value.message
    return raised.value


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_is_a_config_error_that_says_how_to_fix(handler, status):
    error = failure(handler, response(status))
    assert error.failure_type == FailureType.config_error
    assert "integration key" in error.message and "set 'Region' to EU" in error.message
    assert "Allow Write Access" not in error.message


def test_rejected_key_without_a_region_suffix_points_at_the_key_and_check(make_config):
    error = failure(PendoErrorHandler(logging.getLogger("test"), make_config()), response(401))
    assert "Integration Keys" in error.message and "'check' names the region" in error.message


def test_rejected_key_on_aggregation_mentions_write_access(handler):
    assert "Allow Write Access" in failure(handler, response(403, AGGREGATION)).message


BAD_REQUESTS = {
    "unknown app id": ("unknown appId 424242 for this subscription", "Check 'App IDs'"),
    "refused parameter": ("bad pipeline: bad source: bad parameters for source type featureEvents: unexpected parameters", "refused a parameter"),
    "refused filter": ("bad pipeline: bad filter: unexpected token", "refused a filter"),
    "key of another region": ("invalid subscription or key for this region", "Set 'Region' to your subscription's region"),
}


@pytest.mark.parametrize("pendo_says, hint", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request_leads_with_pendos_words_and_a_hint_chosen_by_them(make_config, pendo_says, hint):
    handler = PendoErrorHandler(logging.getLogger("test"), make_config())
    error = failure(handler, response(400, AGGREGATION, json.dumps({"message": pendo_says}).encode()))
    assert error.failure_type == FailureType.config_error
    assert error.message.startswith(f"Pendo refused the request (HTTP 400: {pendo_says}). ") and hint in error.message
    others = {other for _, other in BAD_REQUESTS.values()} - {hint}
    assert not [other for other in others if other in error.message]


def test_bad_request_of_a_key_with_another_regions_suffix_gives_the_region_after_pendos_words(handler):
    error = failure(handler, response(400, PAGES, b'{"message": "no such thing"}'))
    assert error.message.startswith("Pendo refused the request (HTTP 400: no such thing). ") and "set 'Region' to EU" in error.message


def refused() -> requests.ConnectionError:
    error = requests.ConnectionError("refused")
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return error


def test_a_refused_connection_is_retried_a_few_times_then_fails_naming_host_and_cause(handler, make_config):
    for _ in range(MAX_UNREACHABLE_RETRIES):
        assert handler.interpret_response(refused()).response_action == ResponseAction.RETRY
    error = failure(handler, refused())
    assert error.message == "Could not connect to Pendo at pendo.test: the connection was refused. Check 'API base URL'."
    assert error.failure_type == FailureType.config_error
    # The CDK's own short waits, logged with our message (a wait of ours would be logged as a rate limit).
    assert PendoBackoffStrategy().backoff_time(refused(), 1) is None


def test_a_failed_dns_lookup_is_retried_quickly_and_a_failed_tls_handshake_is_not(handler):
    unresolved = requests.ConnectionError("dns")
    unresolved.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert handler.interpret_response(unresolved).response_action == ResponseAction.RETRY
    assert PendoBackoffStrategy().backoff_time(unresolved, 1) is None
    handshake = requests.exceptions.SSLError("tls")
    handshake.__cause__ = ssl.SSLError(1, "wrong version number")
    assert "secure (TLS) connection failed" in failure(handler, handshake).message


def test_an_answer_between_refusals_starts_the_count_again(handler):
    for _ in range(MAX_UNREACHABLE_RETRIES):
        handler.interpret_response(refused())
    handler.interpret_response(response(200))
    assert handler.interpret_response(refused()).response_action == ResponseAction.RETRY


def test_pendos_own_host_refusing_is_transient(make_config):
    handler = PendoErrorHandler(logging.getLogger("test"), make_config(base_url=None))
    for _ in range(MAX_UNREACHABLE_RETRIES):
        handler.interpret_response(refused())
    error = failure(handler, refused())
    assert error.failure_type == FailureType.transient_error and "app.pendo.io" in error.message


def test_server_errors_name_the_host_and_pendos_words(handler):
    resolution = handler.interpret_response(response(503, PAGES, b'{"message": "maintenance"}'))
    assert resolution.failure_type == FailureType.transient_error
    assert resolution.error_message == "Pendo at pendo.test answered HTTP 503 (maintenance)."


def test_read_timeouts_shrink_pages_only_where_pages_can_shrink(make_config):
    config = make_config()
    paged = PendoErrorHandler(logging.getLogger("test"), config, shrink_pages_on_timeout=True)
    single = PendoErrorHandler(logging.getLogger("test"), config)
    assert paged.interpret_response(requests.exceptions.ReadTimeout()).response_action == ResponseAction.REDUCE_PAGE_SIZE
    assert single.interpret_response(requests.exceptions.ReadTimeout()).response_action == ResponseAction.RETRY
    assert paged.interpret_response(requests.exceptions.ConnectTimeout()).response_action == ResponseAction.RETRY


@pytest.mark.parametrize("status", [429])
def test_rate_limit_is_retried(handler, status):
    assert handler.interpret_response(response(status)).response_action == ResponseAction.RATE_LIMITED


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(handler, status):
    assert handler.interpret_response(response(status)).response_action == ResponseAction.RETRY


def test_422_fails_instead_of_retrying(handler):
    assert failure(handler, response(422, AGGREGATION)).failure_type == FailureType.system_error


def test_connection_errors_are_retried(handler):
    assert handler.interpret_response(requests.ConnectionError("reset")).response_action == ResponseAction.RETRY


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds(response(429, headers={"Retry-After": "7"})) == 7.0
    assert retry_after_seconds(response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_seconds(response(429)) is None


def test_backoff_honours_retry_after_up_to_the_cap():
    strategy = PendoBackoffStrategy(cap_seconds=60)
    assert strategy.backoff_time(response(429, headers={"Retry-After": "5"}), 1) == 5.0
    assert strategy.backoff_time(response(429, headers={"Retry-After": "86400"}), 1) == 60


@pytest.mark.parametrize("retry_after", ["3600", "http-date"])
def test_a_retry_after_beyond_the_cap_is_capped_and_said(caplog, retry_after):
    if retry_after == "http-date":
        retry_after = email.utils.formatdate(time.time() + 3600, usegmt=True)
    strategy = PendoBackoffStrategy(cap_seconds=120, logger=logging.getLogger("test"), stream="pages")
    with caplog.at_level(logging.WARNING, logger="test"):
        assert strategy.backoff_time(response(429, headers={"Retry-After": retry_after}), 1) == 120
    [message] = caplog.messages
    assert message.startswith("Stream 'pages': Pendo answered HTTP 429 and asked to wait 3")
    assert int(message.split("asked to wait ")[1].split(" s")[0]) in range(3590, 3601)
    assert "waiting 120 s instead" in message


def test_a_retry_after_within_the_cap_is_waited_without_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert PendoBackoffStrategy(cap_seconds=120).backoff_time(response(503, headers={"Retry-After": "120"}), 1) == 120
    assert caplog.messages == []


def test_backoff_without_retry_after_grows_with_jitter_and_is_capped():
    strategy = PendoBackoffStrategy(base_seconds=2, cap_seconds=30, rng=random.Random(1))
    waits = [strategy.backoff_time(response(503), attempt) for attempt in (1, 2, 3, 4, 8)]
    assert 1 <= waits[0] <= 2 and 2 <= waits[1] <= 4 and 4 <= waits[2] <= 8 and 8 <= waits[3] <= 16
    assert 15 <= waits[4] <= 30
    assert len({round(w, 6) for w in waits}) == len(waits)


def test_the_request_budget_admits_its_rate_and_no_more():
    from airbyte_cdk.sources.streams.call_rate import CallRateLimitHit

    from source_pendo.http import request_budget

    budget = request_budget(requests_per_second=3, max_concurrent_requests=4)
    request = requests.Request("GET", PAGES).prepare()
    for _ in range(3):
        budget.acquire_call(request, block=False)
    with pytest.raises(CallRateLimitHit):
        budget.acquire_call(request, block=False)


def test_once_pendo_is_found_down_requests_get_quick_retries_until_an_answer_is_read(make_config):
    from source_pendo.http import MAX_RETRIES, MAX_RETRY_SECONDS
    from source_pendo.outage import OUTAGE_MAX_RETRY_SECONDS, OUTAGE_RETRIES, Outage

    outage = Outage()
    handler = PendoErrorHandler(logging.getLogger("test"), make_config(), outage=outage)
    assert (handler.max_retries, handler.max_time) == (MAX_RETRIES, MAX_RETRY_SECONDS)
    outage.stream_gave_up()
    assert (handler.max_retries, handler.max_time) == (OUTAGE_RETRIES, OUTAGE_MAX_RETRY_SECONDS)
    outage.answered()
    assert handler.max_retries == MAX_RETRIES


def test_once_pendo_is_found_down_every_wait_is_short_even_a_retry_after(caplog):
    from source_pendo.outage import OUTAGE_BACKOFF_CAP_SECONDS, Outage

    outage = Outage()
    outage.stream_gave_up()
    strategy = PendoBackoffStrategy(outage=outage, logger=logging.getLogger("test"), stream="pages")
    assert all(strategy.backoff_time(response(503), attempt) <= OUTAGE_BACKOFF_CAP_SECONDS for attempt in range(1, 9))
    with caplog.at_level(logging.WARNING, logger="test"):
        assert strategy.backoff_time(response(503, headers={"Retry-After": "30"}), 1) == OUTAGE_BACKOFF_CAP_SECONDS
    assert "waiting 2 s instead, as Pendo was found down earlier in this sync" in caplog.messages[0]


def test_each_retry_is_logged_as_what_failed_with_the_wait_and_the_count(caplog, make_config):
    strategy = PendoBackoffStrategy(logger=logging.getLogger("test"), stream="pages", config=make_config(), rng=random.Random(3))
    with caplog.at_level(logging.WARNING, logger="test"):
        seconds = strategy.backoff_time(response(503, body=b'{"message": "down for maintenance"}'), 2)
        strategy.backoff_time(requests.exceptions.ConnectionError("Connection reset by peer"), 3)
        strategy.backoff_time(requests.exceptions.ReadTimeout("read timed out"), 4)
        strategy.backoff_time(response(503), 9)  # the last attempt: the CDK asks, then gives up without waiting
    assert caplog.messages == [
        f"Stream 'pages': Pendo at pendo.test answered HTTP 503 (down for maintenance). Retrying in {seconds + 1:.0f} s (retry 2 of 8).",
        caplog.messages[1],
        caplog.messages[2],
    ]
    assert caplog.messages[1].startswith("Stream 'pages': The connection to Pendo at pendo.test broke before Pendo answered (reset or closed). Retrying in ")
    assert caplog.messages[2].startswith("Stream 'pages': Pendo at pendo.test did not answer within 300 s. Retrying in ")
    assert caplog.messages[2].endswith("(retry 4 of 8).")


def test_a_reset_connection_names_the_host_instead_of_a_generic_request_exception(handler):
    resolution = handler.interpret_response(requests.exceptions.ConnectionError("Connection reset by peer"))
    assert resolution.response_action == ResponseAction.RETRY and resolution.failure_type == FailureType.transient_error
    assert resolution.error_message == "The connection to Pendo at pendo.test broke before Pendo answered (reset or closed)."


def test_once_pendo_is_found_down_a_request_waits_at_most_a_minute_for_an_answer_and_says_so(make_config, caplog):
    from source_pendo.outage import OUTAGE_READ_TIMEOUT_SECONDS, Outage
    from source_pendo.streams.entities import Pages

    config = make_config(request_timeout=600)
    stream = Pages(config)
    outage = stream.outage
    handler = PendoErrorHandler(logging.getLogger("test"), config, outage=outage)
    strategy = PendoBackoffStrategy(logger=logging.getLogger("test"), stream="pages", config=config, outage=outage)
    assert stream.request_kwargs()["timeout"][1] == 600
    assert handler.interpret_response(requests.exceptions.ReadTimeout()).error_message == "Pendo at pendo.test did not answer within 600 s."

    outage.stream_gave_up()
    assert stream.request_kwargs()["timeout"][1] == OUTAGE_READ_TIMEOUT_SECONDS
    assert handler.interpret_response(requests.exceptions.ReadTimeout()).error_message == f"Pendo at pendo.test did not answer within {OUTAGE_READ_TIMEOUT_SECONDS} s."
    with caplog.at_level(logging.WARNING, logger="test"):
        strategy.backoff_time(requests.exceptions.ReadTimeout("read timed out"), 1)
    assert caplog.messages[0].startswith(f"Stream 'pages': Pendo at pendo.test did not answer within {OUTAGE_READ_TIMEOUT_SECONDS} s. Retrying in ")

    outage.answered()
    assert stream.request_kwargs()["timeout"][1] == 600
    outage.stream_gave_up()
    assert outage.read_timeout(30) == 30  # a shorter 'Request timeout' stays as it is


def test_every_query_of_a_stream_waits_the_shorter_time_once_pendo_is_found_down(make_config):
    from source_pendo.outage import OUTAGE_READ_TIMEOUT_SECONDS
    from source_pendo.streams.events import Events
    from source_pendo.streams.history import VisitorHistory
    from source_pendo.streams.rest import MetadataAccounts

    config = make_config(request_timeout=600)
    window = {"first_label": 1_793_491_200_000, "buckets": 1}
    events, history, catalogue = Events(config), VisitorHistory(config), MetadataAccounts(config)
    requests_of = {
        "events window": lambda: events.query().request(window, None),
        "visitor_history's active visitor-days": lambda: history.activity.query.request(window, None),
        "metadata catalogue": lambda: catalogue.query().request(None, None),
    }
    assert {name: build().request_kwargs["timeout"][1] for name, build in requests_of.items()} == dict.fromkeys(requests_of, 600)
    for stream in (events, history, catalogue):
        stream.outage.stream_gave_up()
    assert {name: build().request_kwargs["timeout"][1] for name, build in requests_of.items()} == dict.fromkeys(requests_of, OUTAGE_READ_TIMEOUT_SECONDS)
