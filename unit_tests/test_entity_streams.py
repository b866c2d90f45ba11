import pytest
from airbyte_cdk.models import FailureType, SyncMode
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_pendo.streams import Pages, Visitors

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


def test_an_answer_with_null_results_is_an_empty_page(requests_mock, make_config):
    requests_mock.post(API_ROOT + "aggregation", text='{"startTime": 0, "results": null}')
    stream = Pages(make_config())
    assert read(stream) == []
    assert requests_mock.call_count == 1
