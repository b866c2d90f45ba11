"""The one place source-pendo talks to Pendo: requests sent by the CDK's public HttpClient (the
stream's error handler, backoff, budget and auth), pages read in an explicit loop, and an answer that
breaks off asked for again from where the records emitted so far end, with one backoff between such
retries.

What is read is a `Query`: the request for a slice and a page token, and `read_page(response,
stream_slice, token)`, which turns one answer into its records and says which token asks for the
next page, or which asks again after the answer broke off. The token is a value handed along the
loop; a keyset query puts its position in it. A stream is the query of its own HttpStream hooks
unless it declares another; a stream can read other queries too (visitor_history reads which
visitors were active from Pendo's events).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Protocol, TypeVar
from urllib.parse import urljoin

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http import HttpClient
from airbyte_cdk.sources.streams.http.page_size_reduction_exception import PageSizeReductionRequiredException
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .http import PendoBackoffStrategy
from .jsonstream import BrokenResponse
from .outage import OUTAGE_RETRIES, Outage

# Retries of a broken response in a row, with no record emitted in between, before the stream gives up
# (OUTAGE_RETRIES once the sync has found Pendo down).
MAX_RETRIES_WITHOUT_PROGRESS = 6
# The smallest page a timing-out query shrinks to.
MIN_PAGE_SIZE = 100

Token = Optional[Mapping[str, Any]]
Fetched = TypeVar("Fetched")


@dataclass
class PageRead:
    """One answer being read: `records` to emit; `next_token()` once they are all out (None: the
    last page); `resume_token()` after the answer broke off, to ask for the rest."""

    records: Iterable[Mapping[str, Any]]
    next_token: Callable[[], Token]
    resume_token: Callable[[], Token]


@dataclass(frozen=True)
class Request:
    """What `HttpClient.send_request` sends, but the host: `path` is relative to the stream's `url_base`."""

    method: str
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Optional[Mapping[str, Any]] = None
    data: Any = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    request_kwargs: Mapping[str, Any] = field(default_factory=dict)


class Query(Protocol):
    """What the reader reads, page after page."""

    page_size: int
    shrinks_pages_on_timeout: bool  # a read timeout asks for a smaller page instead of the same again

    def request(self, stream_slice: Optional[Mapping[str, Any]], token: Token) -> Request: ...

    def read_page(self, response: requests.Response, stream_slice: Optional[Mapping[str, Any]], token: Token) -> PageRead: ...

    def position(self, stream_slice: Optional[Mapping[str, Any]] = None, token: Token = None) -> str:
        """Where a read of the slice stands at `token`, for messages."""


class Reading(Protocol):
    """The stream a read is for: it names the read in messages, sends through its client and tells its errors."""

    name: str
    url_base: str
    logger: logging.Logger
    outage: Outage  # whether the sync has found Pendo down

    def http_client(self, hand_back_status: Optional[int] = None, shrink_pages_on_timeout: Optional[bool] = None) -> HttpClient: ...

    def stopped(self, error: AirbyteTracedException, position: Optional[str] = None) -> AirbyteTracedException: ...


