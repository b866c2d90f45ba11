"""The simulator's "real Pendo variant" switches, over real sockets: each one on, all of them
at once, and (against the default simulator) today's behaviour when they are off."""
from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
from urllib.parse import quote

import pytest
import requests

from integration_tests.pendo_simulator import VARIANTS, PendoSimulator
from integration_tests.pendo_simulator.options import add_simulator_options, simulator_from
from integration_tests.pendo_simulator.dataset import ANONYMOUS_PREFIX, CLOCK_START_MS, DEFAULT_APP_ID
from integration_tests.pendo_simulator.pipeline import AggregationError
from integration_tests.pendo_simulator.server import WRONG_REGION_MESSAGE
from integration_tests.pendo_simulator.variant_data import ODD_VISITOR_IDS
from integration_tests.simulator_client import EXPAND_ALL, KEY_HEADER, OTHER_APP_ID, REPO_ROOT, PendoClient

DAY = 86_400_000
UNKNOWN_APP_ID = 424242
WINDOW = ("dayRange", CLOCK_START_MS - 45 * DAY, CLOCK_START_MS + DAY)
OBJECT_PARAMETERS = {"featureEvents": ("featureId", "features"), "trackEvents": ("trackTypeId", "track_types")}


def source(name, params=None):
    return {"source": {name: params}}


def ts_source(name, params=None):
    return {"source": {name: params, "timeSeries": {"period": "dayRange", "first": "now()", "count": -45}}}


@pytest.fixture(scope="module")
def simulators():
    """``of(*variants)``: a running simulator (default seed and sizes) with those variants, one per set."""
    running: dict[frozenset, PendoSimulator] = {}

    def of(*variants: str) -> PendoSimulator:
        key = frozenset(variants)
        if key not in running:
            running[key] = PendoSimulator(variants=variants).start()
        return running[key]

    yield of
    for simulator in running.values():
        simulator.stop()


@pytest.fixture
def client_of():
    """``client_of(sim, key=None)``: a client whose session is closed after the test."""
    clients = []

    def make(sim, key=None):
        clients.append(PendoClient(sim, key))
        return clients[-1]

    yield make
    for client in clients:
        client.session.close()


def raw_get(sim, path: str) -> tuple[int, object]:
    """GET ``path`` exactly as written (no client-side encoding); (status, JSON body)."""
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    try:
        connection.request("GET", path, headers={KEY_HEADER: sim.api_key})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def visible_day_of(sim, visitor_id: str) -> int:
    """The start of a history day with visible activity of ``visitor_id``."""
    hit = next(hit for hit in sim.events.hits if hit.visitor_id == visitor_id and hit.arrives_at <= sim.clock_ms)
    return hit.ts - 1000


def canonical(rows) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True, ensure_ascii=False) for row in rows)


# --- the switches themselves -----------------------------------------------------


def test_variant_names_and_parsing():
    assert VARIANTS == (
        "null_results", "nulls_last", "no_or_filter", "object_event_params", "missing_lastupdated",
        "wrong_region_401", "odd_visitor_ids", "deleted_visitors", "unknown_app_ignored", "no_group", "group_across_periods",
    )
    default = PendoSimulator()
    assert default.variants == frozenset() and default.deleted_visitor_ids == frozenset()
    assert PendoSimulator(variants=["all"]).variants == PendoSimulator(variants="all").variants == frozenset(VARIANTS)
    assert PendoSimulator(variants=iter(["nulls_last", "null_results"])).variants == {"nulls_last", "null_results"}
    with pytest.raises(ValueError, match="'nulls_first'.*null_results, nulls_last"):
        PendoSimulator(variants=["nulls_first"])


