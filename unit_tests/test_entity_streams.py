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


def pipeline(request):
    return json.loads(request.text)["request"]["pipeline"]


def test_a_first_sync_reads_every_object_by_id_whatever_start_date_says(requests_mock, make_config):
    requests_mock.post(
        API_ROOT + "aggregation",
        [
            {"json": page_rows((5, "a"), (START_MS + 5, "b"))},
            {"json": page_rows((None, "c"), (START_MS + 9, "d"))},
            {"json": page_rows((START_MS + 2, "e"))},
        ],
    )
    stream = Pages(make_config(page_size=2))
    assert [r["id"] for r in read(stream)] == ["a", "b", "c", "d", "e"]
    assert [pipeline(r)[1:] for r in requests_mock.request_history] == [
        [{"sort": ["id"]}, {"limit": 2}],
        [{"filter": 'id > "b"'}, {"sort": ["id"]}, {"limit": 2}],
        [{"filter": 'id > "d"'}, {"sort": ["id"]}, {"limit": 2}],
    ]
    assert pipeline(requests_mock.request_history[0])[0] == {"source": {"pages": {"appId": 'expandAppIds("*")'}}}
    # Later syncs read what changed since the newest change seen (no later than when the read began).
    assert stream.state == {"last_updated_at": "2025-01-01T00:00:00.009Z"}


def test_a_full_read_that_stops_resumes_after_the_last_object_emitted(requests_mock, make_config):
    requests_mock.post(API_ROOT + "aggregation", json=page_rows((START_MS + 3, "k")))
    stream = Pages(make_config())
    read(stream, state={"last_updated_at": "2025-01-01T00:00:00.001Z", "read_all_after": "j"})
    assert pipeline(requests_mock.request_history[0])[1] == {"filter": 'id > "j"'}
    assert stream.state == {"last_updated_at": "2025-01-01T00:00:00.001Z"}


def test_changes_are_read_after_the_saved_time_and_tied_rows_never_split_over_pages(requests_mock, make_config):
    requests_mock.post(
        API_ROOT + "aggregation",
        [
            {"json": page_rows((START_MS + 10, "a"), (START_MS + 12, "b"), (START_MS + 12, "c"))},
            {"json": page_rows((START_MS + 12, "b"), (START_MS + 12, "c"), (START_MS + 12, "d"))},
            {"json": page_rows((START_MS + 12, "b"), (START_MS + 12, "c"), (START_MS + 12, "d"), (START_MS + 12, "e"))},
            {"json": page_rows((START_MS + 13, "f"))},
        ],
    )
    stream = Pages(make_config(page_size=3))
    records = read(stream, state={"last_updated_at": "2025-01-01T00:00:00.009Z"})
    assert [r["id"] for r in records] == ["a", "b", "c", "d", "e", "f"]
    assert [pipeline(r)[1:] for r in requests_mock.request_history] == [
        [{"filter": f"lastUpdatedAt > {START_MS + 9}"}, {"sort": ["lastUpdatedAt"]}, {"limit": 3}],
        # The page ended inside the rows of START_MS + 12: they are held back and asked for again,
        [{"filter": f"lastUpdatedAt > {START_MS + 10}"}, {"sort": ["lastUpdatedAt"]}, {"limit": 3}],
        # and once they fill a page by themselves, asked for alone and whole.
        [{"filter": f"lastUpdatedAt == {START_MS + 12}"}, {"sort": ["lastUpdatedAt", "id"]}],
        [{"filter": f"lastUpdatedAt > {START_MS + 12}"}, {"sort": ["lastUpdatedAt"]}, {"limit": 3}],
    ]
    assert stream.state == {"last_updated_at": "2025-01-01T00:00:00.013Z"}


def test_a_state_of_version_0_2_reads_its_last_time_again(requests_mock, make_config):
    requests_mock.post(API_ROOT + "aggregation", json=page_rows())
    read(Pages(make_config()), state={"last_updated_at": "2025-01-01T00:00:00.009Z", "id": 'q"x'})
    assert pipeline(requests_mock.request_history[0])[1] == {"filter": f"lastUpdatedAt > {START_MS + 8}"}


def test_full_refresh_ignores_saved_state(requests_mock, make_config):
    requests_mock.post(API_ROOT + "aggregation", json=page_rows((START_MS + 1, "z")))
    stream = Pages(make_config())
    assert [r["id"] for r in read(stream, SyncMode.full_refresh, {"last_updated_at": "2025-06-01T00:00:00.000Z"})] == ["z"]
    assert [pipeline(r)[1:] for r in requests_mock.request_history] == [[{"sort": ["id"]}, {"limit": 50000}]]


def test_state_from_another_version_is_a_config_error(make_config):
    with pytest.raises(AirbyteTracedException) as raised:
        Pages(make_config()).state = {"cursor": 12}
    assert raised.value.failure_type == FailureType.config_error
    assert "Reset" in raised.value.message


@pytest.mark.parametrize(
    "body",
    [
        {"json": {"results": [{"lastUpdatedAt": START_MS, "appId": 1}]}},
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
    assert "Stream 'pages' stopped reading every object, at the start" in raised.value.message
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
        json={"results": [{"accountId": "acme", "metadata": {"auto": {"lastupdated": START_MS}, "custom": {"renewal": START_MS, "seats": "367", "extra": "7"}}}]},
    )
    config = make_config()
    stream = Accounts(config)
    custom = stream.get_json_schema()["properties"]["metadata_custom"]["properties"]
    assert custom["seats"]["type"] == ["null", "integer", "string"] and custom["renewal"]["format"] == "date-time"
    assert set(custom["seats"]) == {"type", "description"}
    [record] = read(stream)
    # A field the catalogue does not declare is kept as Pendo sent it.
    assert record["metadata_custom"] == {"renewal": "2025-01-01T00:00:00.000Z", "seats": 367, "extra": "7"}
    assert record["lastupdated"] == "2025-01-01T00:00:00.000Z"
    assert stream.state == {"lastupdated": "2025-01-01T00:00:00.000Z"}
    assert json.loads(requests_mock.request_history[-1].text)["request"]["pipeline"][0] == {"source": {"accounts": None}}


def test_an_answer_with_null_results_is_an_empty_page(requests_mock, make_config):
    requests_mock.post(API_ROOT + "aggregation", text='{"startTime": 0, "results": null}')
    stream = Pages(make_config())
    assert read(stream) == []
    assert requests_mock.call_count == 1
