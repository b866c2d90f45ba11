"""An entity stream (pages) read through the source: keyset pages by id on a first sync, changes by
last-updated time after it, and the state that carries one sync to the next."""

from __future__ import annotations

from unittest import TestCase

import freezegun
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.mock_http import HttpMocker

from .config import ConfigBuilder
from .helpers import ms, read_stream, record_data, stream_states
from .request_builder import ALL_APPS, PendoRequests
from .response_builder import a_page, aggregation_response

NOW = "2026-11-04T12:00:00"


def pages_request():
    return PendoRequests.aggregation("pages").source("pages", ALL_APPS)


@freezegun.freeze_time(NOW)
class PagesTest(TestCase):
    @HttpMocker()
    def test_a_first_sync_pages_by_id_and_checkpoints_after_each_full_page(self, http_mocker: HttpMocker) -> None:
        http_mocker.post(
            pages_request().sort("id").limit(2).build(),
            aggregation_response().with_row(a_page("a", ms("2026-10-01"))).with_row(a_page("b", ms("2026-10-03"))).build(),
        )
        http_mocker.post(
            pages_request().after("id", "b").sort("id").limit(2).build(),
            aggregation_response().with_row(a_page("c", ms("2026-10-02"))).build(),
        )

        output = read_stream("pages", SyncMode.incremental, ConfigBuilder().with_page_size(2).build())

        assert [record["id"] for record in record_data(output)] == ["a", "b", "c"]
        assert stream_states(output) == [
            # A page later: resume after "b"; changes afterwards are read from the newest seen so far.
            {"last_updated_at": "2026-10-03T00:00:00.000Z", "read_all_after": "b"},
            # Every object read: the next sync reads what changed after the newest change seen.
            {"last_updated_at": "2026-10-03T00:00:00.000Z"},
        ]

    @HttpMocker()
    def test_an_incremental_sync_reads_changes_after_the_saved_time_in_last_updated_order(self, http_mocker: HttpMocker) -> None:
        saved = ms("2026-10-03")
        http_mocker.post(
            pages_request().after("lastUpdatedAt", saved).sort("lastUpdatedAt").limit(2).build(),
            aggregation_response().with_row(a_page("b", saved + 5)).with_row(a_page("d", saved + 9)).build(),
        )
        http_mocker.post(
            pages_request().after("lastUpdatedAt", saved + 5).sort("lastUpdatedAt").limit(2).build(),
            aggregation_response().with_row(a_page("d", saved + 9)).build(),
        )

        output = read_stream("pages", SyncMode.incremental, ConfigBuilder().with_page_size(2).build(), state={"last_updated_at": "2026-10-03T00:00:00.000Z"})

        # The full page's last time is held back and asked for again, so "d" comes once, from the second page.
        assert [record["id"] for record in record_data(output)] == ["b", "d"]
        assert stream_states(output)[-1] == {"last_updated_at": "2026-10-03T00:00:00.009Z"}

    @HttpMocker()
    def test_rows_tied_on_a_time_that_fill_a_page_are_asked_for_alone_and_whole(self, http_mocker: HttpMocker) -> None:
        saved = ms("2026-10-03")
        tied = saved + 12
        http_mocker.post(
            pages_request().after("lastUpdatedAt", saved).sort("lastUpdatedAt").limit(2).build(),
            aggregation_response().with_row(a_page("b", tied)).with_row(a_page("c", tied)).build(),
        )
        http_mocker.post(
            pages_request().equal_to("lastUpdatedAt", tied).sort("lastUpdatedAt", "id").build(),
            aggregation_response().with_row(a_page("b", tied)).with_row(a_page("c", tied)).with_row(a_page("d", tied)).build(),
        )
        http_mocker.post(
            pages_request().after("lastUpdatedAt", tied).sort("lastUpdatedAt").limit(2).build(),
            aggregation_response().build(),
        )

        output = read_stream("pages", SyncMode.incremental, ConfigBuilder().with_page_size(2).build(), state={"last_updated_at": "2026-10-03T00:00:00.000Z"})

        assert [record["id"] for record in record_data(output)] == ["b", "c", "d"]
        assert stream_states(output)[-1] == {"last_updated_at": "2026-10-03T00:00:00.012Z"}

    @HttpMocker()
    def test_a_full_refresh_reads_every_object_whatever_the_saved_state(self, http_mocker: HttpMocker) -> None:
        http_mocker.post(pages_request().sort("id").limit(50000).build(), aggregation_response().with_row(a_page("z", ms("2026-01-01"))).build())

        output = read_stream("pages", SyncMode.full_refresh, ConfigBuilder().build(), state={"last_updated_at": "2026-06-01T00:00:00.000Z"})

        assert [record["id"] for record in record_data(output)] == ["z"]
