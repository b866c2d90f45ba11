import json

import pytest
from airbyte_cdk.models import FailureType, SyncMode
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_pendo.streams import Accounts, Pages, Visitors

from .conftest import API_ROOT

START_MS = 1735689600000


def page_rows(*pairs):
    return {"startTime": 0, "results": [{"id": key, "appId": 1, "lastUpdatedAt": ts, "createdAt": ts} for ts, key in pairs]}


def read(stream, sync_mode=SyncMode.incremental, state=None):
    stream.state = state or {}
    records = []
    for stream_slice in stream.stream_slices(sync_mode=sync_mode, cursor_field=None, stream_state=state):
        records.extend(stream.read_records(sync_mode=sync_mode, stream_slice=stream_slice, stream_state=state))
    return records


def filters(requests_mock):
    return [json.loads(r.text)["request"]["pipeline"][1]["filter"] for r in requests_mock.request_history]


def test_pages_are_read_by_keyset_until_a_short_page(requests_mock, make_config):
    requests_mock.post(
        API_ROOT + "aggregation",
        [
            {"json": page_rows((START_MS + 5, "a"), (START_MS + 5, "b"))},
            {"json": page_rows((START_MS + 5, "c"), (START_MS + 9, "a"))},
            {"json": page_rows((START_MS + 9, "b"))},
        ],
    )
    stream = Pages(make_config(page_size=2))
    records = read(stream)
    assert [(r["id"], r["last_updated_at"]) for r in records] == [
        ("a", "2025-01-01T00:00:00.005Z"),
        ("b", "2025-01-01T00:00:00.005Z"),
        ("c", "2025-01-01T00:00:00.005Z"),
        ("a", "2025-01-01T00:00:00.009Z"),
        ("b", "2025-01-01T00:00:00.009Z"),
    ]
    assert filters(requests_mock) == [
        f"lastUpdatedAt >= {START_MS}",
        f'lastUpdatedAt > {START_MS + 5} || (lastUpdatedAt == {START_MS + 5} && id > "b")',
        f'lastUpdatedAt > {START_MS + 9} || (lastUpdatedAt == {START_MS + 9} && id > "a")',
    ]
    body = json.loads(requests_mock.request_history[0].text)
    assert body["request"]["pipeline"][0] == {"source": {"pages": {"appId": 'expandAppIds("*")'}}}
    assert body["request"]["pipeline"][2:] == [{"sort": ["lastUpdatedAt", "id"]}, {"limit": 2}]
    assert stream.state == {"last_updated_at": "2025-01-01T00:00:00.009Z", "id": "b"}


def test_incremental_read_starts_strictly_after_the_saved_position(requests_mock, make_config):
    requests_mock.post(API_ROOT + "aggregation", json=page_rows())
    read(Pages(make_config()), state={"last_updated_at": "2025-01-01T00:00:00.009Z", "id": 'q"x'})
    assert filters(requests_mock) == [f'lastUpdatedAt > {START_MS + 9} || (lastUpdatedAt == {START_MS + 9} && id > "q\\"x")']


def test_a_state_without_key_resumes_inclusively(requests_mock, make_config):
    requests_mock.post(API_ROOT + "aggregation", json=page_rows())
    read(Pages(make_config()), state={"last_updated_at": "2025-01-01T00:00:00.009Z"})
    assert filters(requests_mock) == [f"lastUpdatedAt >= {START_MS + 9}"]


def test_full_refresh_ignores_saved_state(requests_mock, make_config):
    requests_mock.post(API_ROOT + "aggregation", json=page_rows((START_MS + 1, "z")))
    stream = Pages(make_config())
    assert [r["id"] for r in read(stream, SyncMode.full_refresh, {"last_updated_at": "2025-06-01T00:00:00.000Z", "id": "k"})] == ["z"]
    assert filters(requests_mock) == [f"lastUpdatedAt >= {START_MS}"]


def test_state_from_another_version_is_a_config_error(make_config):
    with pytest.raises(AirbyteTracedException) as raised:
        Pages(make_config()).state = {"cursor": 12}
    assert raised.value.failure_type == FailureType.config_error
    assert "Reset" in raised.value.message


@pytest.mark.parametrize(
    "body",
    [
        {"json": {"results": [{"lastUpdatedAt": START_MS}]}},
        {"json": {"startTime": 1}},
        {"text": "<html>proxy error</html>"},
    ],
    ids=["row-without-key", "no-results", "not-json"],
)
def test_malformed_answers_are_asked_again_then_fail_clearly_without_emitting(requests_mock, make_config, slept, body):
    requests_mock.post(API_ROOT + "aggregation", [body])
    records = []
    with pytest.raises(AirbyteTracedException) as raised:
        records.extend(read(Pages(make_config())))
    assert records == []
    assert raised.value.failure_type == FailureType.transient_error
    assert "Stream 'pages' stopped at the start" in raised.value.message
    assert requests_mock.call_count == 7 and len(slept) == 6


def test_a_malformed_answer_followed_by_a_good_one_loses_nothing(requests_mock, make_config):
    requests_mock.post(API_ROOT + "aggregation", [{"json": {"startTime": 1}}, {"json": page_rows((START_MS + 1, "a"))}])
    assert [r["id"] for r in read(Pages(make_config()))] == ["a"]


def test_an_empty_answer_is_not_malformed(requests_mock, make_config):
    requests_mock.post(API_ROOT + "aggregation", json={"startTime": 1, "results": []})
    assert read(Pages(make_config())) == [] and requests_mock.call_count == 1


def test_visitors_are_identified_unless_anonymous_are_included(make_config):
    assert Visitors(make_config()).source_params() == {"identified": True}
    assert Visitors(make_config(include_anonymous_visitors=True)).source_params() is None


def test_accounts_schema_types_custom_fields_and_shapes_records(requests_mock, make_config):
    requests_mock.get(
        API_ROOT + "metadata/schema/account",
        json={"custom": {"renewal": {"Type": "time"}, "seats": {"Type": "integer"}}, "auto": {"lastupdated": {"Type": "time"}}},
    )
    requests_mock.post(
        API_ROOT + "aggregation",
        json={"results": [{"accountId": "acme", "metadata": {"auto": {"lastupdated": START_MS}, "custom": {"renewal": START_MS, "seats": 3}}}]},
    )
    config = make_config()
    stream = Accounts(config)
    custom = stream.get_json_schema()["properties"]["metadata_custom"]["properties"]
    assert custom["seats"] == {"type": ["null", "integer"]} and custom["renewal"]["format"] == "date-time"
    [record] = read(stream)
    assert record["metadata_custom"] == {"renewal": "2025-01-01T00:00:00.000Z", "seats": 3}
    assert record["lastupdated"] == "2025-01-01T00:00:00.000Z"
    assert stream.state == {"lastupdated": "2025-01-01T00:00:00.000Z", "account_id": "acme"}
    assert json.loads(requests_mock.request_history[-1].text)["request"]["pipeline"][0] == {"source": {"accounts": None}}


def test_an_answer_with_null_results_is_an_empty_page(requests_mock, make_config):
    requests_mock.post(API_ROOT + "aggregation", text='{"startTime": 0, "results": null}')
    stream = Pages(make_config())
    assert read(stream) == []
    assert requests_mock.call_count == 1
