"""What every source-pendo stream shares: host, auth, timeouts, retries, streamed bodies, and reading
on from the last record emitted when a response breaks off."""

from __future__ import annotations

import time
from abc import ABC
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping, Optional

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.call_rate import APIBudget
from airbyte_cdk.sources.streams.http import HttpClient, HttpStream
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy, ErrorHandler
from airbyte_cdk.sources.streams.http.error_handlers.response_models import ErrorResolution, ResponseAction
from airbyte_cdk.sources.streams.http.exceptions import BaseBackoffException
from airbyte_cdk.sources.streams.http.page_size_reduction_exception import PageSizeReductionRequiredException
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from ..config import PendoConfig, config_error
from ..http import MAX_RETRIES, PendoBackoffStrategy, PendoErrorHandler, PendoKeyAuth, request_timeout
from ..jsonstream import BrokenResponse
from ..records import ObjectShaper

# The smallest page a timing-out stream shrinks to.
MIN_PAGE_SIZE = 100
# Retries of a broken response in a row, with no record emitted in between, before the stream gives up.
MAX_RETRIES_WITHOUT_PROGRESS = 6


class PendoStream(HttpStream, ABC):
    primary_key: Optional[str] = "id"
    shrinks_pages_on_timeout = False

    def __init__(self, config: PendoConfig, budget: Optional[APIBudget] = None):
        """`budget`: the request rate all streams of a sync share."""
        self.config = config
        self.budget = budget
        self.page_size = config.page_size
        self._backoff = PendoBackoffStrategy()
        super().__init__(authenticator=PendoKeyAuth(config.api_key), api_budget=budget)

    @property
    def url_base(self) -> str:
        return self.config.api_root

    def request_kwargs(self, **kwargs: Any) -> Mapping[str, Any]:
        return {"timeout": request_timeout(self.config.request_timeout), "stream": True}

    def get_error_handler(self) -> ErrorHandler:
        return PendoErrorHandler(self.logger, self.config, shrink_pages_on_timeout=self.shrinks_pages_on_timeout)

    def get_backoff_strategy(self) -> BackoffStrategy:
        return PendoBackoffStrategy(logger=self.logger, stream=self.name)

    def next_page_token(self, response: requests.Response) -> Optional[Mapping[str, Any]]:
        return None

    def client(self, hand_back_status: Optional[int] = None) -> HttpClient:
        """A client as this stream's own (auth, budget, errors, backoff) for requests outside its pages;
        an answer with `hand_back_status` is returned to the caller instead of failing."""
        error_handler = self.get_error_handler()
        if hand_back_status is not None:
            error_handler = HandBack(error_handler, hand_back_status)
        return HttpClient(
            name=self.name,
            logger=self.logger,
            error_handler=error_handler,
            api_budget=self.budget,
            authenticator=PendoKeyAuth(self.config.api_key),
            backoff_strategy=self.get_backoff_strategy(),
        )

    @cached_property
    def shape(self) -> Callable[[Mapping[str, Any]], dict]:
        """Turns one Pendo row into a record of this stream's schema."""
        return ObjectShaper(self.get_json_schema())

    def unreadable_state(self, value: Mapping[str, Any], cursor_field: str) -> AirbyteTracedException:
        return config_error(
            f"The saved state of stream '{self.name}' is not one source-pendo wrote ({dict(value)!r}): it needs"
            f" '{cursor_field}' as an ISO-8601 date-time. Reset the stream's data to start afresh."
        )

    def position(self) -> str:
        """Where the stream stands, for messages."""
        return "at the start"

    def shrink_page(self) -> None:
        """Ask for half as many rows per request from now on (streams that page)."""
        smaller = max(self.page_size // 2, MIN_PAGE_SIZE)
        if self.shrinks_pages_on_timeout and smaller < self.page_size:
            self.logger.warning(f"Stream '{self.name}': asking for {smaller} rows per request instead of {self.page_size}.")
            self.page_size = smaller

    def read_records(self, sync_mode, cursor_field=None, stream_slice=None, stream_state=None) -> Iterable[Mapping[str, Any]]:
        """Pages as the CDK reads them; when a response breaks off, ask again from where the records
        emitted so far end (each stream's request is built from that position)."""
        failures = 0
        while True:
            emitted = 0
            try:
                for record in self._read_pages(
                    lambda request, response, state, _slice: self.parse_response(response, stream_slice=_slice, stream_state=state),
                    stream_slice,
                    stream_state,
                ):
                    emitted += 1
                    yield record
                return
            except (BrokenResponse, PageSizeReductionRequiredException) as error:
                failures = 1 if emitted else failures + 1
                timed_out = isinstance(error, PageSizeReductionRequiredException) or error.timed_out
                if failures > MAX_RETRIES_WITHOUT_PROGRESS:
                    kept_failing = f"Pendo's answers kept failing ({_reason(error)}). Try again later; if it persists, lower 'Page size' or raise 'Request timeout'."
                    raise self.stopped(AirbyteTracedException(message=kept_failing, failure_type=FailureType.transient_error, exception=error)) from error
                if timed_out and not emitted:
                    self.shrink_page()
                wait = self._backoff.backoff_time(None, failures)
                self.logger.warning(f"Stream '{self.name}': {_reason(error)}; reading on {self.position()} in {wait:.1f} s.")
                time.sleep(wait)
            except AirbyteTracedException as error:
                raise self.stopped(error) from error

    def stopped(self, error: AirbyteTracedException) -> "StreamStopped":
        """The error as the user sees it: which stream, where it stopped, and why. An error of a
        stream this one reads from (the metadata catalogue of accounts) is told as this stream's."""
        if isinstance(error, StreamStopped):
            if error.stream == self.name:
                return error
            reason = error.reason
        else:
            reason = user_reason(error)
        return StreamStopped(self.name, self.position(), reason, error.failure_type, error)


class StreamStopped(AirbyteTracedException):
    """A stream's final error; `reason` is the cause without the stream's name."""

    def __init__(self, stream: str, position: str, reason: str, failure_type: FailureType, cause: BaseException):
        message = f"Stream '{stream}' stopped {position}: {reason}"
        super().__init__(message=message, internal_message=message, failure_type=failure_type, exception=cause)
        self.stream = stream
        self.reason = reason


def user_reason(error: AirbyteTracedException) -> str:
    """The cause in the user's words. The CDK's "Exhausted available request attempts" sends the user
    to logs: say instead what kept failing."""
    if isinstance(error.__context__, BaseBackoffException):
        return f"{error.__context__} It kept failing after {MAX_RETRIES} retries: try again later."
    return error.message or error.internal_message or "an unknown error"


class HandBack(ErrorHandler):
    """Another error handler, except that answers of one status are the caller's to read."""

    def __init__(self, inner: ErrorHandler, status: int):
        self._inner = inner
        self._status = status

    @property
    def max_retries(self) -> Optional[int]:
        return self._inner.max_retries

    @property
    def max_time(self) -> Optional[int]:
        return self._inner.max_time

    def interpret_response(self, response_or_exception=None) -> ErrorResolution:
        if isinstance(response_or_exception, requests.Response) and response_or_exception.status_code == self._status:
            return ErrorResolution(response_action=ResponseAction.IGNORE, error_message=f"Pendo answered HTTP {self._status}; reading its answer.")
        return self._inner.interpret_response(response_or_exception)


def _reason(error: Exception) -> str:
    if isinstance(error, PageSizeReductionRequiredException):
        return "a request timed out"
    return str(error)
