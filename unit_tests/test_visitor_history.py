"""visitor_history's requests and records: ids as one path segment, visitors Pendo no longer knows
skipped (not failed), and a key per entry that no two entries share."""

import logging
import re

import pytest
from airbyte_cdk.models import SyncMode

from source_pendo.row_key import ROW_KEY
from source_pendo.streams.history import VisitorHistory

from .conftest import API_ROOT

DAY = 1793491200000  # 2026-11-01, a day bucket's label
HISTORY = re.compile(re.escape(API_ROOT) + r"visitor/[^/]+/history")


def entry(ts, kind="pageView", **columns):
    return {"ts": ts, "lastTs": ts + 10, "type": kind, "appId": -323232, "pageId": "p1", "uri": "https://x.test/a",
            "parsedUserAgent": {"name": "Firefox", "version": "120", "os": "Linux"}, **columns}


@pytest.mark.parametrize(
    "visitor_id, segment",
    [
        ("a/b?c#d%e+f g", "a%2Fb%3Fc%23d%25e%2Bf%20g"),
        ("1+1", "1%2B1"),
        ("émile@exemple.fr", "%C3%A9mile%40exemple.fr"),
        ("李", "%E6%9D%8E"),
        ("🙂 x", "%F0%9F%99%82%20x"),
        ("plain-id_1.2~3", "plain-id_1.2~3"),
    ],
)
def test_the_visitor_id_is_sent_as_exactly_one_percent_encoded_path_segment(requests_mock, make_config, visitor_id, segment):
    requests_mock.get(HISTORY, json=[entry(DAY + 5)])
    [record] = VisitorHistory(make_config()).fetch_day((visitor_id, DAY))
    assert requests_mock.request_history[-1].url == f"{API_ROOT}visitor/{segment}/history?starttime={DAY}"
    assert record["visitor_id"] == visitor_id


def test_a_visitor_pendo_answers_404_for_is_skipped_with_a_warning(requests_mock, make_config, caplog):
    requests_mock.get(HISTORY, status_code=404, json={"message": "not found"})
    with caplog.at_level(logging.WARNING):
        assert VisitorHistory(make_config()).fetch_day(("gone", DAY)) is None
    assert len(requests_mock.request_history) == 1, "a 404 is not retried"
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "visitor_history" in warning and "'gone'" in warning and "404" in warning and "2026-11-01" in warning


def test_a_window_goes_on_past_deleted_visitors_and_counts_them(requests_mock, make_config, monkeypatch, caplog):
    monkeypatch.setattr("source_pendo.windows.now_ms", lambda: DAY + 3 * 86_400_000)
    active = [{"day": DAY, "visitorId": visitor, "accountId": "a", "appId": -323232, "remoteIp": "ip", "server": "s", "userAgent": "u"}
              for visitor in ("alice", "gone-1", "bob", "gone-2")]
    requests_mock.post(API_ROOT + "aggregation", json={"results": active})
    requests_mock.get(HISTORY, json=[entry(DAY + 5)])
    for gone in ("gone-1", "gone-2"):
        requests_mock.get(f"{API_ROOT}visitor/{gone}/history", status_code=404)
    stream = VisitorHistory(make_config(start_date="2026-11-01"))
    stream.plan_windows(SyncMode.full_refresh)
    with caplog.at_level(logging.INFO):
        records = list(stream.read_records(SyncMode.full_refresh, stream_slice={"first_label": DAY, "buckets": 1}))
    assert [r["visitor_id"] for r in records] == ["alice", "bob"]
    [window_line] = [r.getMessage() for r in caplog.records if "window 2026-11-01" in r.getMessage()]
    assert "2 active visitor-days fetched, 2 skipped" in window_line


def test_other_errors_still_fail_the_stream(requests_mock, make_config):
    requests_mock.get(HISTORY, status_code=403)
    with pytest.raises(Exception, match="HTTP 403"):
        VisitorHistory(make_config()).fetch_day(("alice", DAY))


def test_entries_equal_in_every_column_get_distinct_keys_that_do_not_change_between_reads(requests_mock, make_config):
    same = entry(DAY + 5)
    answer = [same, dict(same), entry(DAY + 5, guideId="g1", type="guideSeen"), dict(same), entry(DAY + 9)]
    requests_mock.get(HISTORY, json=answer)
    stream = VisitorHistory(make_config())
    first = stream.fetch_day(("alice", DAY))
    again = VisitorHistory(make_config()).fetch_day(("alice", DAY))
    keys = [record[ROW_KEY] for record in first]
    assert len(set(keys)) == len(answer)
    assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in keys)
    assert keys == [record[ROW_KEY] for record in again]


def test_the_key_depends_on_the_visitor_and_on_each_identifying_column(requests_mock, make_config):
    base = entry(DAY + 5)
    variants = [base, {**base, "ts": DAY + 6}, {**base, "type": "featureClick"}, {**base, "appId": 1}, {**base, "pageId": None},
                {**base, "pageId": ""}, {**base, "featureId": "f"}, {**base, "guideId": "g"}, {**base, "guideStepId": "s"}, {**base, "uri": "u"},
                {**base, "parsedUserAgent": {"name": "Chrome", "version": "120", "os": "Linux"}}]
    requests_mock.get(HISTORY, json=variants)
    stream = VisitorHistory(make_config())
    keys = [r[ROW_KEY] for r in stream.fetch_day(("alice", DAY))] + [r[ROW_KEY] for r in stream.fetch_day(("bob", DAY))]
    assert len(set(keys)) == 2 * len(variants)


def test_a_longer_duration_of_the_same_entry_keeps_its_key(requests_mock, make_config):
    """Pendo may report an entry again with more time spent: it is the same entry, so the same row."""
    requests_mock.get(HISTORY, [{"json": [entry(DAY + 5, duration=1000)]}, {"json": [entry(DAY + 5, duration=9000, lastTs=DAY + 9005)]}])
    stream = VisitorHistory(make_config())
    assert stream.fetch_day(("alice", DAY))[0][ROW_KEY] == stream.fetch_day(("alice", DAY))[0][ROW_KEY]


def test_identity_values_of_any_json_kind_are_keyed(requests_mock, make_config):
    odd = entry(DAY + 5, uri={"path": "/a"}, pageId=["p1", "p2"])
    requests_mock.get(HISTORY, json=[odd, dict(odd)])
    keys = [r[ROW_KEY] for r in VisitorHistory(make_config()).fetch_day(("alice", DAY))]
    assert len(set(keys)) == 2
