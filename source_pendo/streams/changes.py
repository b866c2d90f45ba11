"""Asks Pendo for the digest of every bucket of a range (fingerprints.py) in one grouped query.

The `group` stage with `count`/`sum` fields is what public Pendo clients send (contract row G1), but
no Pendo document specifies it: a refusal (HTTP 400) or an answer that is not grouped rows is not an
error of the sync. The caller then reads the whole range as it would without change detection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from .. import aggregation, fingerprints, windows
from ..http import pendo_reason, request_timeout
from ..jsonstream import RESULT_ROWS, BrokenResponse, iter_rows

if TYPE_CHECKING:
    from .base import PendoStream


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
    object_column: Optional[str],
    first_label: int,
    buckets: int,
) -> BucketDigests:
    body = aggregation.grouped(
        source,
        source_params,
        group_paths=[period] if object_column is None else [period, object_column],
        fields=fingerprints.group_fields(),
        request_id=f"{stream.name}:fingerprints",
        window=aggregation.time_series(period, windows.anchor(first_label, period), buckets),
    )
    client = stream.client(hand_back_status=400)
    timeout = request_timeout(stream.config.request_timeout)
    _, response = client.send_request("POST", f"{stream.url_base}aggregation", request_kwargs={"timeout": timeout, "stream": True}, json=body)
    try:
        if response.status_code == 400:
            return BucketDigests(None, f"Pendo refused the query (HTTP 400: {pendo_reason(response)})")
        found = fingerprints.digests(iter_rows(response, RESULT_ROWS), period, object_column, lambda start: windows.label_of_bucket(start, period))
    except (fingerprints.UnreadableFingerprints, BrokenResponse) as error:
        return BucketDigests(None, f"Pendo's answer was not grouped rows ({error})")
    finally:
        response.close()
    step = windows.BUCKET_MS[period]
    labels = range(first_label, first_label + buckets * step, step)
    return BucketDigests({label: found.get(label, fingerprints.EMPTY) for label in labels})
