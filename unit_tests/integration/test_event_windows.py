"""An event stream (page_events) read through the source with time frozen: its day windows, sized
from the rows each held, and the fingerprint query that lets an incremental sync skip the complete
days that did not change."""

from __future__ import annotations

from unittest import TestCase

import freezegun
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.mock_http import HttpMocker

from .config import ConfigBuilder
from .helpers import ms, read_stream, record_data, stream_states
from .request_builder import ALL_APPS, PendoRequests
from .response_builder import a_page_event, aggregation_response, fingerprint_row

# Noon UTC: the newest day worth asking for is today (its noon has passed); with the default 8
# settling hours, the newest complete day is 2026-11-02 (ended everywhere 14 h after its UTC end).
NOW = "2026-11-04T12:00:00"
FINGERPRINT_FIELDS = [{"rows": {"count": None}}, {"numEvents": {"sum": "numEvents"}}, {"numMinutes": {"sum": "numMinutes"}}]
DAYS = ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]


def window_request(first_day: str, days: int):
    return PendoRequests.aggregation("page_events").source("pageEvents", ALL_APPS).days(ms(first_day), days).sort("visitorId").limit(50000)


def fingerprint_request(first_day: str, days: int):
    return (
        PendoRequests.aggregation("page_events:fingerprints")
        .source("pageEvents", ALL_APPS)
        .days(ms(first_day), days)
        .grouped_by("day", "pageId", fields=FINGERPRINT_FIELDS)
    )


def one_visitor_on(day: str, visitor: str):
    return aggregation_response().with_row(a_page_event(ms(day), visitor)).build()


def config() -> dict:
    # One request at a time: no window is sent ahead, so each window is sized after the one before it was read.
    return ConfigBuilder().with_start_date(DAYS[0]).with_max_concurrent_requests(1).build()


@freezegun.freeze_time(NOW)
class PageEventsTest(TestCase):
    @HttpMocker()
    def test_a_full_refresh_reads_windows_that_double_while_they_hold_few_rows(self, http_mocker: HttpMocker) -> None:
        http_mocker.post(window_request("2026-10-30", 1).build(), one_visitor_on("2026-10-30", "v1"))
        http_mocker.post(window_request("2026-10-31", 2).build(), one_visitor_on("2026-11-01", "v2"))
        # Four days would be next; three are left up to today.
        http_mocker.post(window_request("2026-11-02", 3).build(), one_visitor_on("2026-11-04", "v3"))

        output = read_stream("page_events", SyncMode.full_refresh, config())

        assert not output.errors
        assert [(record["day"][:10], record["visitor_id"]) for record in record_data(output)] == [
            ("2026-10-30", "v1"), ("2026-11-01", "v2"), ("2026-11-04", "v3")]

    @HttpMocker()
    def test_an_incremental_sync_reads_only_the_complete_days_whose_fingerprint_changed_and_the_days_still_settling(self, http_mocker: HttpMocker) -> None:
        # Both syncs ask for the digests of every day of the range; between them, 2026-10-31 changed.
        before = [fingerprint_row(ms(day), "p1", rows=1, num_events=1) for day in ("2026-10-30", "2026-10-31", "2026-11-01")]
        after = [before[0], fingerprint_row(ms("2026-10-31"), "p1", rows=1, num_events=4), before[2]]
        http_mocker.post(
            fingerprint_request("2026-10-30", 6).build(),
            [aggregation_response().with_rows(before).build(), aggregation_response().with_rows(after).build()],
        )
        # The first sync: every day, in windows sized as in a full refresh.
        http_mocker.post(window_request("2026-10-30", 1).build(), one_visitor_on("2026-10-30", "v1"))
        http_mocker.post(window_request("2026-10-31", 2).build(), one_visitor_on("2026-10-31", "v2"))
        http_mocker.post(window_request("2026-11-02", 3).build(), aggregation_response().build())
        # The second: the day that changed, then the two days not complete yet.
        http_mocker.post(window_request("2026-10-31", 1).build(), one_visitor_on("2026-10-31", "v2"))
        http_mocker.post(window_request("2026-11-03", 2).build(), one_visitor_on("2026-11-03", "v4"))

        first = read_stream("page_events", SyncMode.incremental, config())
        first_state = first.most_recent_state.stream_state.__dict__
        second = read_stream("page_events", SyncMode.incremental, config(), state=first_state)

        assert not first.errors and not second.errors
        assert [record["visitor_id"] for record in record_data(first)] == ["v1", "v2"]
        assert [record["visitor_id"] for record in record_data(second)] == ["v2", "v4"]
        # The cursor is the last complete day; a digest is kept for every day of the lookback read.
        assert first_state["day"] == "2026-11-02T00:00:00.000Z"
        assert sorted(first_state["fingerprints"]) == DAYS
        assert first_state["fingerprints"]["2026-11-04"] == "0"  # no rows that day (yet)
        last = stream_states(second)[-1]
        assert last["day"] == "2026-11-02T00:00:00.000Z"
        changed = {day for day in DAYS if last["fingerprints"][day] != first_state["fingerprints"][day]}
        assert changed == {"2026-10-31"}

    @HttpMocker()
    def test_with_requests_sent_ahead_records_and_states_still_come_window_by_window(self, http_mocker: HttpMocker) -> None:
        http_mocker.post(fingerprint_request("2026-10-30", 6).build(), aggregation_response().build())
        # With 4 requests at once, three windows are asked for before the first is read (one bucket
        # each: nothing is known of their size yet), the fourth as the first answer is taken; the
        # fifth is sized after the first window held one row.
        for day in DAYS[:4]:
            http_mocker.post(window_request(day, 1).build(), one_visitor_on(day, f"v-{day}"))
        http_mocker.post(window_request("2026-11-03", 2).build(), one_visitor_on("2026-11-04", "v-2026-11-04"))

        output = read_stream("page_events", SyncMode.incremental, ConfigBuilder().with_start_date(DAYS[0]).build())

        assert not output.errors
        assert [record["visitor_id"] for record in record_data(output)] == [f"v-{day}" for day in DAYS if day != "2026-11-03"]
        # A STATE after each window, never past a window not yet emitted, nor past the last complete day.
        days_in_states = [state["day"][:10] for state in stream_states(output)]
        assert days_in_states == ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02", "2026-11-02"]
