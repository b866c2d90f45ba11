"""Whether this sync has found Pendo down, so that an outage of the whole of Pendo costs the full
retries once per sync rather than once per selected stream."""

from __future__ import annotations

import threading

# While Pendo is taken to be down, a request is retried this often, waiting at most this long each
# time (the CDK adds a second to each wait): a few seconds per stream, enough for a blip to pass.
OUTAGE_RETRIES = 2
OUTAGE_BACKOFF_CAP_SECONDS = 2.0
# ... and the CDK stops retrying a request once this much time has passed since it was first sent:
# a Pendo that accepts connections but never answers is not waited on for 15 minutes per stream.
OUTAGE_MAX_RETRY_SECONDS = 60
# ... and a request waits at most this long for Pendo's answer (less if 'Request timeout' is less):
# a Pendo that accepts connections but never answers costs each later stream a minute or three, not
# three times 'Request timeout'.
OUTAGE_READ_TIMEOUT_SECONDS = 60
# Said by each stream that gave up early: what failed comes before it.
GAVE_UP_EARLY = (
    f"Pendo was still unavailable, so this stream gave up after {OUTAGE_RETRIES} quick retries: another stream of this"
    " sync had already waited out the full retries. Try again later."
)


class Outage:
    """Shared by every stream of a sync. Once a stream has failed after waiting out every retry of
    a transient failure, Pendo is taken to be down: each later request still tries (Pendo may be
    back), with a few quick retries, until an answer is read whole, which restores the full ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down = False

    @property
    def pendo_down(self) -> bool:
        with self._lock:
            return self._down

    def read_timeout(self, configured: int) -> int:
        """How long a request sent now waits for Pendo's answer, `configured` being 'Request timeout'."""
        return min(configured, OUTAGE_READ_TIMEOUT_SECONDS) if self.pendo_down else configured

    def stream_gave_up(self) -> None:
        """A stream failed after its request's retries on transient failures ran out."""
        with self._lock:
            self._down = True

    def answered(self) -> None:
        """Pendo answered a request and its answer was read whole."""
        with self._lock:
            self._down = False
