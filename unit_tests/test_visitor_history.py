"""visitor_history's requests and records: ids as one path segment, visitors Pendo no longer knows
skipped (not failed), and a key per entry that no two entries share."""

import logging
import re

import pytest
from airbyte_cdk.models import SyncMode

from source_pendo.records import iso_from_ms
from source_pendo.row_key import ROW_KEY
from source_pendo.streams.history import VisitorHistory

from .conftest import API_ROOT

DAY = 1793491200000  # 2026-11-01, a day bucket's label
HISTORY = re.compile(re.escape(API_ROOT) + r"visitor/[^/]+/history")



@pytest.fixture
def make_config(make_config):
    """Days count as complete as soon as they ended everywhere (no settling margin): the tests name exact days."""
    return lambda **overrides: make_config(**{"settling_hours": 0, **overrides})

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


# --- incremental syncs: only days whose activity changed are fetched again (history_days.py) ---

H = 3_600_000
D = [DAY + n * 86_400_000 for n in range(5)]  # 2026-11-01 .. 2026-11-05; Pendo's days start at UTC midnight here


class FakePendo:
    """Aggregation answers from a small activity table: {day: {visitor: (numEvents, pageId, featureId)}}."""

    def __init__(self, requests_mock, activity, refuse_group=False):
        self.activity = activity
        self.refuse_group = refuse_group
        self.bodies = []
        requests_mock.post(API_ROOT + "aggregation", json=self.answer)
        requests_mock.get(HISTORY, json=lambda request, context: [entry(int(request.qs["starttime"][0]) + 5)])
        self.requests_mock = requests_mock

    def answer(self, request, context):
        body = request.json()
        self.bodies.append(body)
        [source_stage, *stages] = body["request"]["pipeline"]
        [source] = [name for name in source_stage["source"] if name != "timeSeries"]
        series = source_stage["source"]["timeSeries"]
        days = [day for day in self.activity if series["first"] - 12 * H <= day < series["first"] - 12 * H + series["count"] * 86_400_000]
        group = next((stage["group"] for stage in stages if "group" in stage), None)
        if group is None:
            return {"results": [{"day": day, "visitorId": visitor, "accountId": "a", "appId": 1, "remoteIp": "ip", "server": "s", "userAgent": "u"}
                                for day in days for visitor in sorted(self.activity[day])]}
        if self.refuse_group:
            context.status_code = 400
            return {"message": "bad pipeline: bad group: unknown stage"}
        column = {"events": None, "pageEvents": "pageId", "featureEvents": "featureId"}[source]
        rows = []
        for day in days:
            for visitor, (events, page, feature) in self.activity[day].items():
                row = {"day": day, "rows": 1, "numEvents": events, "numMinutes": 1}
                if column:
                    row[column] = page if column == "pageId" else feature
                rows.append(row)
        return {"results": rows}

    def fetched_days(self):
        return sorted({int(r.qs["starttime"][0]) for r in self.requests_mock.request_history if "/history" in r.path})

    def event_reads(self):
        """The days each `events` read (not a fingerprint query) asked for."""
        reads = []
        for body in self.bodies:
            source = body["request"]["pipeline"][0]["source"]
            if "events" in source and not any("group" in stage for stage in body["request"]["pipeline"][1:]):
                first = source["timeSeries"]["first"] - 12 * H
                reads += [first + n * 86_400_000 for n in range(source["timeSeries"]["count"])]
        return sorted(reads)


def activity():
    return {day: {"alice": (3, "p1", "f1"), "bob": (1, "p2", "f2")} for day in D}


def sync(config, state, now, monkeypatch):
    monkeypatch.setattr("source_pendo.windows.now_ms", lambda: now)
    stream = VisitorHistory(config)
    stream.state = state
    records = []
    for stream_slice in stream.stream_slices(sync_mode=SyncMode.incremental):
        records += stream.read_records(SyncMode.incremental, stream_slice=stream_slice)
    return records, dict(stream.state)


def test_a_first_incremental_sync_fetches_complete_days_only_and_saves_their_fingerprints(requests_mock, make_config, monkeypatch):
    pendo = FakePendo(requests_mock, activity())
    records, state = sync(make_config(start_date="2026-11-01"), {}, D[3] + 15 * H, monkeypatch)  # 2026-11-04 has not ended everywhere
    assert pendo.fetched_days() == D[:3]
    assert len(records) == 6
    assert state["ts"] == "2026-11-03T00:00:00.000Z"
    assert list(state["fingerprints"]) == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert all(re.fullmatch(r"[0-9a-f]{8}", digest) for digest in state["fingerprints"].values())