def test_variants_leave_data_alone_unless_they_are_about_data():
    plain, protocol_only = PendoSimulator(), PendoSimulator(variants=["null_results", "no_or_filter", "wrong_region_401", "unknown_app_ignored", "object_event_params"])
    assert protocol_only.dataset.visitors == plain.dataset.visitors and protocol_only.dataset.accounts == plain.dataset.accounts
    assert protocol_only.events.hits[:50] == plain.events.hits[:50]
    first, second = PendoSimulator(variants="all"), PendoSimulator(variants="all")
    assert first.dataset.visitors == second.dataset.visitors and first.dataset.accounts == second.dataset.accounts
    assert first.deleted_visitor_ids == second.deleted_visitor_ids
    assert [hit.as_dict() for hit in first.events.hits[:200]] == [hit.as_dict() for hit in second.events.hits[:200]]


def test_off_keeps_todays_behaviour(sim, api, client_of):
    """The default simulator: every switch off."""
    assert sim.variants == frozenset()
    assert api.aggregate([source("accounts"), {"filter": 'accountId == "nobody"'}]).json() == {"startTime": sim.clock_ms, "results": []}
    planlevels = [row["p"] for row in api.results([source("accounts"), {"sort": ["metadata.agent.planlevel"]}, {"select": {"p": "metadata.agent.planlevel"}}])]
    assert planlevels[0] is None and planlevels[-1] is not None
    assert api.results([source("accounts"), {"filter": "metadata.agent.planlevel == null || accountId == null"}, {"count": None}])[0]["count"] > 0
    assert api.aggregate([ts_source("featureEvents", {"appId": DEFAULT_APP_ID})]).status_code == 200
    assert all("lastupdated" in row["metadata"]["auto"] for row in [*sim.dataset.accounts, *sim.dataset.visitors])
    response = client_of(sim, sim.eu_key).get("page")
    assert (response.status_code, response.json()) == (400, {"message": WRONG_REGION_MESSAGE})
    assert api.error([source("pages", {"appId": UNKNOWN_APP_ID})]) == (400, f"unknown appId {UNKNOWN_APP_ID} for this subscription")
    assert not any(row["accountId"] is None for row in api.results([ts_source("events", {"appId": EXPAND_ALL})]))
    assert not set(ODD_VISITOR_IDS) & {row["visitorId"] for row in sim.dataset.visitors}
    assert sim.deleted_visitor_ids == frozenset() and sim.dataset.deleted_visitors == []


# 1. null_results


def test_null_results_for_an_empty_answer_only(simulators, client_of):
    sim = simulators("null_results")
    api = client_of(sim)
    empty = api.aggregate([source("accounts"), {"filter": 'accountId == "nobody"'}])
    assert empty.status_code == 200 and empty.json() == {"startTime": sim.clock_ms, "results": None}
    future = api.aggregate([{"source": {"events": None, "timeSeries": {"period": "dayRange", "first": CLOCK_START_MS + 30 * DAY, "count": 2}}}])
    assert future.json() == {"startTime": sim.clock_ms, "results": None}
    rows = api.aggregate([source("accounts"), {"limit": 5}])
    assert rows.headers["Transfer-Encoding"] == "chunked"  # still streamed when there are rows
    assert rows.json()["results"] == sim.dataset.accounts[:5]
    assert api.results([source("accounts"), {"count": None}]) == [{"count": len(sim.dataset.accounts)}]


# 2. nulls_last


def test_nulls_sort_last_ascending_and_first_descending(simulators, client_of):
    api = client_of(simulators("nulls_last"))
    select = {"select": {"p": "metadata.agent.planlevel", "s": "metadata.salesforce.sfdc_id"}}
    ascending = api.results([source("accounts"), {"sort": ["metadata.agent.planlevel"]}, select])
    descending = api.results([source("accounts"), {"sort": ["-metadata.agent.planlevel"]}, select])
    nulls = sum(row["p"] is None for row in ascending)
    assert 0 < nulls < len(ascending)
    assert all(row["p"] is None for row in ascending[-nulls:]) and all(row["p"] is not None for row in ascending[:-nulls])
    assert [row["p"] for row in ascending[:-nulls]] == sorted(row["p"] for row in ascending[:-nulls])
    assert all(row["p"] is None for row in descending[:nulls]) and [row["p"] for row in descending[nulls:]] == sorted((row["p"] for row in ascending[:-nulls]), reverse=True)
    # a missing field (accounts without salesforce data) sorts as null
    missing = [row["s"] for row in api.results([source("accounts"), {"sort": ["metadata.salesforce.sfdc_id"]}, select])]
    assert missing[-1] is None and missing[0] is not None


