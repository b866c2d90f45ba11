"""The one place source-pendo talks to Pendo: requests built from a stream's public hooks and sent
by the CDK's public HttpClient (the stream's error handler, backoff, budget and auth), pages read
in an explicit loop, and an answer that breaks off asked for again from where the records emitted
so far end, with one backoff between such retries.

A stream pages by tokens: `read_page(response, stream_slice, token)` turns one answer into its
records and says which token asks for the next page, or which asks again after the answer broke
off. The token is a value handed along the loop; a keyset stream puts its position in it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Optional, TypeVar
from urllib.parse import urljoin

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.page_size_reduction_exception import PageSizeReductionRequiredException
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from .http import PendoBackoffStrategy
from .jsonstream import BrokenResponse
from .outage import OUTAGE_RETRIES

if TYPE_CHECKING:
    from .streams.base import PendoStream

# Retries of a broken response in a row, with no record emitted in between, before the stream gives up
# (OUTAGE_RETRIES once the sync has found Pendo down).
MAX_RETRIES_WITHOUT_PROGRESS = 6

Token = Optional[Mapping[str, Any]]
Fetched = TypeVar("Fetched")


@dataclass
class PageRead:
    """One answer being read: `records` to emit; `next_token()` once they are all out (None: the
    last page); `resume_token()` after the answer broke off, to ask for the rest."""

    records: Iterable[Mapping[str, Any]]
    next_token: Callable[[], Token]
    resume_token: Callable[[], Token]


class Reader:
    """Sends a stream's requests and reads its pages."""

    def __init__(self, stream: "PendoStream"):
        self.stream = stream
        self.client = stream.http_client()
        self._backoff = PendoBackoffStrategy(outage=stream.outage)

    def send(self, stream_slice: Optional[Mapping[str, Any]], token: Token) -> requests.Response:
        """The stream's request for this slice and page, sent with retries of what the error handler
        calls transient."""
        stream, hooks = self.stream, {"stream_state": {}, "stream_slice": stream_slice, "next_page_token": token}
        _, response = self.client.send_request(
            http_method=stream.http_method,
            url=urljoin(stream.url_base, stream.path(**hooks)),
            request_kwargs=stream.request_kwargs(**hooks),
            headers=stream.request_headers(**hooks),
            params=stream.request_params(**hooks),
            json=stream.request_body_json(**hooks),
            data=stream.request_body_data(**hooks),
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
        the first page's answer already sent (by `send_ahead`)."""
        stream = self.stream
        token: Token = None
        failures = 0
        emitted = 0  # since the last answer that broke off
        while True:
            page: Optional[PageRead] = None
            try:
                answer, first_answer = first_answer, None
                if isinstance(answer, Exception):
                    raise answer
                # Not `answer or …`: a Response is falsy when its status is an error.
                response = self.send(stream_slice, token) if answer is None else answer
                page = stream.read_page(response, stream_slice, token)
                for record in page.records:
                    emitted += 1
                    yield record
                stream.outage.answered()
                token = page.next_token()
                if not token:
                    return
            except (BrokenResponse, PageSizeReductionRequiredException) as error:
                failures = 1 if emitted else failures + 1
                if failures > self.retries():
                    kept_failing = f"Pendo's answers kept failing ({reason(error)})."
                    if not stream.outage.pendo_down:
                        kept_failing += " Try again later; if it persists, lower 'Page size' or raise 'Request timeout'."
                    raise stream.stopped(AirbyteTracedException(message=kept_failing, failure_type=FailureType.transient_error, exception=error)) from error
                timed_out = isinstance(error, PageSizeReductionRequiredException) or error.timed_out
                if timed_out and not emitted:
                    stream.shrink_page()
                token = page.resume_token() if page is not None else token
                emitted = 0
                self.wait(failures, f"{reason(error)}; reading on {stream.position()}")
            except AirbyteTracedException as error:
                raise stream.stopped(error) from error

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
