"""What every source-pendo stream shares: host, auth, timeouts, its error handler and backoff, and
its reader (reader.py), which sends its requests and reads its pages. A stream is the query
(reader.Query) of its own HttpStream hooks unless it declares another with `query()`."""

from __future__ import annotations

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
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from ..config import PendoConfig, config_error
from ..http import MAX_RETRIES, PendoBackoffStrategy, PendoErrorHandler, PendoHttpClient, PendoKeyAuth, outage_of, request_timeout
from ..outage import GAVE_UP_EARLY
from ..reader import PageRead, Query, Reader, Request, Token
from ..records import ObjectShaper

class PendoStream(HttpStream, ABC):
    primary_key: Optional[str] = "id"
    shrinks_pages_on_timeout = False
    hand_back_status: Optional[int] = None  # answers of this status are the stream's to read, not failures

    def __init__(self, config: PendoConfig, budget: Optional[APIBudget] = None):
        """`budget`: the request rate all streams of a sync share, and whether Pendo was found down."""
        self.config = config
        self.budget = budget
        self.outage = outage_of(budget)
        self.page_size = config.page_size
        super().__init__(authenticator=PendoKeyAuth(config.api_key), api_budget=budget)
        # Sends this stream's requests and reads its pages; made here, not on first use, because
        # worker threads send requests ahead.
        self.reader = Reader(self, self.query(), hand_back_status=self.hand_back_status)

    def query(self) -> Query:
        """What this stream asks Pendo, page after page: by default, its own HttpStream hooks."""
        return self

    @property
    def url_base(self) -> str:
        return self.config.api_root

    def request_kwargs(self, **kwargs: Any) -> Mapping[str, Any]:
        return self.streamed_request_kwargs()

    def streamed_request_kwargs(self) -> Mapping[str, Any]:
        """A request whose answer is read as it streams in, waiting as long as the stream's own do."""
        return {"timeout": request_timeout(self.outage.read_timeout(self.config.request_timeout)), "stream": True}

    def get_error_handler(self) -> ErrorHandler:
        return PendoErrorHandler(self.logger, self.config, shrink_pages_on_timeout=self.shrinks_pages_on_timeout, outage=self.outage)

    def get_backoff_strategy(self) -> BackoffStrategy:
        return PendoBackoffStrategy(logger=self.logger, stream=self.name, config=self.config, outage=self.outage)

    def next_page_token(self, response: requests.Response) -> Optional[Mapping[str, Any]]:
        return None

    def client(self, hand_back_status: Optional[int] = None) -> "StreamClient":
        """A client for requests outside the stream's pages, sent where the stream is read (a probe, a
        lookup before the first window): a failure is told as the stream's, like its pages' failures.
        An answer with `hand_back_status` is returned to the caller instead of failing."""
        return StreamClient(self, self.http_client(hand_back_status))

    def http_client(self, hand_back_status: Optional[int] = None, shrink_pages_on_timeout: Optional[bool] = None) -> HttpClient:
        """A client as this stream's own (auth, budget, errors, backoff); an answer with
        `hand_back_status` is returned to the caller instead of failing. `shrink_pages_on_timeout`:
        for a query that pages unlike the stream."""
        error_handler: ErrorHandler = self.get_error_handler()
        if shrink_pages_on_timeout is not None:
            error_handler = PendoErrorHandler(self.logger, self.config, shrink_pages_on_timeout=shrink_pages_on_timeout, outage=self.outage)
        if hand_back_status is not None:
            error_handler = HandBack(error_handler, hand_back_status)
        return PendoHttpClient(
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

    def position(self, stream_slice: Optional[Mapping[str, Any]] = None, token: Token = None) -> str:
        """Where the stream stands, for messages."""
        return "at the start"

    def read_records(self, sync_mode, cursor_field=None, stream_slice=None, stream_state=None) -> Iterable[Mapping[str, Any]]:
        yield from self.reader.read(stream_slice)

    def request(self, stream_slice: Optional[Mapping[str, Any]], token: Token) -> Request:
        """The request of this slice and page, from the CDK's hooks."""
        hooks = {"stream_state": {}, "stream_slice": stream_slice, "next_page_token": token}
        return Request(
            method=self.http_method,
            path=self.path(**hooks),
            params=self.request_params(**hooks),
            json=self.request_body_json(**hooks),
            data=self.request_body_data(**hooks),
            headers=self.request_headers(**hooks),
            request_kwargs=self.request_kwargs(**hooks),
        )

    def read_page(self, response: requests.Response, stream_slice: Optional[Mapping[str, Any]], token: Token) -> PageRead:
        """One answer as the CDK's hooks read it (parse_response, next_page_token). After a break the
        request is asked again as the first: such a stream builds it from its own state."""
        records = self.parse_response(response, stream_state={}, stream_slice=stream_slice, next_page_token=token)
        return PageRead(records, next_token=lambda: self.next_page_token(response), resume_token=lambda: None)

    def stopped(self, error: AirbyteTracedException, position: Optional[str] = None) -> "StreamStopped":
        """The error as the user sees it: which stream, where it stopped (`position`, or where the
        stream stands), and why."""
        if isinstance(error, StreamStopped) and error.stream == self.name:
            return error
        return StreamStopped(self.name, position or self.position(), self.reason_told(error), error.failure_type, error)

    def reason_told(self, error: AirbyteTracedException) -> str:
        """The cause in the user's words. A transient failure other than a rate limit, once its
        retries ran out, tells the sync that Pendo is down; found down already, it gave up early."""
        if error.failure_type != FailureType.transient_error or rate_limited(error):
            return user_reason(error)
        if self.outage.pendo_down:
            return f"{what_failed(error)} {GAVE_UP_EARLY}"
        self.outage.stream_gave_up()
        return user_reason(error)


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
    return what_failed(error)


def what_failed(error: AirbyteTracedException) -> str:
    if isinstance(error.__context__, BaseBackoffException):
        return str(error.__context__)
    return error.message or error.internal_message or "an unknown error"


def rate_limited(error: AirbyteTracedException) -> bool:
    """Whether the retries that ran out were of HTTP 429: Pendo answering, only asking to slow down."""
    backoff = error.__context__
    return isinstance(backoff, BaseBackoffException) and isinstance(backoff.response, requests.Response) and backoff.response.status_code == 429


class StreamClient:
    """An HttpClient whose failures are raised as the stream's final error (which stream, where it stopped)."""

    def __init__(self, stream: PendoStream, client: HttpClient):
        self.stream = stream
        self.client = client

    def send_request(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.client.send_request(*args, **kwargs)
        except AirbyteTracedException as error:
            raise self.stream.stopped(error) from error


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