@pytest.mark.parametrize("operator", ["==", "!=", "<", "<=", ">", ">="])
def test_every_comparison_with_null_is_false(simulators, client_of, operator):
    sim = simulators("nulls_last")
    api = client_of(sim)
    with_plan = [row["accountId"] for row in sim.dataset.accounts if row["metadata"]["agent"]["planlevel"] is not None]
    without_plan = [row["accountId"] for row in sim.dataset.accounts if row["metadata"]["agent"]["planlevel"] is None]
    assert with_plan and without_plan

    def ids(expression):
        return {row["id"] for row in api.results([source("accounts"), {"filter": expression}, {"select": {"id": "accountId"}}])}

    for expression in (f"metadata.agent.planlevel {operator} null", f"null {operator} metadata.agent.planlevel", f"metadata.nothing.here {operator} 1"):
        assert ids(expression) == set(), expression
    assert not ids(f'metadata.agent.planlevel {operator} "pro"') & set(without_plan)
    assert ids('metadata.agent.planlevel != "pro"') == {row["accountId"] for row in sim.dataset.accounts if row["metadata"]["agent"]["planlevel"] not in ("pro", None)}


def test_nulls_last_gives_event_rows_null_account_ids(simulators, client_of):
    sim = simulators("nulls_last")
    api = client_of(sim)
    for name in ("events", "pageEvents", "guideEvents"):
        rows = api.results([ts_source(name, {"appId": EXPAND_ALL})])
        anonymous = [row for row in rows if row["visitorId"].startswith(ANONYMOUS_PREFIX)]
        assert anonymous and all(row["accountId"] is None for row in anonymous), name
        assert all(row["accountId"] for row in rows if not row["visitorId"].startswith(ANONYMOUS_PREFIX)), name
        assert rows == sim.event_rows(name, *WINDOW, EXPAND_ALL)
    ordered = api.results([ts_source("events", {"appId": EXPAND_ALL}), {"sort": ["accountId"]}, {"select": {"a": "accountId"}}])
    first_null = next(index for index, row in enumerate(ordered) if row["a"] is None)
    assert first_null > 0 and all(row["a"] is None for row in ordered[first_null:])


# 3. no_or_filter


@pytest.mark.parametrize(
    "expression, refused",
    [
        ('accountId == "a" || accountId == "b"', '"||" at position 17'),
        ("(metadata.auto.lastupdated > 5)", '"(" at position 0'),
        ('metadata.auto.lastupdated > 5 && (accountId == "a")', '"(" at position 33'),
        ("metadata.auto.lastupdated > 5)", '")" at position 29'),
    ],
)
def test_or_and_grouping_are_refused(simulators, client_of, expression, refused):
    api = client_of(simulators("no_or_filter"))
    status, message = api.error([source("accounts"), {"filter": expression}])
    assert status == 400 and message.startswith("bad pipeline: bad filter: ") and refused in message, message


def test_and_comparisons_and_string_literals_pass(simulators, client_of, api):
    refusing = client_of(simulators("no_or_filter"))
    odd_id = next(row["accountId"] for row in api.sim.dataset.accounts if row["accountId"] == 'quote"acct')
    pipelines = [
        [source("accounts"), {"filter": "metadata.auto.lastupdated >= 1700000000000 && metadata.auto.lastupdated <= 1790000000000"}],
        [source("accounts"), {"filter": 'accountId != "x || (y)"'}, {"count": None}],
        [source("accounts"), {"filter": f"accountId == {json.dumps(odd_id)}"}],
    ]
    for pipeline in pipelines:
        assert refusing.results(pipeline) == api.results(pipeline)
    assert api.results([source("accounts"), {"filter": 'accountId == "x" || (accountId != "x")'}, {"count": None}]) == [{"count": len(api.sim.dataset.accounts)}]


