"""Streams read window by window over Pendo's day or hour buckets, whose state is the last complete
bucket read, and a digest of each recent bucket (fingerprints.py) where the stream can have one.

The state is checkpointed after every window. Each incremental sync considers the buckets from
`lookback_window` days before it to now, because Pendo keeps adding to past buckets for days (late
events, reprocessing after retagging); what is read again comes again with the same primary key.
A stream with fingerprints asks Pendo once per sync for the digest of every bucket of that range
and reads only the buckets whose digest differs from the one saved, plus those still settling (not
complete yet). Without them (refused, or a stream that has none) it reads the whole range.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, MutableMapping, NamedTuple, Optional

from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources.streams import CheckpointMixin
from airbyte_cdk.sources.streams.call_rate import APIBudget

from .. import windows
from ..config import PendoConfig
from ..records import iso_from_ms, ms_from_iso
from ..windows import BUCKET_MS, Window, WindowPlan, compact_label, label_from_compact, newest_label, runs_of
from .base import PendoStream
from .changes import BucketFingerprints, bucket_digests

DAY_MS = BUCKET_MS["day"]
HOUR_MS = BUCKET_MS["hour"]
FINGERPRINTS = "fingerprints"  # the state's {compact label: digest}


class FingerprintQuery(NamedTuple):
    """The Pendo source whose rows, grouped as `way` says, fingerprint a stream's buckets."""

    source: str
    source_params: Optional[Mapping[str, Any]]
    way: BucketFingerprints


