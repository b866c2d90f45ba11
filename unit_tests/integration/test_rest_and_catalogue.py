"""REST lists and Pendo's metadata catalogue read through the source: one GET each, what comes back
shaped into records, and the catalogue typing the metadata columns discover shows."""

from __future__ import annotations

from unittest import TestCase

from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.entrypoint_wrapper import discover
from airbyte_cdk.test.mock_http import HttpMocker

from source_pendo.source import SourcePendo

from .config import ConfigBuilder
from .helpers import read_stream, record_data
from .request_builder import ALL_APPS, PendoRequests
from .response_builder import aggregation_response, metadata_catalogue, rest_list

ACCOUNT_CATALOGUE = {
    "auto": {"lastupdated": {"Type": "time", "DisplayName": "Last updated"}},
    "custom": {"seats": {"Type": "integer", "DisplayName": "Seats", "isHidden": False}, "renewal": {"Type": "time"}},
}


def a_report(report_id: str, app_id: int) -> dict:
    return {"id": report_id, "appId": app_id, "name": f"Report {report_id}", "createdAt": 1735689600000, "lastUpdatedAt": 1735689600000}


class RestListTest(TestCase):
    @HttpMocker()
    def test_reports_are_one_get_kept_to_the_chosen_apps(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(PendoRequests.rest_list("report").build(), rest_list([a_report("r1", 1), a_report("r2", 2), a_report("r3", 1)]))

        output = read_stream("reports", SyncMode.full_refresh, ConfigBuilder().with_app_ids(1).build())

        assert not output.errors
        assert [(record["id"], record["app_id"], record["created_at"]) for record in record_data(output)] == [
            ("r1", 1, "2025-01-01T00:00:00.000Z"), ("r3", 1, "2025-01-01T00:00:00.000Z")]


class MetadataCatalogueTest(TestCase):
    @HttpMocker()
    def test_the_catalogue_is_one_record_with_a_column_per_group(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(PendoRequests.metadata_catalogue("account").build(), metadata_catalogue(ACCOUNT_CATALOGUE))

        output = read_stream("metadata_accounts", SyncMode.full_refresh, ConfigBuilder().build())

        assert not output.errors
        [record] = record_data(output)
        assert record["custom"] == {"seats": {"type": "integer", "display_name": "Seats", "is_hidden": False}, "renewal": {"type": "time"}}
        assert record["auto"]["lastupdated"]["type"] == "time"

    @HttpMocker()
    def test_discover_types_the_accounts_metadata_columns_from_the_catalogue(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(PendoRequests.metadata_catalogue("account").build(), metadata_catalogue(ACCOUNT_CATALOGUE))
        # Asked twice: by discover's connection check first, then for the visitors' schema.
        http_mocker.get(PendoRequests.metadata_catalogue("visitor").build(), metadata_catalogue({"custom": {"plan": {"Type": "string"}}}))
        http_mocker.post(PendoRequests.aggregation("check").source("pages", ALL_APPS).count().build(), aggregation_response().with_row({"count": 3}).build())

        output = discover(SourcePendo(), ConfigBuilder().build())

        schemas = {stream.name: stream.json_schema for stream in output.catalog.catalog.streams}
        custom = schemas["accounts"]["properties"]["metadata_custom"]["properties"]
        # An integer field also admits text (Pendo does not enforce types); a time is a date-time.
        assert custom["seats"]["type"] == ["null", "integer", "string"] and set(custom["seats"]) == {"type", "description"}
        assert custom["renewal"]["format"] == "date-time"
        assert schemas["visitors"]["properties"]["metadata_custom"]["properties"]["plan"]["type"] == ["null", "string"]