# 4. object_event_params


@pytest.mark.parametrize("name", ["featureEvents", "trackEvents"])
@pytest.mark.parametrize("params", [None, {"appId": DEFAULT_APP_ID}, {"appId": EXPAND_ALL}, {"appId": [DEFAULT_APP_ID, OTHER_APP_ID]}])
def test_feature_and_track_events_refuse_app_parameters(simulators, client_of, name, params):
    sim = simulators("object_event_params")
    status, message = client_of(sim).error([ts_source(name, params)])
    assert (status, message) == (400, f"bad pipeline: bad source: bad parameters for source type {name}: unexpected parameters")
    with pytest.raises(AggregationError, match="unexpected parameters"):
        sim.event_rows(name, *WINDOW, app_ids=None if params is None else params["appId"])


@pytest.mark.parametrize("name", ["featureEvents", "trackEvents"])
def test_per_object_queries_return_exactly_that_objects_rows(simulators, client_of, sim, api, name):
    """Queried object by object, the rows are exactly those of all apps at once (today's form)."""
    restricted = client_of(simulators("object_event_params"))
    parameter, kind = OBJECT_PARAMETERS[name]
    everything = api.results([ts_source(name, {"appId": EXPAND_ALL})])
    collected = []
    for row in sim.dataset.rows(kind):
        rows = restricted.results([ts_source(name, {parameter: row["id"]})])
        assert all(one[parameter] == row["id"] and one["appId"] == row["appId"] for one in rows)
        assert rows == restricted.sim.event_rows(name, *WINDOW, object_id=row["id"])
        collected += rows
    assert everything and canonical(collected) == canonical(everything)
    assert restricted.error([ts_source(name, {parameter: "no-such-object"})])[0] == 400
    assert restricted.aggregate([ts_source("pageEvents", {"appId": EXPAND_ALL})]).status_code == 200  # other sources unchanged


# 5. missing_lastupdated


@pytest.mark.parametrize("kind, id_field", [("accounts", "accountId"), ("visitors", "visitorId")])
def test_some_rows_have_no_lastupdated(simulators, client_of, kind, id_field):
    sim = simulators("missing_lastupdated")
    api = client_of(sim)
    rows = sim.dataset.rows(kind)
    missing = {row[id_field] for row in rows if "lastupdated" not in row["metadata"]["auto"]}
    assert 3 <= len(missing) and 0.05 <= len(missing) / len(rows) <= 0.15
    served = api.results([source(kind)])
    assert served == rows
    assert {row[id_field] for row in served if "lastupdated" not in row["metadata"]["auto"]} == missing
    with_time = api.results([source(kind), {"filter": "metadata.auto.lastupdated >= 0"}, {"select": {"id": id_field}}])
    assert {row["id"] for row in with_time} == {row[id_field] for row in rows} - missing
    if kind == "visitors":
        chosen = [row for row in rows if row[id_field] in missing]
        assert sum(not row[id_field].startswith(ANONYMOUS_PREFIX) for row in chosen) >= 2
        assert any(row["metadata"]["pendo"]["donotprocess"] for row in chosen)


# 6. wrong_region_401


def test_a_key_of_another_region_is_401(simulators, client_of):
    sim = simulators("wrong_region_401")
    foreign = client_of(sim, sim.eu_key)
    for response in (foreign.get("page"), foreign.aggregate([source("accounts")]), foreign.history("someone", starttime=CLOCK_START_MS)):
        assert (response.status_code, response.json()) == (401, {"message": WRONG_REGION_MESSAGE})
    assert client_of(sim, sim.revoked_key).get("page").status_code == 403
    assert client_of(sim).get("page").status_code == 200


