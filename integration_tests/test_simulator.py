"""Tests of the Pendo simulator itself, over real sockets."""
from __future__ import annotations

import copy
import http.client
import json
import re
import signal
import subprocess
import sys

import pytest
import requests

from integration_tests.pendo_simulator import PendoSimulator
from integration_tests.pendo_simulator.dataset import (
    ANONYMOUS_PREFIX,
    CLOCK_START_MS,
    DATA_START_MS,
    DEFAULT_APP_ID,
    Dataset,
)
from integration_tests.pendo_simulator.expressions import ExpressionError, compile_expression
from integration_tests.simulator_client import EXPAND_ALL, KEY_HEADER, OTHER_APP_ID, REPO_ROOT, PendoClient

REST_KINDS = {"page": "pages", "feature": "features", "guide": "guides", "report": "reports", "tracktype": "track_types", "segment": "segments"}
KIND_RANK = {type(None): 0, bool: 1, int: 2, float: 2, str: 3}


def source(name, params=None):
    return {"source": {name: params}}


# --- lifecycle, keys, auth -----------------------------------------------------


def test_url_keys_and_clock(sim):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1/", sim.url)
    assert sim.clock_ms == CLOCK_START_MS == 1793491200000
    eu_keys = [key for key, region in sim.keys.items() if region == "eu"]
    assert eu_keys == [sim.eu_key] and sim.eu_key.endswith(".eu")
    assert {sim.revoked_key, sim.read_only_key} <= set(sim.keys) and sim.api_key not in sim.keys


@pytest.mark.parametrize(
    "key_of, status, message",
    [
        (lambda sim: None, 401, "missing x-pendo-integration-key header"),
        (lambda sim: "sim-not-a-key", 401, "invalid integration key"),
        (lambda sim: sim.revoked_key, 403, "integration key has been revoked"),
        (lambda sim: sim.eu_key, 400, "invalid subscription or key for this region"),
    ],
)
def test_refused_keys(sim, api, key_of, status, message):
    key = key_of(sim)
    headers = {KEY_HEADER: key} if key else {}
    api.session.headers.pop(KEY_HEADER)
    for response in (
        api.get("page", headers=headers),
        api.get("metadata/schema/visitor", headers=headers),
        api.session.post(sim.url + "aggregation", json={"request": {"pipeline": [source("accounts")]}}, headers=headers, timeout=5),
    ):
        assert response.status_code == status
        assert response.json() == {"message": message}


def test_read_only_key_reads_rest_but_not_aggregation(sim):
    client = PendoClient(sim, sim.read_only_key)
    assert client.get("page").status_code == 200
    response = client.aggregate([source("accounts")])
    assert response.status_code == 403
    assert "Allow Write Access" in response.json()["message"]


def test_aggregation_requires_json_content_type(api):
    response = api.post(json.dumps({"request": {"pipeline": [source("accounts")]}}), content_type="text/plain")
    assert response.status_code == 415
    assert "application/json" in response.json()["message"]


def test_unknown_path_and_wrong_method(api, sim):
    for unknown in ("visitor/abc/activity", "visitor/abc", "visitors/abc/history", "pages"):
        response = api.get(unknown)
        assert response.status_code == 404 and "no such endpoint" in response.json()["message"]
    assert api.get("aggregation").status_code == 405
    assert api.session.post(sim.url + "page", timeout=5).status_code == 405


# --- REST endpoints ------------------------------------------------------------


@pytest.mark.parametrize("path, kind", REST_KINDS.items())
def test_rest_lists_default_app_unless_expanded(api, sim, path, kind):
    rows = sim.dataset.rows(kind)
    default_only = api.get(path)
    assert default_only.status_code == 200
    assert default_only.json() == [row for row in rows if row.get("appId") in (DEFAULT_APP_ID, None)]
    expanded = api.get(path, params={"expand": "*"}).json()
    assert expanded == rows
    assert {row["appId"] for row in expanded} >= {app["id"] for app in sim.dataset.apps}
    if kind in ("reports", "segments"):
        assert any(row["appId"] is None for row in default_only.json())


