"""visitor_history read through the source: per window of days, one `events` query says who was
active on which day, then one history GET per active visitor-day, the id as one path segment."""

from __future__ import annotations

from unittest import TestCase

import freezegun
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.mock_http import HttpMocker

from .config import ConfigBuilder
from .helpers import ms, read_stream, record_data
from .request_builder import ALL_APPS, PendoRequests
from .response_builder import a_history_entry, aggregation_response, an_event, history

NOW = "2026-11-04T12:00:00"


def active_visitors_request(first_day: str, days: int):
    return PendoRequests.aggregation("visitor_history").source("events", ALL_APPS).days(ms(first_day), days).sort("visitorId").limit(50000)


@freezegun.freeze_time(NOW)
class VisitorHistoryTest(TestCase):
    @HttpMocker()
    def test_a_full_refresh_fetches_the_history_of_each_active_visitor_day(self, http_mocker: HttpMocker) -> None:
        nov_3, nov_4 = ms("2026-11-03"), ms("2026-11-04")
        http_mocker.post(
            active_visitors_request("2026-11-03", 1).build(),
            # Two rows of one visitor-day (two apps, say) make one history request.
            aggregation_response().with_row(an_event(nov_3, "ann@x.test")).with_row(an_event(nov_3, "ann@x.test")).with_row(an_event(nov_3, "bob")).build(),
        )
        http_mocker.post(active_visitors_request("2026-11-04", 1).build(), aggregation_response().with_row(an_event(nov_4, "bob")).build())
        http_mocker.get(PendoRequests.visitor_history("ann%40x.test", nov_3).build(), history([a_history_entry(nov_3 + 1_000), a_history_entry(nov_3 + 2_000)]))
        http_mocker.get(PendoRequests.visitor_history("bob", nov_3).build(), history([a_history_entry(nov_3 + 3_000)]))
        http_mocker.get(PendoRequests.visitor_history("bob", nov_4).build(), history([a_history_entry(nov_4 + 4_000, kind="featureClick")]))

        output = read_stream("visitor_history", SyncMode.full_refresh, ConfigBuilder().with_start_date("2026-11-03").build())

        assert not output.errors
        assert [(record["visitor_id"], record["ts"], record["type"]) for record in record_data(output)] == [
            ("ann@x.test", "2026-11-03T00:00:01.000Z", "pageView"),
            ("ann@x.test", "2026-11-03T00:00:02.000Z", "pageView"),
            ("bob", "2026-11-03T00:00:03.000Z", "pageView"),
            ("bob", "2026-11-04T00:00:04.000Z", "featureClick"),
        ]
        assert len({record["row_key"] for record in record_data(output)}) == 4
