"""Asks Pendo for the digest of every bucket of a range (fingerprints.py) in one grouped query.

The `group` stage with `count`/`sum` fields is what public Pendo clients send (contract row G1), but
no Pendo document specifies it: a refusal (HTTP 400) or an answer that is not grouped rows is not an
error of the sync. The caller then reads the whole range as it would without change detection.

A stream's rows are fingerprinted one of two ways: pre-aggregated rows by their bucket column
(`BucketColumn`), raw guide and poll rows by their times (`EventTimes`, contract row G3), placed in
their buckets by where Pendo's buckets start, learnt from a pre-aggregated source (contract row G4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple

from .. import aggregation, fingerprints, windows
from ..http import pendo_reason
from ..jsonstream import RESULT_ROWS, BrokenResponse, iter_rows

if TYPE_CHECKING:
    from .base import PendoStream


class BucketFingerprints(Protocol):
    """How a source's rows are grouped into the digest of each bucket."""

    # The pre-aggregated source whose bucket column tells where Pendo's buckets start, if the digests need it.
    starts_source: Optional[str]

    def group_paths(self, period: str) -> List[str]: ...

    def fields(self) -> List[Dict[str, Any]]: ...

    def margin(self, period: str) -> int:
        """Buckets before the range the query also covers, whose rows count towards the range's first labels."""
        ...

    def digests(self, rows: Iterable[Mapping[str, Any]], period: str, starts: Sequence[int]) -> Dict[int, str]: ...


@dataclass(frozen=True)
class BucketColumn:
    """Pre-aggregated rows, grouped by their `day` / `hour` (and by the object they count)."""

    object_column: Optional[str] = None
    starts_source: ClassVar[Optional[str]] = None

    def group_paths(self, period: str) -> List[str]:
        return [period] if self.object_column is None else [period, self.object_column]

    def fields(self) -> List[Dict[str, Any]]:
        return fingerprints.group_fields()

    def margin(self, period: str) -> int:
        return 0

    def digests(self, rows: Iterable[Mapping[str, Any]], period: str, starts: Sequence[int]) -> Dict[int, str]:
        return fingerprints.digests(rows, period, self.object_column, lambda start: windows.label_of_bucket(start, period))


@dataclass(frozen=True)
class EventTimes:
    """Raw events, grouped per app in each bucket's own pipeline, told apart by their times: a row
    counts towards the one bucket the known starts place it in, else towards every bucket it may be in."""

    time_column: str
    starts_source: Optional[str] = "events"

    def group_paths(self, period: str) -> List[str]:
        return list(fingerprints.TIME_GROUP_PATHS)

    def fields(self) -> List[Dict[str, Any]]:
        return fingerprints.time_group_fields(self.time_column)

    def margin(self, period: str) -> int:
        return windows.labels_touched_ahead(period)

    def digests(self, rows: Iterable[Mapping[str, Any]], period: str, starts: Sequence[int]) -> Dict[int, str]:
        def labels_of(first: int, last: int) -> Iterable[int]:
            label = windows.label_between_starts(first, last, period, starts)
            return windows.labels_touching(first, last, period) if label is None else (label,)

        return fingerprints.time_digests(rows, labels_of, windows.LONGEST_BUCKET_MS[period])


@dataclass(frozen=True)
class BucketDigests:
    """`digests`: {label: digest} for every bucket of the range (EMPTY where Pendo has no rows), or
    None with `refusal` saying why Pendo's answer could not be used."""

    digests: Optional[Dict[int, str]]
    refusal: str = ""


def bucket_digests(
    stream: "PendoStream",
    source: str,
    source_params: Optional[Mapping[str, Any]],
    *,
    period: str,
    first_label: int,
    buckets: int,
    object_column: Optional[str] = None,
    way: Optional[BucketFingerprints] = None,
) -> BucketDigests:
    """The digests of the `buckets` buckets from `first_label`; `way` says how the source's rows are
    fingerprinted (by default by their bucket column, grouped per `object_column`)."""
    way = way or BucketColumn(object_column)
    step = windows.BUCKET_MS[period]
    margin = way.margin(period)
    window = aggregation.time_series(period, windows.anchor(first_label - margin * step, period), margin + buckets)
    starts: Sequence[int] = ()
    if way.starts_source is not None:
        starts, refusal = bucket_starts(stream, way.starts_source, source_params, period=period, window=window)
        if refusal:
            stream.logger.info(
                f"Stream '{stream.name}': could not learn where Pendo's {period}s start ({refusal}),"
                f" so a late event makes every {period} it may belong to in some time zone read again."
            )
    body = aggregation.grouped(
        source, source_params, group_paths=way.group_paths(period), fields=way.fields(), request_id=f"{stream.name}:fingerprints", window=window
    )
    response = _send(stream, body)
    try:
        if response.status_code == 400:
            return BucketDigests(None, f"Pendo refused the query (HTTP 400: {pendo_reason(response)})")
        found = way.digests(iter_rows(response, RESULT_ROWS), period, starts)
    except fingerprints.BucketsNotApart as error:
        return BucketDigests(None, f"Pendo's answer does not keep {period}s apart ({error})")
    except (fingerprints.UnreadableFingerprints, BrokenResponse) as error:
        return BucketDigests(None, f"Pendo's answer was not grouped rows ({error})")
    finally:
        response.close()
    labels = range(first_label, first_label + buckets * step, step)
    return BucketDigests({label: found.get(label, fingerprints.EMPTY) for label in labels})


def bucket_starts(stream: "PendoStream", source: str, source_params: Optional[Mapping[str, Any]], *, period: str, window: Mapping[str, Any]) -> Tuple[List[int], str]:
    """The sorted starts of the buckets of `window` in which `source` has rows: their `day` / `hour`
    (contract row G4). No starts, and why, where Pendo refuses the query or answers something else."""
    body = aggregation.grouped(source, source_params, group_paths=[period], fields=[{"rows": {"count": None}}], request_id=f"{stream.name}:bucket-starts", window=window)
    response = _send(stream, body)
    try:
        if response.status_code == 400:
            return [], f"Pendo refused the query (HTTP 400: {pendo_reason(response)})"
        values = [row.get(period) if isinstance(row, Mapping) else None for row in iter_rows(response, RESULT_ROWS)]
    except BrokenResponse as error:
        return [], f"Pendo's answer was not grouped rows ({error})"
    finally:
        response.close()
    if not all(isinstance(start, int) and not isinstance(start, bool) for start in values):
        return [], f"Pendo's answer was not rows with a '{period}' time"
    found = sorted(set(values))
    if any(later - earlier < windows.SHORTEST_BUCKET_MS[period] for earlier, later in zip(found, found[1:])):
        return [], f"two '{period}' values closer together than one {period} lasts"
    if period == "hour" and len({start % windows.BUCKET_MS[period] for start in found}) > 1:
        return [], "hours that start at different minutes past the hour"
    return found, ""


def _send(stream: "PendoStream", body: Mapping[str, Any]):
    """The streamed answer to a grouped query; a 400 is handed back for the caller to read."""
    client = stream.client(hand_back_status=400)
    _, response = client.send_request("POST", f"{stream.url_base}aggregation", request_kwargs=stream.streamed_request_kwargs(), json=body)
    return response
