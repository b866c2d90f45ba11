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
from .response_builder import a_page, aggregation_response, metadata_catalogue

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
            # An object Pendo keeps without a last-updated time arrives too.
            aggregation_response().with_row(a_page("c", None)).with_row(a_page("d", ms("2026-10-02"))).build(),
        )
        http_mocker.post(
            pages_request().after("id", "d").sort("id").limit(2).build(),
            aggregation_response().with_row(a_page("e", ms("2026-09-01"))).build(),
        )

        output = read_stream("pages", SyncMode.incremental, ConfigBuilder().with_page_size(2).build())

        assert [record["id"] for record in record_data(output)] == ["a", "b", "c", "d", "e"]
        assert stream_states(output) == [
            # A page later: resume after "b"; changes afterwards are read from the newest seen so far.
            {"last_updated_at": "2026-10-03T00:00:00.000Z", "read_all_after": "b"},
            {"last_updated_at": "2026-10-03T00:00:00.000Z", "read_all_after": "d"},
            # Every object read: the next sync reads what changed after the newest change seen.
            {"last_updated_at": "2026-10-03T00:00:00.000Z"},
        ]

    @HttpMocker()
    def test_a_full_read_that_stopped_resumes_after_the_last_object_emitted(self, http_mocker: HttpMocker) -> None:
        http_mocker.post(pages_request().after("id", "j").sort("id").limit(50000).build(), aggregation_response().with_row(a_page("k", ms("2026-10-05"))).build())

        output = read_stream("pages", SyncMode.incremental, ConfigBuilder().build(), state={"last_updated_at": "2026-10-01T00:00:00.001Z", "read_all_after": "j"})

        assert [record["id"] for record in record_data(output)] == ["k"]
        # Changes are read after the time the interrupted read began from, not after what it saw since.
        assert stream_states(output)[-1] == {"last_updated_at": "2026-10-01T00:00:00.001Z"}

    @HttpMocker()
    def test_a_state_of_version_0_2_reads_its_last_time_again(self, http_mocker: HttpMocker) -> None:
        saved = ms("2026-10-01") + 9
        http_mocker.post(pages_request().after("lastUpdatedAt", saved - 1).sort("lastUpdatedAt").limit(50000).build(), aggregation_response().build())

        output = read_stream("pages", SyncMode.incremental, ConfigBuilder().build(), state={"last_updated_at": "2026-10-01T00:00:00.009Z", "id": 'q"x'})

        assert not output.errors and record_data(output) == []

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


ACCOUNT_CATALOGUE = {"custom": {"renewal": {"Type": "time"}, "seats": {"Type": "integer"}}, "auto": {"lastupdated": {"Type": "time"}}}


@freezegun.freeze_time(NOW)
class AccountsTest(TestCase):
    @HttpMocker()
    def test_accounts_lift_metadata_to_columns_typed_by_the_catalogue(self, http_mocker: HttpMocker) -> None:
        updated = ms("2026-10-01")
        http_mocker.get(PendoRequests.metadata_catalogue("account").build(), metadata_catalogue(ACCOUNT_CATALOGUE))
        http_mocker.post(
            PendoRequests.aggregation("accounts").source("accounts").sort("accountId").limit(50000).build(),
            aggregation_response().with_row(
                {"accountId": "acme", "metadata": {"auto": {"lastupdated": updated}, "custom": {"renewal": updated, "seats": "367", "extra": "7"}}}
            ).build(),
        )

        output = read_stream("accounts", SyncMode.incremental, ConfigBuilder().build())

        [record] = record_data(output)
        # Converted where nothing is lost; a field the catalogue does not declare kept as Pendo sent it.
        assert record["metadata_custom"] == {"renewal": "2026-10-01T00:00:00.000Z", "seats": 367, "extra": "7"}
        assert record["lastupdated"] == "2026-10-01T00:00:00.000Z"
        assert stream_states(output)[-1] == {"lastupdated": "2026-10-01T00:00:00.000Z"}