def test_schema_endpoints(api, sim):
    account_schema = api.get("metadata/schema/account").json()
    visitor_schema = api.get("metadata/schema/visitor").json()
    assert account_schema == sim.dataset.account_schema and visitor_schema == sim.dataset.visitor_schema
    assert set(account_schema) >= {"agent", "auto", "custom", "salesforce"}
    assert set(visitor_schema) >= {"agent", "auto", "custom", "pendo"}
    descriptor_keys = {"Type", "DisplayName", "ElementType", "ElementFormat", "Dirty", "isHidden", "isDeleted", "isCalculated", "isPerApp", "neverIndex"}
    for schema in (account_schema, visitor_schema):
        assert all(set(descriptor) == descriptor_keys for group in schema.values() for descriptor in group.values())
        assert {descriptor["Type"] for descriptor in schema["custom"].values()} == {"string", "time", "boolean", "integer", "float", "", "list"}
    assert "région" in account_schema["custom"]


# --- data ----------------------------------------------------------------------


def _conforms(value, field_type) -> bool:
    if value is None or field_type == "":
        return True
    checks = {
        "string": lambda: isinstance(value, str),
        "time": lambda: isinstance(value, int) and not isinstance(value, bool) and DATA_START_MS <= value < CLOCK_START_MS,
        "integer": lambda: isinstance(value, int) and not isinstance(value, bool),
        "float": lambda: isinstance(value, float) and not value.is_integer(),
        "boolean": lambda: isinstance(value, bool),
        "list": lambda: isinstance(value, list),
    }
    return checks[field_type]()


@pytest.mark.parametrize("kind, schema_name", [("accounts", "account_schema"), ("visitors", "visitor_schema")])
def test_metadata_matches_schema(sim, kind, schema_name):
    schema = getattr(sim.dataset, schema_name)
    nulls = 0
    for row in sim.dataset.rows(kind):
        for group, values in row["metadata"].items():
            fields = schema["auto" if group.startswith("auto__") else group]
            for name, value in values.items():
                assert name in fields, (group, name)
                assert _conforms(value, fields[name]["Type"]), (group, name, value)
        assert set(row["metadata"]["custom"]) == set(schema["custom"])
        nulls += sum(value is None for value in row["metadata"]["custom"].values())
    assert nulls > 0
    mixed = {type(row["metadata"]["custom"][name]) for row in sim.dataset.rows(kind) for name, field in schema["custom"].items() if field["Type"] == ""}
    assert {str, int, float, bool, type(None)} <= mixed


def test_integers_are_json_integers(api):
    text = api.get("page", params={"expand": "*"}).text + api.aggregate([source("accounts")]).text
    assert not re.search(r'"(idhash|seat_count|createdAt|lastUpdatedAt|lastupdated)":-?\d+\.\d', text)
    assert re.search(r'"arr_usd":\d+\.(25|5|75)\b', text)


def test_data_has_ties_unicode_escapes_and_anonymous_visitors(sim):
    data = sim.dataset
    account_ids = [row["accountId"] for row in data.accounts]
    visitor_ids = [row["visitorId"] for row in data.visitors]
    assert len(set(account_ids)) == len(account_ids) and len(set(visitor_ids)) == len(visitor_ids)
    assert account_ids != sorted(account_ids) and visitor_ids != sorted(visitor_ids)
    for ids in (account_ids, visitor_ids):
        assert any(not identifier.isascii() for identifier in ids)
        assert any('"' in identifier for identifier in ids) and any("\\" in identifier for identifier in ids)
    lastupdated = [row["metadata"]["auto"]["lastupdated"] for row in data.accounts + data.visitors]
    assert max(lastupdated.count(value) for value in set(lastupdated)) >= 24
    anonymous = sum(identifier.startswith(ANONYMOUS_PREFIX) for identifier in visitor_ids)
    assert 0.1 * len(visitor_ids) < anonymous < 0.3 * len(visitor_ids)
    assert any(any(ord(char) > 0xFFFF for char in row["name"]) for row in data.pages)  # emoji
    assert [app["id"] for app in data.apps][0] == DEFAULT_APP_ID and all(0 < app["id"] < 2**53 for app in data.apps[1:])
    for row in data.pages + data.features + data.guides + data.track_types + data.reports + data.segments:
        assert isinstance(row["id"], str)
        assert DATA_START_MS <= row["createdAt"] <= row["lastUpdatedAt"] < CLOCK_START_MS