# 7. odd_visitor_ids


def test_odd_visitor_ids_are_the_same_everywhere(simulators, client_of):
    sim = simulators("odd_visitor_ids")
    api = client_of(sim)
    odd = sim.odd_visitor_ids
    assert {"ana/b?c#d%e+f g", "josé müller", "訪問者-3"} <= odd
    served = {row["visitorId"]: row for row in api.results([source("visitors", {"identified": True})])}
    assert odd <= set(served) and all(served[visitor_id]["metadata"]["auto"]["id"] == visitor_id for visitor_id in odd)
    for name in ("events", "guideEvents"):
        seen = {row["visitorId"] for row in api.results([ts_source(name, {"appId": EXPAND_ALL})])}
        assert odd & seen, name
    assert odd <= {row["visitorId"] for row in api.results([ts_source("events", {"appId": EXPAND_ALL})])}
    for visitor_id in odd:
        start = visible_day_of(sim, visitor_id)
        response = api.history(visitor_id, starttime=start)  # one percent-encoded segment
        assert response.status_code == 200, (visitor_id, response.text)
        assert response.json() and response.json() == sim.events.history(visitor_id, start, sim.clock_ms)


def test_odd_visitor_ids_match_only_as_one_encoded_segment(simulators):
    sim = simulators("odd_visitor_ids")
    visitor_id = "ana/b?c#d%e+f g"
    start = visible_day_of(sim, visitor_id)
    encoded = quote(visitor_id, safe="")
    assert raw_get(sim, f"/api/v1/visitor/{encoded}/history?starttime={start}")[0] == 200
    for safe in ("/", "?", "#", "/?#"):
        status, body = raw_get(sim, f"/api/v1/visitor/{quote(visitor_id, safe=safe)}/history?starttime={start}")
        assert status == 404 and "message" in body, safe
    assert raw_get(sim, f"/api/v1/visitor/{quote(encoded, safe='')}/history?starttime={start}")[0] == 404  # encoded twice
    plus_and_percent = "50%25 off+more"
    start = visible_day_of(sim, plus_and_percent)
    assert raw_get(sim, f"/api/v1/visitor/{quote(plus_and_percent, safe='+')}/history?starttime={start}")[0] == 200  # "+" is a plus
    assert raw_get(sim, f"/api/v1/visitor/50%2525+off%2Bmore/history?starttime={start}")[0] == 404  # not a space
    assert raw_get(sim, f"/api/v1/visitor/50%25%20off%2Bmore/history?starttime={start}")[0] == 404  # decoded once, not twice


# 8. deleted_visitors


def test_deleted_visitors_keep_their_events_but_lose_row_and_history(simulators, client_of):
    sim = simulators("deleted_visitors")
    api = client_of(sim)
    deleted = sim.deleted_visitor_ids
    assert len(deleted) >= 2 and not any(visitor_id.startswith(ANONYMOUS_PREFIX) for visitor_id in deleted)
    served = {row["visitorId"] for row in api.results([source("visitors")])}
    assert not served & deleted and served == {row["visitorId"] for row in sim.dataset.visitors}
    assert {row["visitorId"] for row in sim.dataset.deleted_visitors} == deleted
    assert deleted <= {row["visitorId"] for row in api.results([ts_source("events", {"appId": EXPAND_ALL})])}
    for visitor_id in deleted:
        response = api.history(visitor_id, starttime=visible_day_of(sim, visitor_id))
        assert (response.status_code, response.json()) == (404, {"message": "visitor not found"})
    survivor = next(visitor_id for visitor_id in served if any(hit.visitor_id == visitor_id for hit in sim.events.hits))
    assert api.history(survivor, starttime=visible_day_of(sim, survivor)).status_code == 200


# 9. unknown_app_ignored


