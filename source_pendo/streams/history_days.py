"""Which days an incremental sync of visitor_history fetches: only those whose activity changed since
the day was last fetched.

A visitor's history of a day changes when late events reach Pendo (the day's `events` counts grow)
and when pages or features are retagged (the day's `pageEvents` / `featureEvents` rows move from one
object to another while `events` stays the same). So a day's fingerprint combines its digests from
three grouped queries (fingerprints.py, changes.py), each over the whole range at once. The
fingerprints are taken before any history is fetched, and a day's enters the state only once its
history was emitted: a saved fingerprint never stands for newer data than the destination holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from .. import fingerprints
from ..windows import BUCKET_MS, Window, compact_label, label_from_compact, runs_of
from .base import PendoStream
from .changes import bucket_digests

DAY_MS = BUCKET_MS["day"]
# (source, the column naming its object): `events` counts every hit, the other two say which page or
# feature a hit was tagged as.
ACTIVITY_SOURCES = (("events", None), ("pageEvents", "pageId"), ("featureEvents", "featureId"))


def combine(digests: List[str]) -> str:
    """One day's fingerprint from its digests, source by source; EMPTY for a day without activity."""
    if all(digest == fingerprints.EMPTY for digest in digests):
        return fingerprints.EMPTY
    return hashlib.blake2b(",".join(digests).encode(), digest_size=4).hexdigest()


def saved_form(days: Mapping[int, str]) -> Dict[str, str]:
    """{"2026-11-24": fingerprint}, oldest day first."""
    return {compact_label(label, "day"): days[label] for label in sorted(days)}


def from_saved(value: Any) -> Dict[int, str]:
    """The saved fingerprints by day label; entries not in the saved form are dropped (their days are
    fetched again, as days never fetched)."""
    if not isinstance(value, Mapping):
        return {}
    labels = {day: label_from_compact(day, "day") for day in value if isinstance(day, str)}
    return {label: value[day] for day, label in labels.items() if label is not None and isinstance(value[day], str)}


def day_fingerprints(stream: PendoStream, first_label: int, days: int) -> Tuple[Optional[Dict[int, str]], str]:
    """({day label: fingerprint} for the `days` days from `first_label`, ""), or (None, why not)."""
    per_source = []
    for source, object_column in ACTIVITY_SOURCES:
        found = bucket_digests(
            stream, source, {"appId": stream.config.app_id_param}, period="day", object_column=object_column, first_label=first_label, buckets=days
        )
        if found.digests is None:
            return None, f"{source}: {found.refusal}"
        per_source.append(found.digests)
    return {label: combine([digests[label] for digests in per_source]) for label in per_source[0]}, ""


@dataclass
class DayChanges:
    """This sync's verdict on the days of its range."""

    current: Dict[int, str]  # the fingerprint of every day of the range Pendo was asked about
    changed: Set[int]  # the days to fetch: new, or changed since they were fetched

    def parts_to_fetch(self, window: Window) -> List[Window]:
        """The runs of consecutive changed days in the window, each a window of its own."""
        labels = (label for label in range(window.first_label, window.end_label, DAY_MS) if label in self.changed)
        return [Window("day", first, (last - first) // DAY_MS + 1) for first, last in runs_of(labels, "day")]

    def fingerprints_of(self, window: Window) -> Dict[int, str]:
        return {label: self.current[label] for label in range(window.first_label, window.end_label, DAY_MS) if label in self.current}


def find_changes(stream: PendoStream, saved: Mapping[int, str], first_label: int, last_label: int, keep_from: int) -> Tuple[Optional[DayChanges], str]:
    """Which days of [first_label, last_label] to fetch, or (None, why Pendo could not tell).

    Pendo is asked about the days a later sync still compares (from `keep_from` on) and the older
    ones that have a saved fingerprint; the rest are fetched as new."""
    if first_label > last_label:
        return DayChanges({}, set()), ""
    asked_from = max(first_label, min([keep_from, *(label for label in saved if label >= first_label)]))
    current: Dict[int, str] = {}
    if asked_from <= last_label:
        found, refusal = day_fingerprints(stream, asked_from, (last_label - asked_from) // DAY_MS + 1)
        if found is None:
            return None, refusal
        current = found
    range_days = range(first_label, last_label + DAY_MS, DAY_MS)
    # A day without activity has nothing to fetch; its fingerprint is still saved.
    changed = {label for label in range_days if label not in current or (saved.get(label) != current[label] and current[label] != fingerprints.EMPTY)}
    return DayChanges(current, changed), ""