def test_same_seed_same_data():
    first, second, other = Dataset(seed=7), Dataset(seed=7), Dataset(seed=8)
    kinds = ("accounts", "visitors", "pages", "features", "guides", "track_types", "reports", "segments")
    assert all(first.rows(kind) == second.rows(kind) for kind in kinds)
    assert first.account_schema == second.account_schema
    assert first.accounts != other.accounts and first.pages != other.pages
    scaled = Dataset(accounts=3, visitors=1000, objects_per_app=2)
    assert (len(scaled.accounts), len(scaled.visitors), len(scaled.pages)) == (3, 1000, 6)


# --- filter expressions --------------------------------------------------------

ROW = {"a": 1, "b": 2.5, "s": "héllo", "q": 'say "hi"', "back": "C:\\tmp", "emoji": "🚀", "n": None, "t": True, "nested": {"x": {"y": "deep"}}}


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("true || false && false", True),  # && binds tighter than ||
        ("(true || false) && false", False),
        ("!false == true", True),  # ! binds tighter than ==
        ("!(a == 1)", False),
        ("a == 1 && b > 2 && b <= 2.5", True),
        ("-a < 0 && a > -1.5 && --a == 1", True),
        ("a == 1.0 && 1e0 == a", True),
        (r's == "h\u00e9llo"', True),
        ('s == "héllo"', True),
        (r'q == "say \"hi\""', True),
        (r'back == "C:\\tmp"', True),
        (r'emoji == "\ud83d\ude80"', True),
        ('nested.x.y == "deep"', True),
        ("missing.path == null && nested.x.y.z == null && a.b == null", True),
        ("n == null", True),
        ("n != null", False),
        ("n < 1 || n > 1 || n <= 1 || n >= 1 || 1 > n", False),
        ('"1" < 2 || "1" > 2 || "1" == 1', False),
        ('"1" != 1 && t != 1', True),
        ('"Z" < "a" && "é" > "z" && "a" < "aa"', True),  # code-point order
        ("a && t && !n && !missing", True),
        ('"" || 0 || null', False),
    ],
)
def test_expression_evaluation(expression, expected):
    assert compile_expression(expression)(ROW) is expected


@pytest.mark.parametrize(
    "expression",
    ["", "   ", "a ==", "(a == 1", "a == 1)", "a = 1", "a & b", "a | b", '"unterminated', r'a == "\q"', "a == 1 == 1", "1abc", "a..b", "a.", "isNull(a)", "&& a", "a b", "a == #"],
)
def test_expression_syntax_errors(expression):
    with pytest.raises(ExpressionError, match="position"):
        compile_expression(expression)


def test_filter_syntax_error_is_400(api):
    status, message = api.error([source("accounts"), {"filter": "accountId == 'x'"}])
    assert status == 400 and "invalid filter expression" in message and "position 13" in message
    status, message = api.error([source("accounts"), {"filter": 42}])
    assert status == 400


@pytest.mark.parametrize("ascii_only", [True, False])
def test_filter_finds_ids_needing_escapes(api, sim, ascii_only):
    for visitor_id in ("josé.garcía@example.com", 'say "hi"', "DOMAIN\\jdoe", "李雷", "dev-👩‍💻"):
        literal = json.dumps(visitor_id, ensure_ascii=ascii_only)
        rows = api.results([source("visitors"), {"filter": f"visitorId == {literal}"}], ascii_only=ascii_only)
        assert [row["visitorId"] for row in rows] == [visitor_id]


# --- sort and keyset paging ----------------------------------------------------