def test_only_new_days_and_days_whose_activity_changed_are_fetched_again(requests_mock, make_config, monkeypatch, caplog):
    config = make_config(start_date="2026-11-01")
    pendo = FakePendo(requests_mock, activity())
    _, state = sync(config, {}, D[3] + 15 * H, monkeypatch)
    requests_mock.reset_mock()
    pendo.bodies.clear()
    pendo.activity[D[0]]["bob"] = (2, "p2", "f2")  # a late event
    pendo.activity[D[2]]["alice"] = (3, "p9", "f1")  # a page retagged
    with caplog.at_level(logging.INFO):
        records, again = sync(config, state, D[4] + 15 * H, monkeypatch)
    assert pendo.fetched_days() == [D[0], D[2], D[3]]
    assert {(r["visitor_id"], r["ts"]) for r in records} == {(v, iso_from_ms(d + 5)) for v in ("alice", "bob") for d in (D[0], D[2], D[3])}
    assert pendo.event_reads() == [D[0], D[2], D[3]], "days unchanged need no `events` read either"
    assert again["fingerprints"]["2026-11-02"] == state["fingerprints"]["2026-11-02"]
    assert again["fingerprints"]["2026-11-01"] != state["fingerprints"]["2026-11-01"]
    assert again["fingerprints"]["2026-11-03"] != state["fingerprints"]["2026-11-03"]
    assert "Stream 'visitor_history': 3 of 4 days changed since the last sync; fetched 6 visitor-days." in caplog.messages
    # Nothing changed since: the next sync at the same time fetches nothing.
    requests_mock.reset_mock()
    assert sync(config, again, D[4] + 15 * H, monkeypatch)[0] == []
    assert pendo.fetched_days() == []


def test_a_feature_retagged_changes_the_fingerprint_of_its_day(requests_mock, make_config, monkeypatch):
    config = make_config(start_date="2026-11-01")
    pendo = FakePendo(requests_mock, activity())
    _, state = sync(config, {}, D[3] + 15 * H, monkeypatch)
    requests_mock.reset_mock()
    pendo.activity[D[1]]["bob"] = (1, "p2", "f7")
    sync(config, state, D[3] + 15 * H, monkeypatch)
    assert pendo.fetched_days() == [D[1]]


@pytest.mark.parametrize("saved", [None, {"2026-11-02": 5, "yesterday": "abcd0123"}])
def test_days_without_a_readable_saved_fingerprint_are_fetched_again(requests_mock, make_config, monkeypatch, saved):
    config = make_config(start_date="2026-11-01")
    pendo = FakePendo(requests_mock, activity())
    _, state = sync(config, {}, D[3] + 15 * H, monkeypatch)
    kept = {day: digest for day, digest in state["fingerprints"].items() if day != "2026-11-02"}
    requests_mock.reset_mock()
    sync(config, {**state, "fingerprints": kept}, D[3] + 15 * H, monkeypatch)
    assert pendo.fetched_days() == [D[1]]
    requests_mock.reset_mock()
    sync(config, {"ts": state["ts"], **({} if saved is None else {"fingerprints": saved})}, D[3] + 15 * H, monkeypatch)
    assert pendo.fetched_days() == D[:3], "a state of 0.2.x, or one not written by this connector, fetches the range once"


def test_fingerprints_older_than_the_next_lookback_are_not_kept(requests_mock, make_config, monkeypatch):
    pendo = FakePendo(requests_mock, activity())
    _, state = sync(make_config(start_date="2026-11-01", lookback_window=2), {}, D[3] + 15 * H, monkeypatch)
    assert pendo.fetched_days() == D[:3]
    assert list(state["fingerprints"]) == ["2026-11-02", "2026-11-03"], "the next sync starts 2 days before 2026-11-04"


def test_when_pendo_refuses_the_fingerprint_query_every_active_day_is_fetched_with_one_warning(requests_mock, make_config, monkeypatch, caplog):
    config = make_config(start_date="2026-11-01")
    pendo = FakePendo(requests_mock, activity())
    _, state = sync(config, {}, D[3] + 15 * H, monkeypatch)
    pendo.refuse_group = True
    requests_mock.reset_mock()
    with caplog.at_level(logging.INFO):
        records, after = sync(config, state, D[3] + 15 * H, monkeypatch)
    assert pendo.fetched_days() == D[:4], "as without change detection: the whole range, up to the current day"
    assert len(records) == 8
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "visitor_history" in warning and "HTTP 400" in warning and "bad group" in warning and "every active visitor-day of the" in warning
    assert after["ts"] == state["ts"]
    assert after["fingerprints"] == state["fingerprints"], "kept: they stand for data no newer than what was emitted"


def test_a_full_refresh_fetches_every_day_up_to_the_current_one_without_fingerprints(requests_mock, make_config, monkeypatch):
    pendo = FakePendo(requests_mock, activity())
    monkeypatch.setattr("source_pendo.windows.now_ms", lambda: D[3] + 15 * H)
    stream = VisitorHistory(make_config(start_date="2026-11-01"))
    for stream_slice in stream.stream_slices(sync_mode=SyncMode.full_refresh):
        list(stream.read_records(SyncMode.full_refresh, stream_slice=stream_slice))
    assert pendo.fetched_days() == D[:4]
    assert "fingerprints" not in stream.state
    assert not any(any("group" in stage for stage in body["request"]["pipeline"][1:]) for body in pendo.bodies)
