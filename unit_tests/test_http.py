import logging
import random

import pytest
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.error_handlers.response_models import ResponseAction

from source_pendo.http import API_KEY_HEADER, PendoBackoffStrategy, PendoErrorHandler, PendoKeyAuth, retry_after_seconds

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


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_is_a_config_error_that_says_how_to_fix(handler, status):
    resolution = handler.interpret_response(response(status))
    assert resolution.response_action == ResponseAction.FAIL
    assert resolution.failure_type == FailureType.config_error
    assert "Integration Keys" in resolution.error_message
    assert "Allow Write Access" not in resolution.error_message


def test_rejected_key_on_aggregation_mentions_write_access(handler):
    resolution = handler.interpret_response(response(403, AGGREGATION))
    assert "Allow Write Access" in resolution.error_message


def test_bad_request_names_region_and_app_ids_and_pendos_reason(handler):
    resolution = handler.interpret_response(response(400, AGGREGATION, b'{"message": "unknown app 42"}'))
    assert resolution.failure_type == FailureType.config_error
    assert "unknown app 42" in resolution.error_message
    assert "set 'Region' to EU" in resolution.error_message and "App IDs" in resolution.error_message


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
    assert handler.interpret_response(response(422, AGGREGATION)).response_action == ResponseAction.FAIL


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


def test_backoff_without_retry_after_grows_with_jitter_and_is_capped():
    strategy = PendoBackoffStrategy(base_seconds=2, cap_seconds=30, rng=random.Random(1))
    waits = [strategy.backoff_time(response(503), attempt) for attempt in (1, 2, 3, 4, 8)]
    assert 1 <= waits[0] <= 2 and 2 <= waits[1] <= 4 and 4 <= waits[2] <= 8 and 8 <= waits[3] <= 16
    assert 15 <= waits[4] <= 30
    assert len({round(w, 6) for w in waits}) == len(waits)


def test_the_request_budget_admits_its_rate_and_no_more():
    from airbyte_cdk.sources.streams.call_rate import CallRateLimitHit

    from source_pendo.http import request_budget

    budget = request_budget(requests_per_second=3)
    request = requests.Request("GET", PAGES).prepare()
    for _ in range(3):
        budget.acquire_call(request, block=False)
    with pytest.raises(CallRateLimitHit):
        budget.acquire_call(request, block=False)
