import pytest
import requests

from airbyte_cdk.models import FailureType

from source_pendo.check import diagnose


def check_connection(config):
    problem = diagnose(config)
    return (False, problem.message) if problem else (True, None)

from .conftest import API_ROOT

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


def test_unknown_app_ids(requests_mock, make_config):
    requests_mock.get(SCHEMA, json={})
    requests_mock.post(AGGREGATION, status_code=400, json={"message": "unknown app 42"})
    ok, message = check_connection(make_config(app_ids=[42]))
    assert not ok and "[42]" in message and "unknown app 42" in message


def test_unreachable_host_is_not_a_config_problem(requests_mock, make_config):
    requests_mock.get(SCHEMA, exc=requests.exceptions.ConnectionError("refused"))
    problem = diagnose(make_config())
    assert "Could not connect to Pendo at pendo.test" in problem.message
    assert problem.failure_type == FailureType.transient_error


def test_pendo_down_is_not_a_config_problem(requests_mock, make_config):
    requests_mock.get(SCHEMA, status_code=503, text="<html>down</html>")
    assert diagnose(make_config()).failure_type == FailureType.transient_error
