"""Retroactive tagging in the simulator (``PendoSimulator.retag`` / ``tag_untagged``), over real
sockets: pageEvents / featureEvents rows and visitor history of past days change, the ``events``
source does not, and ``event_rows`` agrees with the API at once.

Every test retags its own simulator: the module's shared one is never changed.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from integration_tests.pendo_simulator import PendoSimulator
from integration_tests.simulator_client import PendoClient

DAY = 86_400_000
FIELDS = {"rows": {"count": None}, "numEvents": {"sum": "numEvents"}, "numMinutes": {"sum": "numMinutes"}}


@pytest.fixture
def fresh():
    """A simulator of its own (default seed and sizes) and a client of it."""
    with PendoSimulator() as sim:
        client = PendoClient(sim)
        yield sim, client
        client.session.close()


def days_ago(sim, days: int) -> int:
    return sim.bucket_start(sim.clock_ms - days * DAY, "dayRange")


def query(source: str, first: int, end: int, *stages) -> list:
    return [{"source": {source: None, "timeSeries": {"period": "dayRange", "first": first, "count": round((end - first) / DAY)}}}, *stages]


def events_per_day(rows: list[dict], object_field: str) -> dict[str, Counter]:
    """object id -> {day: sum of numEvents}."""
    totals: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        totals[row[object_field]][row["day"]] += row["numEvents"]
    return totals


def two_busy_objects(sim, kind: str, first: int, end: int) -> tuple[str, str]:
    """The two objects of ``kind`` of the default app with the most hits in ``[first, end)``."""
    counts = Counter(hit.object_id for hit in sim.events.hits if hit.kind == kind and hit.app_id == sim.dataset.default_app_id and first <= hit.ts < end)
    (moved, _), (kept, _) = counts.most_common(2)
    return moved, kept


def visitor_day_with(sim, kind: str, object_id: str, first: int, end: int) -> tuple[str, int]:
    """(visitor, history starttime) of a visible hit on ``object_id`` in ``[first, end)``."""
    hit = next(hit for hit in sim.events.hits if hit.kind == kind and hit.object_id == object_id and first <= hit.ts < end and hit.arrives_at <= sim.clock_ms)
    return hit.visitor_id, hit.ts - 1000


def test_retag_moves_past_page_rows_and_history_but_not_events(fresh):
    sim, api = fresh
    first, end, earlier = days_ago(sim, 20), days_ago(sim, 5), days_ago(sim, 30)
    moved, kept = two_busy_objects(sim, "page", first, end)
    visitor, starttime = visitor_day_with(sim, "page", moved, first, end)
    pages_before = api.results(query("pageEvents", first, end))
    events_before = api.results(query("events", first, end))
    outside_before = api.results(query("pageEvents", earlier, first))
    history_before = api.history(visitor, starttime=starttime).json()
    grouped_before = api.results(query("pageEvents", first, end, {"group": {"group": ["day", "pageId"], "fields": FIELDS}}))

    assert sim.retag("page", moved, kept, first_ms=first, end_ms=end) > 0

    pages_after = api.results(query("pageEvents", first, end))
    assert pages_after == sim.event_rows("pageEvents", "dayRange", first, end) != pages_before
    before, after = events_per_day(pages_before, "pageId"), events_per_day(pages_after, "pageId")
    assert moved not in after
    assert after[kept] == before[kept] + before[moved] and before[moved]
    assert {page: days for page, days in after.items() if page != kept} == {page: days for page, days in before.items() if page not in (moved, kept)}
    assert api.results(query("pageEvents", earlier, first)) == outside_before  # days outside the range keep their tags
    assert moved in {row["pageId"] for row in outside_before}
    assert api.results(query("events", first, end)) == events_before == sim.event_rows("events", "dayRange", first, end)
    history_after = api.history(visitor, starttime=starttime).json()
    assert history_after == [{**entry, "pageId": kept if entry["pageId"] == moved else entry["pageId"]} for entry in history_before]
    assert any(entry["pageId"] == moved for entry in history_before)

    grouped_after = api.results(query("pageEvents", first, end, {"group": {"group": ["day", "pageId"], "fields": FIELDS}}))
    by_key = lambda rows: {(row["day"], row["pageId"]): (row["rows"], row["numEvents"], row["numMinutes"]) for row in rows}  # noqa: E731
    changed = {key for key in by_key(grouped_before).keys() | by_key(grouped_after).keys() if by_key(grouped_before).get(key) != by_key(grouped_after).get(key)}
    assert changed and {page for _, page in changed} == {moved, kept}
    assert {row["pageId"] for row in grouped_after} == {row["pageId"] for row in grouped_before} - {moved}


def test_retag_applies_to_hits_that_arrive_later(fresh):
    sim, api = fresh
    first, end = days_ago(sim, 10), days_ago(sim, 0) + DAY
    app_id = sim.dataset.default_app_id
    late = [hit for hit in sim.events.hits if hit.kind == "page" and hit.app_id == app_id and hit.arrives_at > sim.clock_ms and first <= hit.ts < sim.clock_ms]
    (moved, _), = Counter(hit.object_id for hit in late).most_common(1)
    kept = next(row["id"] for row in sim.dataset.pages if row["appId"] == app_id and row["id"] != moved)
    arriving = next(hit for hit in late if hit.object_id == moved)
    sim.retag("page", moved, kept)
    sim.advance(10 * DAY)
    rows = api.results(query("pageEvents", first, end))
    assert moved not in {row["pageId"] for row in rows}
    assert any(row["pageId"] == kept and row["visitorId"] == arriving.visitor_id and row["day"] == sim.bucket_start(arriving.ts, "dayRange") for row in rows)
    assert rows == sim.event_rows("pageEvents", "dayRange", first, end)


def test_retag_moves_a_features_clicks(fresh):
    sim, api = fresh
    first, end = days_ago(sim, 20), days_ago(sim, 5)
    moved, kept = two_busy_objects(sim, "feature", first, end)
    visitor, starttime = visitor_day_with(sim, "feature", moved, first, end)
    features_before = api.results(query("featureEvents", first, end))
    events_before = api.results(query("events", first, end))
    history_before = api.history(visitor, starttime=starttime).json()
    sim.retag("feature", moved, kept, first_ms=first, end_ms=end)
    features_after = api.results(query("featureEvents", first, end))
    before, after = events_per_day(features_before, "featureId"), events_per_day(features_after, "featureId")
    assert moved not in after and after[kept] == before[kept] + before[moved]
    assert features_after == sim.event_rows("featureEvents", "dayRange", first, end)
    assert api.results(query("events", first, end)) == events_before
    history_after = api.history(visitor, starttime=starttime).json()
    assert history_after == [{**entry, "featureId": kept if entry["featureId"] == moved else entry["featureId"]} for entry in history_before]
    assert any(entry["featureId"] == moved for entry in history_before)


def test_tag_untagged_turns_page_views_into_page_hits(fresh):
    sim, api = fresh
    first, end = days_ago(sim, 20), days_ago(sim, 5)
    app_id = sim.dataset.default_app_id
    page = next(row["id"] for row in sim.dataset.pages if row["appId"] == app_id)
    path = "über-uns"
    tagged = [
        hit for hit in sim.events.hits
        if hit.kind == "untagged" and hit.app_id == app_id and hit.url.endswith("/" + path) and first <= hit.ts < end and hit.arrives_at <= sim.clock_ms
    ]
    assert tagged
    visitor, starttime = tagged[0].visitor_id, tagged[0].ts - 1000
    pages_before = events_per_day(api.results(query("pageEvents", first, end)), "pageId")
    events_before = api.results(query("events", first, end))
    history_before = api.history(visitor, starttime=starttime).json()

    assert sim.tag_untagged(page, url_path=path, first_ms=first, end_ms=end) >= len(tagged)

    pages_after = events_per_day(api.results(query("pageEvents", first, end)), "pageId")
    assert pages_after[page] - pages_before[page] == Counter(sim.bucket_start(hit.ts, "dayRange") for hit in tagged)
    assert {key: value for key, value in pages_after.items() if key != page} == {key: value for key, value in pages_before.items() if key != page}
    assert api.results(query("events", first, end)) == events_before
    history_after = api.history(visitor, starttime=starttime).json()
    now_tagged = [entry for entry in history_after if (entry["uri"] or "").endswith("/" + path)]
    assert now_tagged and all(entry["type"] == "page" and entry["pageId"] == page and entry["untaggedUrl"] is None for entry in now_tagged)
    assert [entry["ts"] for entry in history_after] == [entry["ts"] for entry in history_before]
    # Other untagged paths stay untagged.
    assert any(hit.kind == "untagged" and hit.app_id == app_id and first <= hit.ts < end for hit in sim.events.hits)


def test_bad_retags_are_refused():
    sim = PendoSimulator()
    app_id = sim.dataset.default_app_id
    own = [row["id"] for row in sim.dataset.pages if row["appId"] == app_id]
    other = next(row["id"] for row in sim.dataset.pages if row["appId"] != app_id)
    with pytest.raises(ValueError, match="two pages of one app"):
        sim.retag("page", own[0], other)
    with pytest.raises(ValueError, match="two pages of one app"):
        sim.retag("page", own[0], own[0])
    with pytest.raises(ValueError, match="no page 'nope'"):
        sim.retag("page", own[0], "nope")
    with pytest.raises(ValueError, match="not 'track'"):
        sim.retag("track", own[0], own[1])
    with pytest.raises(ValueError, match="no page 'nope'"):
        sim.tag_untagged("nope")