class Reader:
    """Sends a query's requests for a stream and reads its pages. `hand_back_status`: answers of that
    status are returned to the caller instead of failing."""

    def __init__(self, stream: Reading, query: Query, hand_back_status: Optional[int] = None):
        self.stream = stream
        self.query = query
        self.client = stream.http_client(hand_back_status, shrink_pages_on_timeout=query.shrinks_pages_on_timeout)
        self._backoff = PendoBackoffStrategy(outage=stream.outage)

    def send(self, stream_slice: Optional[Mapping[str, Any]], token: Token) -> requests.Response:
        """The query's request for this slice and page, sent with retries of what the error handler
        calls transient."""
        request = self.query.request(stream_slice, token)
        _, response = self.client.send_request(
            http_method=request.method,
            url=urljoin(self.stream.url_base, request.path),
            request_kwargs=request.request_kwargs,
            headers=request.headers,
            params=request.params,
            json=request.json,
            data=request.data,
            dedupe_query_params=True,
        )
        return response

    def send_ahead(self, stream_slice: Mapping[str, Any]) -> Any:
        """The slice's first answer, or the error that stopped it, to be handed to `read`: sent in a
        worker thread, raised (if an error) where the slice is read, in order."""
        try:
            return self.send(stream_slice, None)
        except Exception as error:  # noqa: BLE001 - handed to the reading thread as is
            return error

    def read(self, stream_slice: Optional[Mapping[str, Any]], first_answer: Any = None) -> Iterator[Mapping[str, Any]]:
        """Every page of the slice, each asked for with the token the one before handed on; when an
        answer breaks off, asked again (with a wait) from where the emitted records end. `first_answer`:
        the first page's answer already sent (by `send_ahead`). Returns how many records it yielded."""
        query = self.query
        token: Token = None
        failures = 0
        total = 0
        emitted = 0  # since the last answer that broke off
        while True:
            page: Optional[PageRead] = None
            try:
                answer, first_answer = first_answer, None
                if isinstance(answer, Exception):
                    raise answer
                # Not `answer or …`: a Response is falsy when its status is an error.
                response = self.send(stream_slice, token) if answer is None else answer
                page = query.read_page(response, stream_slice, token)
                for record in page.records:
                    emitted += 1
                    total += 1
                    yield record
                self.stream.outage.answered()
                token = page.next_token()
                if not token:
                    return total
            except (BrokenResponse, PageSizeReductionRequiredException) as error:
                failures = 1 if emitted else failures + 1
                reached = page.resume_token() if page is not None else token
                if failures > self.retries():
                    kept_failing = f"Pendo's answers kept failing ({reason(error)})."
                    if not self.stream.outage.pendo_down:
                        kept_failing += " Try again later; if it persists, lower 'Page size' or raise 'Request timeout'."
                    stop = AirbyteTracedException(message=kept_failing, failure_type=FailureType.transient_error, exception=error)
                    raise self.stream.stopped(stop, query.position(stream_slice, reached)) from error
                timed_out = isinstance(error, PageSizeReductionRequiredException) or error.timed_out
                if timed_out and not emitted:
                    self.shrink_page()
                token = reached
                emitted = 0
                self.wait(failures, f"{reason(error)}; reading on {query.position(stream_slice, token)}")
            except AirbyteTracedException as error:
                reached = page.resume_token() if page is not None else token
                raise self.stream.stopped(error, query.position(stream_slice, reached)) from error

    def shrink_page(self) -> None:
        """Ask for half as many rows per request from now on (queries that page)."""
        query = self.query
        if not query.shrinks_pages_on_timeout:
            return
        smaller = max(query.page_size // 2, MIN_PAGE_SIZE)
        if smaller < query.page_size:
            self.stream.logger.warning(f"Stream '{self.stream.name}': asking for {smaller} rows per request instead of {query.page_size}.")
            query.page_size = smaller

    def fetch_readable(self, fetch: Callable[[], Fetched], unreadable: str) -> Fetched:
        """`fetch()` again, after a wait, while its answer is unreadable (it raises BrokenResponse);
        `unreadable` is the message once it kept failing."""
        attempt = 1
        while True:
            try:
                fetched = fetch()
            except BrokenResponse as error:
                if attempt > self.retries():
                    raise AirbyteTracedException(message=unreadable, failure_type=FailureType.transient_error) from error
                self.wait(attempt, f"{error}; asking again")
                attempt += 1
                continue
            self.stream.outage.answered()
            return fetched

    def retries(self) -> int:
        """Retries of an unreadable answer in a row: few while the sync has found Pendo down."""
        return OUTAGE_RETRIES if self.stream.outage.pendo_down else MAX_RETRIES_WITHOUT_PROGRESS

    def wait(self, failures: int, what: str) -> None:
        """The wait before asking again after the `failures`-th unreadable answer in a row."""
        seconds = self._backoff.wait_seconds(None, failures)
        self.stream.logger.warning(f"Stream '{self.stream.name}': {what} in {seconds:.1f} s.")
        time.sleep(seconds)


def reason(error: Exception) -> str:
    if isinstance(error, PageSizeReductionRequiredException):
        return "a request timed out"
    return str(error)
