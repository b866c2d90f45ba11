import hashlib
import json

import pytest
import requests

from source_pendo.jsonstream import BrokenResponse
from source_pendo.pager import after
from source_pendo.streams.events import PageEvents

from .conftest import API_ROOT

DAY = 1793491200000


def row(visitor: str, **columns):
    return {"day": DAY, "visitorId": visitor, "accountId": "a", "appId": -323232, "remoteIp": "10.0.0.1", "server": "s", "userAgent": "u", "pageId": "p",
            "numEvents": 1, "firstTime": DAY + 5, **columns}


def test_a_row_without_its_cursor_breaks_the_response_after_the_rows_before_it(requests_mock, make_config):
    stream = PageEvents(make_config())
    requests_mock.post(API_ROOT + "aggregation", json={"startTime": DAY, "results": [row("v1"), row("v2"), row("v2", pageId="q"), row("v3"), row("v3", day=None), row("v4")]})
    emitted = []
    page = stream.query().read_page(requests.post(API_ROOT + "aggregation", stream=True), None, None)
    with pytest.raises(BrokenResponse, match="without 'day'"):
        for record in page.records:
            emitted.append((record.record.data["visitor_id"], record.record.data["page_id"]))
    # v3's rows may go on past the break: they are asked for again with the rest.
    assert emitted == [("v1", "p"), ("v2", "p"), ("v2", "q")]
    assert page.resume_token() == {"position": after("v2")}


def test_the_reader_hands_back_how_many_records_a_window_gave(requests_mock, make_config):
    stream = PageEvents(make_config())
    requests_mock.post(API_ROOT + "aggregation", json={"startTime": DAY, "results": [row("v1"), row("v2"), row("v2", pageId="q")]})
    records = stream.reader.read({"first_label": DAY, "buckets": 1})
    emitted = []
    with pytest.raises(StopIteration) as done:
        while True:
            emitted.append(next(records))
    assert len(emitted) == 3 and done.value.value == 3
    assert requests_mock.call_count == 1, "fewer rows than a page: the window's last page"


def test_rows_become_records_with_snake_case_names_and_iso_times(requests_mock, make_config):
    stream = PageEvents(make_config())
    requests_mock.post(API_ROOT + "aggregation", json={"startTime": DAY, "results": [row("v1", parameters={"utm_Source": "x"})]})
    [message] = list(stream.parse_response(requests.post(API_ROOT + "aggregation", stream=True)))
    assert message.record.stream == "page_events"
    assert message.record.data == {"day": "2026-11-01T00:00:00.000Z", "visitor_id": "v1", "account_id": "a", "app_id": -323232, "remote_ip": "10.0.0.1", "server": "s",
                      "user_agent": "u", "page_id": "p", "num_events": 1, "first_time": "2026-11-01T00:00:00.005Z", "parameters": {"utm_Source": "x"},
                      "row_key": documented_key([DAY, "v1", "a", -323232, "10.0.0.1", "s", "u", "p"])}


def documented_key(values):
    """The recipe docs/pendo.md gives: BLAKE2b-128 of the key columns' values as Pendo sends them, as compact JSON."""
    return hashlib.blake2b(json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode(), digest_size=16).hexdigest()


def test_an_answer_with_null_results_is_an_empty_window(requests_mock, make_config):
    """tap-pendo guards every answer with `results or []`: Pendo may say "no rows" with null."""
    stream = PageEvents(make_config())
    requests_mock.post(API_ROOT + "aggregation", text='{"startTime": %d, "results": null}' % DAY)
    assert list(stream.parse_response(requests.post(API_ROOT + "aggregation", stream=True))) == []