def test_sort_is_a_total_order_across_kinds(api, sim):
    rows = api.results([source("accounts"), {"sort": ["metadata.custom.csm_notes", "-accountId"]}, {"select": {"notes": "metadata.custom.csm_notes", "id": "accountId"}}])
    keys = [(KIND_RANK[type(row["notes"])], row["notes"]) for row in rows]
    assert keys == sorted(keys)
    assert [rank for rank, _ in keys][0] == 0 and [rank for rank, _ in keys][-1] == 3
    for previous, current in zip(rows, rows[1:]):
        if previous["notes"] == current["notes"] and type(previous["notes"]) is type(current["notes"]):
            assert previous["id"] > current["id"]  # ties fall back to the descending second key
    assert len(rows) == len(sim.dataset.accounts)


def test_sort_descending_with_ties(api, sim):
    rows = api.results([source("visitors"), {"sort": ["-metadata.auto.lastupdated", "visitorId"]}])
    keys = [(-row["metadata"]["auto"]["lastupdated"], row["visitorId"]) for row in rows]
    assert keys == sorted(keys) and len(keys) == len(sim.dataset.visitors)


def _keyset_read(api, first_stage, time_path, id_field, page_size, ascii_only=True):
    seen, last = [], None
    while True:
        pipeline = [first_stage]
        if last is not None:
            time, identifier = last
            literal = json.dumps(identifier, ensure_ascii=ascii_only)
            pipeline.append({"filter": f"{time_path} > {time} || ({time_path} == {time} && {id_field} > {literal})"})
        pipeline += [{"sort": [time_path, id_field]}, {"limit": page_size}, {"select": {"t": time_path, "id": id_field}}]
        rows = api.results(pipeline, ascii_only=ascii_only)
        seen += [row["id"] for row in rows]
        if len(rows) < page_size:
            return seen
        last = (rows[-1]["t"], rows[-1]["id"])


def test_keyset_paging_reaches_every_account_once(api, sim):
    ids = _keyset_read(api, source("accounts"), "metadata.auto.lastupdated", "accountId", 7)
    assert len(ids) == len(set(ids)) == len(sim.dataset.accounts)
    assert set(ids) == {row["accountId"] for row in sim.dataset.accounts}


def test_keyset_paging_reaches_every_visitor_once_with_raw_utf8(api, sim):
    ids = _keyset_read(api, source("visitors"), "metadata.auto.lastupdated", "visitorId", 13, ascii_only=False)
    assert sorted(ids) == sorted(row["visitorId"] for row in sim.dataset.visitors)


def test_keyset_paging_over_objects_of_all_apps(api, sim):
    ids = _keyset_read(api, source("pages", {"appId": EXPAND_ALL}), "lastUpdatedAt", "id", 5)
    assert sorted(ids) == sorted(row["id"] for row in sim.dataset.pages)


# --- other operators -----------------------------------------------------------


def test_skip_limit_select_count(api, sim):
    ordered = sorted(row["accountId"] for row in sim.dataset.accounts)
    rows = api.results([source("accounts"), {"sort": ["accountId"]}, {"skip": 5}, {"limit": 10}, {"select": {"id": "accountId", "lastVisit": "metadata.auto.lastvisit", "nothing": "no.such.field"}}])
    assert [row["id"] for row in rows] == ordered[5:15]
    by_id = {row["accountId"]: row for row in sim.dataset.accounts}
    assert all(set(row) == {"id", "lastVisit", "nothing"} and row["nothing"] is None for row in rows)
    assert all(row["lastVisit"] == by_id[row["id"]]["metadata"]["auto"]["lastvisit"] for row in rows)
    assert api.results([source("accounts"), {"limit": 0}]) == []
    assert api.results([source("accounts"), {"count": None}]) == [{"count": len(sim.dataset.accounts)}]
    paying = sum(row["metadata"]["custom"]["is_paying"] is True for row in sim.dataset.accounts)
    assert api.results([source("accounts"), {"filter": "metadata.custom.is_paying == true"}, {"count": None}]) == [{"count": paying}]


