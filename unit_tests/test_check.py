import socket
import ssl

import pytest
import requests

from airbyte_cdk.models import FailureType

from source_pendo.check import diagnose


from .conftest import API_ROOT


def check_connection(config):
    problem = diagnose(config)
    return (False, problem.message) if problem else (True, None)

SCHEMA = API_ROOT + "metadata/schema/visitor"
AGGREGATION = API_ROOT + "aggregation"


def test_good_key_passes(requests_mock, make_config):
    requests_mock.get(SCHEMA, json={})
    requests_mock.post(AGGREGATION, json={"results": [{"count": 3}]})
    assert check_connection(make_config()) == (True, None)
    assert requests_mock.request_history[0].headers["x-pendo-integration-key"] == "unit-key"


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key(requests_mock, make_config, status):
    requests_mock.get(SCHEMA, status_code=status, json={"message": "nope"})
    ok, message = check_connection(make_config())
    assert not ok and "Integration Keys" in message and "unit-key" not in message


def test_read_only_key_is_told_about_write_access(requests_mock, make_config):
    requests_mock.get(SCHEMA, json={})
    requests_mock.post(AGGREGATION, status_code=403, json={"message": "forbidden"})
    ok, message = check_connection(make_config())
    assert not ok and "Allow Write Access" in message


def test_key_of_another_region_names_the_region_from_its_suffix(requests_mock, make_config):
    requests_mock.get(SCHEMA, status_code=400, json={"message": "bad key"})
    ok, message = check_connection(make_config(api_key="abc.eu"))
    assert not ok and "set 'Region' to EU" in message


def test_key_of_another_region_without_suffix_explains_how_to_find_the_region(requests_mock, make_config):
    requests_mock.get(SCHEMA, status_code=400, json={"message": "bad key"})
    ok, message = check_connection(make_config())
    assert not ok and "app.eu.pendo.io = EU" in message


def test_unknown_app_ids_refused_by_pendo(requests_mock, make_config):
    requests_mock.get(SCHEMA, json={})
    requests_mock.post(AGGREGATION, status_code=400, json={"message": "unknown appId 42 for this subscription"})
    ok, message = check_connection(make_config(app_ids=[42]))
    assert not ok and message.startswith("Pendo refused the request (HTTP 400: unknown appId 42") and "Check 'App IDs'" in message
    assert "Region" not in message


@pytest.mark.parametrize(
    "pendo_says, hint",
    [
        ("bad pipeline: bad source: bad parameters for source type featureEvents: unexpected parameters", "refused a parameter"),
        ("bad pipeline: bad filter: unexpected token '||'", "refused a filter"),
    ],
)
def test_a_400_leads_with_pendos_words_and_a_hint_chosen_by_them(requests_mock, make_config, pendo_says, hint):
    requests_mock.get(SCHEMA, json={})
    requests_mock.post(AGGREGATION, status_code=400, json={"message": pendo_says})
    ok, message = check_connection(make_config())
    assert not ok and message.startswith(f"Pendo refused the request (HTTP 400: {pendo_says})") and hint in message
    assert "Region" not in message and "App IDs" not in message


OTHER_REGIONS = {"US": "https://app.pendo.io/api/v1/", "EU": "https://eu.test/api/v1/", "JP": "https://jp.test/api/v1/"}


def regional_config(make_config, **overrides):
    return make_config(base_url=None, **overrides)


@pytest.mark.parametrize("status, pendo_says", [(400, "invalid subscription or key for this region"), (401, "invalid integration key"), (403, "forbidden")])
def test_check_names_the_region_whose_host_accepts_the_key(requests_mock, make_config, status, pendo_says):
    requests_mock.get(OTHER_REGIONS["US"] + "metadata/schema/visitor", status_code=status, json={"message": pendo_says})
    requests_mock.get(OTHER_REGIONS["EU"] + "metadata/schema/visitor", json={})
    requests_mock.get(OTHER_REGIONS["JP"] + "metadata/schema/visitor", status_code=401, json={"message": "invalid integration key"})
    problem = diagnose(regional_config(make_config), OTHER_REGIONS)
    assert "This key belongs to region EU: set 'Region' to EU." in problem.message and "integration key" in problem.message
    assert problem.failure_type == FailureType.config_error
    assert all(r.headers["x-pendo-integration-key"] == "unit-key" for r in requests_mock.request_history)


