"""Streams read window by window over Pendo's day or hour buckets, whose state is the last complete
bucket read.

The state is checkpointed after every window. Each incremental sync starts `lookback_window` days
before it, because Pendo keeps adding to past buckets for days (late events, reprocessing after
retagging); what is read again comes again with the same primary key.
"""

from __future__ import annotations

from typing import Any, Mapping, MutableMapping, Optional

from airbyte_cdk.models import SyncMode
from airbyte_cdk.sources.streams import CheckpointMixin
from airbyte_cdk.sources.streams.call_rate import APIBudget

from .. import windows
from ..config import PendoConfig
from ..records import iso_from_ms, ms_from_iso
from ..windows import BUCKET_MS, Window, WindowPlan, last_complete_label, newest_label
from .base import PendoStream

DAY_MS = BUCKET_MS["day"]


class WindowedStream(PendoStream, CheckpointMixin):
    state_checkpoint_interval = None  # a STATE after every window, none inside one
    # How far back the API keeps data, in days (None: as far as start_date).
    retention_days: Optional[int] = None

    def __init__(self, config: PendoConfig, budget: Optional[APIBudget] = None):
        self.period = self.window_period(config)
        self._completed_label: Optional[int] = None
        self._plan: Optional[WindowPlan] = None
        self._state_cache: tuple = (None, {})
        super().__init__(config, budget)

    @staticmethod
    def window_period(config: PendoConfig) -> str:
        return config.period

    @property
    def state(self) -> MutableMapping[str, Any]:
        # The CDK reads the state after every record; it changes once a window.
        label = self._completed_label
        if label is None:
            return {}
        if self._state_cache[0] != label:
            self._state_cache = (label, {self.cursor_field: iso_from_ms(label)})
        return self._state_cache[1]  # a new dict whenever the label moves; never changed in place

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        self._completed_label = self.label_from_state(value or {})

    def label_from_state(self, value: Mapping[str, Any]) -> Optional[int]:
        if not value:
            return None
        # A state written with the other period still says how far the data is complete.
        saved = value.get(self.cursor_field, value.get("day", value.get("hour")))
        try:
            return ms_from_iso(saved)
        except (TypeError, ValueError, AttributeError):
            raise self.unreadable_state(value, self.cursor_field)

    def plan_windows(self, sync_mode: SyncMode) -> WindowPlan:
        """From start_date (full refresh, first sync) or the lookback before the state, to now."""
        if sync_mode == SyncMode.full_refresh:
            self._completed_label = None
        bucket = BUCKET_MS[self.period]
        now = windows.now_ms()
        first = self.config.start_ms - self.config.start_ms % bucket
        if self._completed_label is not None:
            first = max(first, self._completed_label + bucket - self.config.lookback_window_days * DAY_MS)
        if self.retention_days is not None:
            first = max(first, windows.label_of(now - self.retention_days * DAY_MS, self.period))
        self._plan = WindowPlan(self.period, first, newest_label(now, self.period), self.config.page_size)
        return self._plan

    def window_done(self, window: Window, rows: int, what: str) -> None:
        """Moves the state to the window's last complete bucket and sizes the next windows."""
        complete = min(window.last_label, last_complete_label(windows.now_ms(), self.period))
        if self._completed_label is None or complete > self._completed_label:
            self._completed_label = complete
        self._plan.observe(window, rows)
        self.logger.info(
            f"Stream '{self.name}': window {iso_from_ms(window.first_label)[:13]} +{window.buckets} {self.period}(s) read,"
            f" {what}; {self._plan.windows_left(after=window)} windows left."
        )