def test_identified_operator_and_source_parameter(api, sim):
    identified = [row["visitorId"] for row in sim.dataset.visitors if not row["visitorId"].startswith(ANONYMOUS_PREFIX)]
    assert [row["visitorId"] for row in api.results([source("visitors"), {"identified": "visitorId"}])] == identified
    assert [row["visitorId"] for row in api.results([source("visitors", {"identified": True})])] == identified
    assert len(api.results([source("visitors", {"identified": False})])) == len(sim.dataset.visitors)


@pytest.mark.parametrize(
    "stage, fragment",
    [
        ({"limit": -1}, "non-negative integer"),
        ({"limit": "5"}, "non-negative integer"),
        ({"skip": 1.5}, "non-negative integer"),
        ({"limit": True}, "non-negative integer"),
        ({"sort": "accountId"}, "sort takes"),
        ({"sort": ["-"]}, "sort takes"),
        ({"select": []}, "select takes"),
        ({"identified": 1}, "identified takes"),
        ({"count": 1}, "count takes null"),
        ({"frobnicate": None}, "unknown operator 'frobnicate'"),
        ({"unwind": {}}, "not supported by the simulator"),
        ({"limit": 1, "skip": 1}, "exactly one operator"),
        (source("accounts"), "only allowed as the first stage"),
    ],
)
def test_bad_operator_arguments_are_400(api, stage, fragment):
    status, message = api.error([source("accounts"), stage])
    assert status == 400 and fragment in message


# --- sources and appId ---------------------------------------------------------


@pytest.mark.parametrize("name, kind", [("pages", "pages"), ("features", "features"), ("guides", "guides"), ("trackTypes", "track_types")])
def test_object_sources_and_app_ids(api, sim, name, kind):
    rows = sim.dataset.rows(kind)
    all_ids = [app["id"] for app in sim.dataset.apps]

    def app_ids_of(params):
        return {row["appId"] for row in api.results([source(name, params)])}

    assert app_ids_of(None) == {DEFAULT_APP_ID} == app_ids_of({"appId": None})
    assert app_ids_of({"appId": OTHER_APP_ID}) == {OTHER_APP_ID}
    assert app_ids_of({"appId": all_ids[1:]}) == set(all_ids[1:])
    assert app_ids_of({"appId": EXPAND_ALL}) == set(all_ids)
    assert api.results([source(name, {"appId": EXPAND_ALL})]) == rows


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"appId": 12345}, "unknown appId 12345"),
        ({"appId": [DEFAULT_APP_ID, 999]}, "unknown appId 999"),
        ({"appId": "abc"}, "bad parameters for source type pages"),
        ({"appId": []}, "bad parameters"),
        ({"appId": True}, "bad parameters"),
        ({"pageId": "x"}, "bad parameters for source type pages"),
        ("oops", "bad parameters"),
    ],
)
def test_bad_app_ids_are_400(api, params, fragment):
    status, message = api.error([source("pages", params)])
    assert status == 400 and fragment in message


def test_accounts_source_by_app(api, sim):
    expected = [row["accountId"] for row in sim.dataset.accounts if f"auto__{OTHER_APP_ID}" in row["metadata"]]
    assert 0 < len(expected) < len(sim.dataset.accounts)
    assert [row["accountId"] for row in api.results([source("accounts", {"appId": OTHER_APP_ID})])] == expected
    assert len(api.results([source("accounts")])) == len(sim.dataset.accounts)