def test_a_key_no_region_accepts_is_told_to_check_the_key(requests_mock, make_config):
    requests_mock.get(OTHER_REGIONS["US"] + "metadata/schema/visitor", status_code=401, json={"message": "invalid integration key"})
    requests_mock.get(OTHER_REGIONS["EU"] + "metadata/schema/visitor", exc=requests.exceptions.ConnectTimeout)
    requests_mock.get(OTHER_REGIONS["JP"] + "metadata/schema/visitor", status_code=401, json={"message": "invalid integration key"})
    problem = diagnose(regional_config(make_config), OTHER_REGIONS)
    assert "Pendo rejected the integration key (HTTP 401)" in problem.message and "Integration Keys" in problem.message
    assert problem.failure_type == FailureType.config_error


def test_a_bare_400_is_not_called_a_region_problem_and_probes_nothing(requests_mock, make_config):
    requests_mock.get(OTHER_REGIONS["US"] + "metadata/schema/visitor", status_code=400, json={"message": "request body is empty"})
    problem = diagnose(regional_config(make_config), OTHER_REGIONS)
    assert problem.message.startswith("Pendo refused the request (HTTP 400: request body is empty)") and "Region" not in problem.message
    assert len(requests_mock.request_history) == 1


def test_a_custom_base_url_is_never_swapped_for_pendos_hosts(requests_mock, make_config):
    requests_mock.get(SCHEMA, status_code=401, json={"message": "invalid integration key"})
    problem = diagnose(make_config(), OTHER_REGIONS)
    assert "Integration Keys" in problem.message and [r.url for r in requests_mock.request_history] == [SCHEMA]


def connection_error(cause: BaseException) -> requests.exceptions.ConnectionError:
    error = requests.exceptions.SSLError("failed") if isinstance(cause, ssl.SSLError) else requests.exceptions.ConnectionError("failed")
    error.__cause__ = cause
    return error


UNREACHABLE = {
    "refused": (ConnectionRefusedError(111, "Connection refused"), "the connection was refused"),
    "dns": (socket.gaierror(-2, "Name or service not known"), "could not be resolved (DNS"),
    "tls": (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "secure (TLS) connection failed"),
}


@pytest.mark.parametrize("cause, words", UNREACHABLE.values(), ids=UNREACHABLE.keys())
def test_an_unreachable_base_url_is_the_users_to_fix(requests_mock, make_config, cause, words):
    requests_mock.get(SCHEMA, exc=connection_error(cause))
    problem = diagnose(make_config())
    assert problem.message.startswith("Could not connect to Pendo at pendo.test: ") and words in problem.message
    assert "API base URL" in problem.message and problem.failure_type == FailureType.config_error


@pytest.mark.parametrize("cause, words", UNREACHABLE.values(), ids=UNREACHABLE.keys())
def test_pendos_own_host_unreachable_is_transient(requests_mock, make_config, cause, words):
    requests_mock.get(OTHER_REGIONS["US"] + "metadata/schema/visitor", exc=connection_error(cause))
    problem = diagnose(regional_config(make_config), OTHER_REGIONS)
    assert problem.message.startswith("Could not connect to Pendo at app.pendo.io: ") and words in problem.message
    assert problem.failure_type == FailureType.transient_error


def test_pendo_down_is_not_a_config_problem(requests_mock, make_config):
    requests_mock.get(SCHEMA, status_code=503, text="<html>down</html>")
    assert diagnose(make_config()).failure_type == FailureType.transient_error


def test_a_passing_5xx_is_retried_twice_quickly_then_check_goes_on(requests_mock, make_config, slept):
    requests_mock.get(SCHEMA, [{"status_code": 503, "text": "busy"}, {"status_code": 502, "text": "busy"}, {"json": {}}])
    requests_mock.post(AGGREGATION, json={"results": [{"count": 3}]})
    assert diagnose(make_config()) is None
    assert [r.method for r in requests_mock.request_history] == ["GET", "GET", "GET", "POST"]
    assert slept == [1, 2]


def test_pendo_still_down_after_two_quick_retries_is_told_with_its_status(requests_mock, make_config, slept):
    requests_mock.get(SCHEMA, status_code=503, text="<html>down</html>")
    problem = diagnose(make_config())
    assert problem.message.startswith("Pendo at pendo.test answered HTTP 503") and problem.failure_type == FailureType.transient_error
    assert requests_mock.call_count == 3 and slept == [1, 2]


def test_an_unreachable_base_url_is_told_at_once(requests_mock, make_config, slept):
    requests_mock.get(SCHEMA, exc=connection_error(ConnectionRefusedError(111, "Connection refused")))
    assert diagnose(make_config()).failure_type == FailureType.config_error
    assert requests_mock.call_count == 1 and slept == []