def test_an_unknown_app_id_matches_no_rows(simulators, client_of, api):
    sim = simulators("unknown_app_ignored")
    lenient = client_of(sim)
    for pipeline in ([source("pages", {"appId": UNKNOWN_APP_ID})], [source("accounts", {"appId": UNKNOWN_APP_ID})], [ts_source("pageEvents", {"appId": UNKNOWN_APP_ID})]):
        response = lenient.aggregate(pipeline)
        assert (response.status_code, response.json()["results"]) == (200, [])
    both = [source("features", {"appId": [DEFAULT_APP_ID, UNKNOWN_APP_ID]})]
    assert lenient.results(both) == api.results([source("features", {"appId": DEFAULT_APP_ID})])
    assert sim.event_rows("events", *WINDOW, UNKNOWN_APP_ID) == []
    assert lenient.error([source("pages", {"appId": "abc"})])[0] == 400  # not a number: still refused


# --- all at once -------------------------------------------------------------------


def test_all_variants_at_once(simulators, client_of):
    sim = simulators("all")
    api = client_of(sim)
    assert sim.variants == frozenset(VARIANTS) and sim.deleted_visitor_ids and sim.odd_visitor_ids
    assert api.aggregate([source("pages", {"appId": UNKNOWN_APP_ID})]).json() == {"startTime": sim.clock_ms, "results": None}
    assert api.error([source("accounts"), {"filter": "accountId == null || accountId != null"}])[1].startswith("bad pipeline: bad filter: ")
    assert api.error([ts_source("trackEvents", {"appId": EXPAND_ALL})])[0] == 400
    assert client_of(sim, sim.eu_key).get("page").status_code == 401
    assert any("lastupdated" not in row["metadata"]["auto"] for row in api.results([source("visitors")]))
    ordered = api.results([source("accounts"), {"sort": ["metadata.auto.lastupdated"]}])
    assert "lastupdated" not in ordered[-1]["metadata"]["auto"] and "lastupdated" in ordered[0]["metadata"]["auto"]
    visitor_id = "ana/b?c#d%e+f g"
    assert api.history(visitor_id, starttime=visible_day_of(sim, visitor_id)).status_code == 200
    gone = sorted(sim.deleted_visitor_ids)[0]
    assert api.history(gone, starttime=visible_day_of(sim, gone)).status_code == 404
    feature = sim.dataset.features[0]["id"]
    assert api.results([ts_source("featureEvents", {"featureId": feature})]) == sim.event_rows("featureEvents", *WINDOW, object_id=feature)
    assert api.error([ts_source("pageEvents"), {"group": {"group": ["day"]}}]) == (400, "bad pipeline: bad group: unsupported pipeline operator")


# --- command line --------------------------------------------------------------------


def test_command_line_variant_options():
    parser = argparse.ArgumentParser()
    add_simulator_options(parser, port=0)
    assert simulator_from(parser.parse_args([])).variants == frozenset()
    assert simulator_from(parser.parse_args(["--variant", "all"])).variants == frozenset(VARIANTS)
    assert simulator_from(parser.parse_args(["--variant", "nulls_last", "--variant", "deleted_visitors"])).variants == {"nulls_last", "deleted_visitors"}


def test_command_line_serves_variants():
    refused = subprocess.run([sys.executable, "-m", "integration_tests.pendo_simulator", "--variant", "nulls_first"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "nulls_first" in refused.stderr
    process = subprocess.Popen(
        [sys.executable, "-m", "integration_tests.pendo_simulator", "--port", "0", "--accounts", "4", "--visitors", "5", "--variant", "null_results", "--variant", "unknown_app_ignored"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        match = re.fullmatch(r"Pendo simulator listening on (http://127\.0\.0\.1:\d+/api/v1/) \(integration key: (\S+)\)\n", process.stdout.readline())
        assert match
        url, key = match.groups()
        body = {"request": {"pipeline": [source("pages", {"appId": UNKNOWN_APP_ID})]}}
        response = requests.post(url + "aggregation", json=body, headers={KEY_HEADER: key}, timeout=10)
        assert response.status_code == 200 and response.json()["results"] is None
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