@pytest.mark.parametrize(
    "body, status, fragment",
    [
        ({"request": {}}, 422, "request.pipeline is required"),
        ({"response": {"mimeType": "application/json"}}, 422, "request.pipeline is required"),
        ({"request": {"pipeline": []}}, 400, "non-empty list"),
        ({"request": {"pipeline": [{"limit": 1}]}}, 400, "first pipeline stage"),
        ({"request": {"pipeline": [source("pageViews")]}}, 400, "unknown source type 'pageViews'"),
        ({"request": {"pipeline": [source("pageEvents")]}}, 400, "no period specified for time series source"),
        ({"request": {"pipeline": [source("visitors", {"foo": 1})]}}, 400, "bad parameters for source type visitors"),
        ({"request": {"pipeline": [source("visitors", {"identified": "yes"})]}}, 400, "bad parameters for source type visitors"),
        ({"request": {"pipeline": [{"source": {"accounts": None, "timeSeries": {}}}]}}, 400, "does not take a timeSeries"),
        ({"request": {"pipeline": [{"source": {"accounts": None, "visitors": None}}]}}, 400, "exactly one source type"),
        ({"response": {"mimeType": "text/csv"}, "request": {"pipeline": [source("accounts")]}}, 400, "mimeType"),
        ([1, 2], 400, "JSON object"),
    ],
)
def test_malformed_requests(api, body, status, fragment):
    response = api.post(json.dumps(body))
    assert response.status_code == status and fragment in response.json()["message"]


def test_unparsable_body_is_400(api):
    response = api.post('{"request": {"pipeline": [')
    assert response.status_code == 400 and "not valid JSON" in response.json()["message"]


# --- HTTP behaviour and request log --------------------------------------------


def test_request_log(api, sim):
    api.get("page", params={"expand": "*"})
    api.aggregate([source("accounts"), {"limit": 1}])
    get, post = sim.requests
    assert (get["method"], get["path"], get["query"], get["body"], get["status"], get["fault"]) == ("GET", "/api/v1/page", {"expand": "*"}, None, 200, None)
    assert get["headers"][KEY_HEADER] == sim.api_key
    assert post["body"]["request"]["requestId"] == "simulator-test" and post["headers"]["content-type"] == "application/json"
    sim.clear_requests()
    assert sim.requests == []