class WindowedStream(PendoStream, CheckpointMixin):
    state_checkpoint_interval = None  # a STATE after every window, none inside one
    # How far back the API keeps data, in days (None: as far as start_date).
    retention_days: Optional[int] = None

    def __init__(self, config: PendoConfig, budget: Optional[APIBudget] = None):
        self.period = self.window_period(config)
        self._completed_label: Optional[int] = None
        self._plan: Optional[WindowPlan] = None
        # {label: digest} as the state holds them: of buckets read (or found unchanged) with that content.
        self._fingerprints: Dict[int, str] = {}
        # {label: digest} Pendo gave this sync; a read bucket's enters the state when its window is done.
        self._fresh: Dict[int, str] = {}
        self._range_last: Optional[int] = None  # the newest label of this sync's range
        self.state_changed()
        super().__init__(config, budget)

    @staticmethod
    def window_period(config: PendoConfig) -> str:
        return config.period

    def fingerprint_query(self) -> Optional[FingerprintQuery]:
        """What fingerprints this stream's buckets; None: the stream reads its whole range."""
        return None

    @property
    def state(self) -> MutableMapping[str, Any]:
        # The CDK reads the state after every record; it changes once a window.
        state = self._state_now
        if state is None:
            state = self._state_now = self.current_state()
        return state

    def current_state(self) -> Dict[str, Any]:
        """A new dict whenever the state changes (`state_changed`), never changed in place."""
        label = self._completed_label
        if label is None:
            return {}
        state: Dict[str, Any] = {self.cursor_field: iso_from_ms(label)}
        if self._fingerprints:
            # The next sync considers nothing older than this.
            keep_from = label + BUCKET_MS[self.period] - self.config.lookback_window_days * DAY_MS
            kept = sorted(item for item in self._fingerprints.items() if item[0] >= keep_from)
            state[FINGERPRINTS] = {compact_label(bucket, self.period): digest for bucket, digest in kept}
        return state

    def state_changed(self) -> None:
        self._state_now: Optional[Dict[str, Any]] = None

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        self._completed_label = self.label_from_state(value or {})
        self._fingerprints = self.fingerprints_from_state(value or {})
        self.state_changed()

    def label_from_state(self, value: Mapping[str, Any]) -> Optional[int]:
        if not value:
            return None
        # A state written with the other period still says how far the data is complete.
        saved = value.get(self.cursor_field, value.get("day", value.get("hour")))
        try:
            return ms_from_iso(saved)
        except (TypeError, ValueError, AttributeError):
            raise self.unreadable_state(value, self.cursor_field)

    def fingerprints_from_state(self, value: Mapping[str, Any]) -> Dict[int, str]:
        """The saved digests; none in a state of an earlier version. Labels of the other period
        (the setting changed) are dropped: their buckets are read again once."""
        saved = value.get(FINGERPRINTS) or {}
        if not isinstance(saved, Mapping):
            raise self.unreadable_state(value, self.cursor_field)
        found = {}
        for text, digest in saved.items():
            label = label_from_compact(text, self.period)
            if label is not None and isinstance(digest, str):
                found[label] = digest
        return found

    def last_complete_label(self, now_ms: int) -> int:
        """The newest bucket final for the cursor: ended everywhere, and `settling_hours` past."""
        return windows.last_complete_label(now_ms, self.period, self.config.settling_hours * HOUR_MS)

    def plan_windows(self, sync_mode: SyncMode) -> WindowPlan:
        """From start_date (full refresh, first sync) or the lookback before the state, to now; of
        those buckets, with fingerprints, the ones that changed and the ones still settling."""
        if sync_mode == SyncMode.full_refresh:
            self._completed_label = None
            self._fingerprints = {}
        bucket = BUCKET_MS[self.period]
        now = windows.now_ms()
        first = self.config.start_ms - self.config.start_ms % bucket
        if self._completed_label is not None:
            first = max(first, self._completed_label + bucket - self.config.lookback_window_days * DAY_MS)
        if self.retention_days is not None:
            first = max(first, windows.label_of(now - self.retention_days * DAY_MS, self.period))
        self._range_last = newest_label(now, self.period)
        labels = list(range(first, self._range_last + bucket, bucket))
        self._fingerprints = {label: digest for label, digest in self._fingerprints.items() if label >= first}
        self._fresh = {}
        query = self.fingerprint_query() if sync_mode == SyncMode.incremental and labels else None
        to_read = labels if query is None else self.labels_to_read(query, labels, now)
        if query is None or not self._fresh:
            self._fingerprints = {}
        self.state_changed()
        self._plan = WindowPlan(self.period, runs_of(to_read, self.period), self.config.page_size)
        return self._plan

    def labels_to_read(self, query: FingerprintQuery, labels: List[int], now: int) -> List[int]:
        """The labels whose digest is new or differs from the saved one, and every label still
        settling. A first sync asks only for the digests the next one compares with."""
        bucket = BUCKET_MS[self.period]
        settled = self.last_complete_label(now)
        first = labels[0]
        if self._completed_label is None:
            first = max(first, min(settled + bucket - self.config.lookback_window_days * DAY_MS, labels[-1]))
        found = bucket_digests(
            self, query.source, query.source_params, period=self.period, way=query.way,
            first_label=first, buckets=(labels[-1] - first) // bucket + 1,
        )
        if found.digests is None:
            days = -(-len(labels) * bucket // DAY_MS)
            buckets = "" if self.period == "day" else f" ({len(labels)} {self.period}s)"
            self.logger.warning(
                f"Stream '{self.name}': could not tell which {self.period}s changed since the last sync: {found.refusal}."
                f" Re-reading the whole lookback of {days} days{buckets} in this sync."
            )
            return labels
        self._fresh = found.digests
        saved = self._fingerprints
        complete = [label for label in labels if label <= settled]
        changed = [label for label in complete if label not in saved or saved[label] != found.digests.get(label)]
        settling = len(labels) - len(complete)
        if saved:
            what = f"{len(changed)} of {len(complete)} {self.period}s changed since the last sync (fingerprints)"
        else:
            what = f"no fingerprints from a last sync, so all {len(complete)} complete {self.period}s are read"
        self.logger.info(f"Stream '{self.name}': {what}; reading those and {settling} newer.")
        return changed + labels[len(complete):]

    def window_done(self, window: Window, rows: int, what: str) -> None:
        """Moves the state past the window, and past the unchanged buckets after it, up to the last
        complete bucket; saves the window's digests; sizes the next windows."""
        bucket = BUCKET_MS[self.period]
        next_read = self._plan.next_read_after(window)
        done_through = self._range_last if next_read is None else next_read - bucket
        complete = min(done_through, self.last_complete_label(windows.now_ms()))
        if self._completed_label is None or complete > self._completed_label:
            self._completed_label = complete
        if self._fresh:
            for label in range(window.first_label, window.end_label, bucket):
                if label in self._fresh:
                    self._fingerprints[label] = self._fresh[label]
                else:
                    self._fingerprints.pop(label, None)
        self.state_changed()
        self._plan.observe(window, rows)
        self.logger.info(
            f"Stream '{self.name}': window {iso_from_ms(window.first_label)[:13]} +{window.buckets} {self.period}(s) read,"
            f" {what}; {self._plan.windows_left(after=window)} windows left."
        )
