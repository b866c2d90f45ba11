"""The connection check through the source's public `check`: the exact requests it sends for app
ids, and what it tells when they are not apps of the subscription."""

from __future__ import annotations

import logging
from unittest import TestCase

import freezegun
from airbyte_cdk.models import Status
from airbyte_cdk.test.mock_http import HttpMocker

from source_pendo.source import SourcePendo

from .config import ConfigBuilder
from .helpers import ms
from .request_builder import ALL_APPS, PendoRequests
from .response_builder import aggregation_response, error, metadata_catalogue, rest_list

NOW = "2026-11-04T12:00:00"


def probe(stream: str, source: str, apps: dict):
    return PendoRequests.aggregation(f"{stream}:probe").source(source, apps).days(ms("2026-11-04"), 1).sort("visitorId").limit(1).build()


class CheckTest(TestCase):
    @HttpMocker()
    def test_app_ids_pendo_answers_with_no_rows_are_named_with_the_apps_the_subscription_has(self, http_mocker: HttpMocker) -> None:
        http_mocker.get(PendoRequests.metadata_catalogue("visitor").build(), metadata_catalogue({}))
        # Whole objects of every app (no `select`, no operator no public client shows), for their app ids.
        http_mocker.post(
            PendoRequests.aggregation("check-apps-pages").source("pages", ALL_APPS).build(),
            aggregation_response().with_row({"id": "p1", "appId": 7}).with_row({"id": "p2", "appId": 5}).build(),
        )
        http_mocker.post(
            PendoRequests.aggregation("check-apps-features").source("features", ALL_APPS).build(),
            aggregation_response().with_row({"id": "f1", "appId": 5}).with_row({"id": "f2", "appId": None}).build(),
        )

        status = SourcePendo().check(logging.getLogger("airbyte"), ConfigBuilder().with_app_ids(5, 424242).build())

        assert status.status == Status.FAILED
        assert status.message.startswith("App IDs [424242] are not apps of this subscription: its pages and features belong to the apps [5, 7].")

    @freezegun.freeze_time(NOW)
    @HttpMocker()
    def test_a_passing_check_tells_which_query_form_each_object_event_source_takes(self, http_mocker: HttpMocker) -> None:
        chosen_apps = {"appId": [5, 7]}
        http_mocker.get(PendoRequests.metadata_catalogue("visitor").build(), metadata_catalogue({}))
        http_mocker.post(PendoRequests.aggregation("check-apps-pages").source("pages", ALL_APPS).build(), aggregation_response().with_row({"id": "p1", "appId": 7}).build())
        http_mocker.post(PendoRequests.aggregation("check-apps-features").source("features", ALL_APPS).build(), aggregation_response().with_row({"id": "f1", "appId": 5}).build())
        http_mocker.post(PendoRequests.aggregation("check").source("pages", chosen_apps).count().build(), aggregation_response().with_row({"count": 2}).build())
        # The one-query form probed on one row of today's bucket: accepted for featureEvents, refused for trackEvents,
        http_mocker.post(probe("feature_events", "featureEvents", chosen_apps), aggregation_response().build())
        http_mocker.post(probe("track_events", "trackEvents", chosen_apps), error(400, "bad pipeline: bad source: bad parameters for source type trackEvents: unexpected parameters"))
        # whose objects of the chosen apps are then listed, to be queried one by one.
        http_mocker.get(PendoRequests.rest_list("tracktype").build(), rest_list([{"id": "t1", "appId": 5}, {"id": "t2", "appId": 9}, {"id": "t3", "appId": 7}]))

        status = SourcePendo().check(logging.getLogger("airbyte"), ConfigBuilder().with_app_ids(5, 7).build())

        assert status.status == Status.SUCCEEDED
        assert "featureEvents: one query per window for every feature (Pendo accepts 'appId')." in status.message
        assert "trackEvents: one query per track type and window, for 2 track types (Pendo refused 'appId': bad pipeline" in status.message