def test_responses_are_chunked_and_connections_kept_alive(sim):
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    try:
        connection.request("GET", "/api/v1/page?expand=*", headers={KEY_HEADER: sim.api_key})
        response = connection.getresponse()
        assert response.getheader("Transfer-Encoding") == "chunked"
        assert len(json.loads(response.read())) == len(sim.dataset.pages)
        first_socket = connection.sock
        connection.request("GET", "/api/v1/nope", headers={KEY_HEADER: sim.api_key})
        response = connection.getresponse()
        assert response.status == 404 and response.getheader("Content-Length")
        response.read()
        body = json.dumps({"request": {"pipeline": [source("visitors")]}})
        connection.request("POST", "/api/v1/aggregation", body=body, headers={KEY_HEADER: sim.api_key, "Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200 and len(json.loads(response.read())["results"]) == len(sim.dataset.visitors)
        assert connection.sock is first_socket
    finally:
        connection.close()


def test_aggregation_answer_shape(api, sim):
    body = api.aggregate([source("visitors")]).json()
    assert body == {"startTime": sim.clock_ms, "results": sim.dataset.visitors}


# --- faults --------------------------------------------------------------------


def test_status_fault_with_retry_after_then_recovery(api, sim):
    rule = sim.faults.add("status", path="aggregation", status=429, retry_after=3)
    first = api.aggregate([source("accounts")])
    assert first.status_code == 429 and first.headers["Retry-After"] == "3" and "message" in first.json()
    assert api.aggregate([source("accounts")]).status_code == 200
    assert rule.spent and rule.hits == 1
    assert [(entry["status"], entry["fault"]) for entry in sim.requests] == [(429, "status"), (200, None)]


def test_html_status_fault(api, sim):
    sim.faults.add("status", status=502, html=True, times=2)
    for _ in range(2):
        response = api.get("page")
        assert response.status_code == 502 and response.headers["Content-Type"].startswith("text/html")
        assert "<h1>502 Bad Gateway</h1>" in response.text and "Retry-After" not in response.headers
    assert api.get("page").status_code == 200


def test_faults_match_path_and_source(api, sim):
    sim.faults.add("status", source="visitors", status=500, times=None)
    sim.faults.add("status", path="/feature", status=503, times=None)
    assert api.aggregate([source("accounts")]).status_code == 200
    assert api.aggregate([source("visitors")]).status_code == 500
    assert api.aggregate([source("visitors")]).status_code == 500
    assert api.get("page").status_code == 200
    assert api.get("feature").status_code == 503
    sim.faults.clear()
    assert api.aggregate([source("visitors")]).status_code == 200


def test_a_fault_can_start_after_some_requests_went_through(api, sim):
    sim.faults.add("status", source="visitors", status=500, times=2, after=2)
    assert [api.aggregate([source("visitors")]).status_code for _ in range(5)] == [200, 200, 500, 500, 200]


def test_reset_fault(api, sim):
    sim.faults.add("reset", path="page")
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get("page")
    assert sim.requests[-1]["fault"] == "reset" and sim.requests[-1]["status"] is None
    assert api.get("page").status_code == 200


def _read_until_failure(response) -> bytes:
    received = []
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        for chunk in response.iter_content(chunk_size=256):
            received.append(chunk)
    return b"".join(received)


def test_reset_mid_body_fault(api, sim):
    sim.faults.add("reset_mid_body", source="accounts", after_rows=3)
    response = api.aggregate([source("accounts")], stream=True)
    assert response.status_code == 200
    received = _read_until_failure(response)
    full = json.dumps({"startTime": sim.clock_ms, "results": sim.dataset.accounts}, ensure_ascii=False, separators=(",", ":")).encode()
    assert full.startswith(received)
    assert len(received) < len(full)
    assert sim.requests[-1]["fault"] == "reset_mid_body"


def test_truncate_fault(api, sim):
    sim.faults.add("truncate", path="guide")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get("guide")
    sim.faults.add("truncate", path="guide", keep_fraction=0.25)
    response = api.get("guide", stream=True)
    received = _read_until_failure(response)
    assert 0 < len(received) < int(response.headers["Content-Length"])


def test_invalid_json_fault_sends_real_rows_then_a_row_that_is_not_json(api, sim):
    sim.faults.add("invalid_json", source="accounts", after_rows=2)
    response = api.aggregate([source("accounts")])
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    two_rows = json.dumps({"startTime": sim.clock_ms, "results": sim.dataset.accounts[:2]}, ensure_ascii=False, separators=(",", ":")).encode()[:-2]
    assert response.content == two_rows + b',{"id":oops'


def test_missing_results_fault(api, sim):
    sim.faults.add("missing_results")
    body = api.aggregate([source("accounts")]).json()
    assert body == {"startTime": sim.clock_ms}


def test_slow_fault_trips_read_timeout(api, sim):
    sim.faults.add("slow", path="aggregation", delay=2.0)
    with pytest.raises((requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError), match="timed out"):
        api.aggregate([source("accounts")], timeout=(5, 0.1))
    sim.faults.add("slow", path="page", delay=0.02, rows_per_chunk=10)
    assert api.get("page", params={"expand": "*"}).json() == sim.dataset.pages


def test_stall_fault_sends_some_rows_then_nothing_until_the_client_times_out(api, sim):
    sim.faults.add("stall", source="accounts", after_rows=2, seconds=30)
    response = api.aggregate([source("accounts")], stream=True, timeout=(5, 0.2))
    assert response.status_code == 200
    received = _read_until_failure(response)
    full = json.dumps({"startTime": sim.clock_ms, "results": sim.dataset.accounts}, ensure_ascii=False, separators=(",", ":")).encode()
    prefix_and_two_rows = json.dumps({"startTime": sim.clock_ms, "results": sim.dataset.accounts[:2]}, ensure_ascii=False, separators=(",", ":")).encode()[:-2]
    assert received == prefix_and_two_rows and full.startswith(received)
    sim.faults.add("stall", path="metadata/schema/account", seconds=0.05)
    assert api.get("metadata/schema/account").json() == sim.dataset.account_schema


def test_bad_fault_definitions_are_refused(sim):
    for kind, params in [("bogus", {}), ("status", {}), ("status", {"status": 200}), ("reset", {"after_rows": 1}), ("truncate", {"keep_fraction": 1}), ("stall", {"seconds": 0})]:
        with pytest.raises(ValueError):
            sim.faults.add(kind, **params)
    with pytest.raises(ValueError):
        sim.faults.add("reset", times=0)


def _outcomes(api, count):
    outcomes = []
    for _ in range(count):
        try:
            response = api.get("feature")
            response.json()
            outcomes.append(response.status_code)
        except requests.exceptions.RequestException as error:
            outcomes.append(type(error).__name__)
    return outcomes


def test_random_faults_are_deterministic(api, sim):
    sim.faults.random(rate=0.3, seed=5, kinds=["status", "reset", "truncate", "invalid_json", "reset_mid_body"])
    first = _outcomes(api, 40)
    first_log = [entry["fault"] for entry in sim.requests]
    sim.faults.random(rate=0.3, seed=5, kinds=["status", "reset", "truncate", "invalid_json", "reset_mid_body"])
    assert _outcomes(api, 40) == first
    mode = sim.faults.random(rate=0.3, seed=6)
    _outcomes(api, 40)
    assert 4 <= sum(kind is not None for kind in first_log) <= 20
    assert len({kind for kind in first_log if kind}) >= 3
    assert mode.seen == 40 and 0 < mode.faulted < 40
    sim.faults.clear()
    assert _outcomes(api, 3) == [200, 200, 200]


# --- clock and touch -----------------------------------------------------------


@pytest.fixture
def small_sim():
    with PendoSimulator(seed=11, accounts=30, visitors=40, objects_per_app=4) as simulator:
        yield simulator


def test_touch_changes_exactly_the_returned_rows(small_sim):
    sim = small_sim
    api = PendoClient(sim)
    now = sim.advance(90_000)
    assert now == sim.clock_ms == CLOCK_START_MS + 90_000
    for kind, id_field, time_of in [
        ("accounts", "accountId", lambda row: row["metadata"]["auto"]["lastupdated"]),
        ("visitors", "visitorId", lambda row: row["metadata"]["auto"]["lastupdated"]),
        ("pages", "id", lambda row: row["lastUpdatedAt"]),
        ("features", "id", lambda row: row["lastUpdatedAt"]),
        ("guides", "id", lambda row: row["lastUpdatedAt"]),
        ("track_types", "id", lambda row: row["lastUpdatedAt"]),
    ]:
        before = {row[id_field]: copy.deepcopy(row) for row in sim.dataset.rows(kind)}
        touched = sim.touch(kind, 3)
        assert len(set(touched)) == 3
        for row in sim.dataset.rows(kind):
            if row[id_field] in touched:
                assert time_of(row) == now and row != before[row[id_field]]
                if kind not in ("accounts", "visitors"):
                    assert row["name"] != before[row[id_field]]["name"]
            else:
                assert row == before[row[id_field]]
    time_path = "metadata.auto.lastupdated"
    fresh = api.results([source("accounts"), {"filter": f"{time_path} >= {now}"}, {"select": {"id": "accountId"}}])
    assert {row["id"] for row in fresh} == {row["accountId"] for row in sim.dataset.accounts if row["metadata"]["auto"]["lastupdated"] == now}
    assert api.aggregate([source("accounts"), {"limit": 1}]).json()["startTime"] == now
    with pytest.raises(ValueError):
        sim.advance(-1)


def test_touch_is_deterministic():
    first, second = PendoSimulator(seed=3), PendoSimulator(seed=3)
    assert [first.touch("visitors", 4), first.touch("pages", 2)] == [second.touch("visitors", 4), second.touch("pages", 2)]
    assert first.dataset.visitors == second.dataset.visitors


# --- command line --------------------------------------------------------------


def test_command_line_serves_until_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "integration_tests.pendo_simulator", "--port", "0", "--accounts", "4", "--visitors", "5", "--objects-per-app", "2"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        match = re.fullmatch(r"Pendo simulator listening on (http://127\.0\.0\.1:\d+/api/v1/) \(integration key: (\S+)\)\n", line)
        assert match, line
        url, key = match.groups()
        response = requests.get(url + "page", params={"expand": "*"}, headers={KEY_HEADER: key}, timeout=5)
        assert response.status_code == 200 and len(response.json()) == 6
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
