"""How Pendo's errors come out of a read through the source: rate limits and server errors retried
after the wait asked for (sleeps recorded, not slept: unit_tests/conftest.py), a refused request or
key failing the stream as a config error that names it, in Pendo's words, without the key."""

from __future__ import annotations

from unittest import TestCase

import pytest
from airbyte_cdk.models import FailureType, SyncMode
from airbyte_cdk.test.mock_http import HttpMocker

from .config import API_KEY, ConfigBuilder
from .helpers import ms, read_stream, record_data
from .request_builder import ALL_APPS, PendoRequests
from .response_builder import a_page, aggregation_response, error


def pages_request():
    return PendoRequests.aggregation("pages").source("pages", ALL_APPS).sort("id").limit(50000).build()


def one_page():
    return aggregation_response().with_row(a_page("a", ms("2026-10-01"))).build()


class PendoErrorsTest(TestCase):
    @pytest.fixture(autouse=True)
    def record_sleeps(self, slept):
        self.slept = slept

    @HttpMocker()
    def test_a_rate_limit_is_waited_out_as_retry_after_asks_then_read(self, http_mocker: HttpMocker) -> None:
        request = pages_request()
        http_mocker.post(request, [error(429, "Too many requests", retry_after="5"), one_page()])

        output = read_stream("pages", SyncMode.full_refresh, ConfigBuilder().build())

        assert [record["id"] for record in record_data(output)] == ["a"] and not output.errors
        # Retry-After, plus the second the CDK adds to every wait. (The CDK's request budget then
        # holds further requests until its one-second window passes: the short waits after it.)
        assert self.slept[0] == 6 and max(self.slept) == 6
        http_mocker.assert_number_of_calls(request, 2)

    @HttpMocker()
    def test_a_server_error_is_retried_after_a_short_backoff_then_read(self, http_mocker: HttpMocker) -> None:
        request = pages_request()
        http_mocker.post(request, [error(503), one_page()])

        output = read_stream("pages", SyncMode.full_refresh, ConfigBuilder().build())

        assert [record["id"] for record in record_data(output)] == ["a"] and not output.errors
        # The first backoff: between half and all of 2 s (jitter), plus the CDK's second.
        [wait] = [seconds for seconds in self.slept if seconds]
        assert 2 <= wait <= 3
        http_mocker.assert_number_of_calls(request, 2)

    @HttpMocker()
    def test_a_refused_request_fails_the_stream_as_a_config_error_in_pendos_words(self, http_mocker: HttpMocker) -> None:
        request = pages_request()
        http_mocker.post(request, error(400, "unknown appId 424242 for this subscription"))

        output = read_stream("pages", SyncMode.full_refresh, ConfigBuilder().build(), expecting_exception=True)

        failure = output.errors[-1].trace.error
        assert failure.failure_type == FailureType.config_error
        assert "Stream 'pages'" in failure.message
        assert "Pendo refused the request (HTTP 400: unknown appId 424242 for this subscription)" in failure.message
        assert "Check 'App IDs'" in failure.message
        assert not self.slept
        http_mocker.assert_number_of_calls(request, 1)

    @HttpMocker()
    def test_a_rejected_key_fails_the_stream_as_a_config_error_without_showing_it(self, http_mocker: HttpMocker) -> None:
        request = pages_request()
        http_mocker.post(request, error(401, "invalid integration key"))

        output = read_stream("pages", SyncMode.full_refresh, ConfigBuilder().build(), expecting_exception=True)

        failure = output.errors[-1].trace.error
        assert failure.failure_type == FailureType.config_error
        # On the aggregation endpoint a refused key may also lack the write access some subscriptions require.
        assert "Stream 'pages'" in failure.message and "Pendo refused aggregation queries with this integration key (HTTP 401)" in failure.message
        assert not any(API_KEY in str(message) for message in [*output.errors, *output.logs])
        http_mocker.assert_number_of_calls(request, 1)
