from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_pendo.config import ALL_APPS, DEFAULT_START_DAYS, PendoConfig, default_start_date

GOOD = {"api_key": "k", "start_date": "2025-01-01"}


def config_error_for(**overrides) -> str:
    with pytest.raises(AirbyteTracedException) as raised:
        PendoConfig.from_mapping({**GOOD, **overrides})
    assert raised.value.failure_type == FailureType.config_error
    return raised.value.message


def test_defaults_and_region_host():
    config = PendoConfig.from_mapping(GOOD)
    assert config.api_root == "https://app.pendo.io/api/v1/"
    assert (config.period, config.lookback_window_days, config.settling_hours, config.page_size, config.request_timeout) == ("day", 30, 8, 50_000, 300)
    assert config.app_id_param == ALL_APPS
    assert config.start_ms == 1735689600000


@pytest.mark.parametrize("region, host", [("EU", "app.eu.pendo.io"), ("JP", "app.jpn.pendo.io"), ("AU", "app.au.pendo.io"), ("US1", "us1.app.pendo.io")])
def test_regions_map_to_their_hosts(region, host):
    assert PendoConfig.from_mapping({**GOOD, "region": region}).api_root == f"https://{host}/api/v1/"


def test_base_url_wins_over_region_and_gets_a_trailing_slash():
    config = PendoConfig.from_mapping({**GOOD, "region": "EU", "base_url": "http://127.0.0.1:9/api/v1"})
    assert config.api_root == "http://127.0.0.1:9/api/v1/"


def test_app_ids_single_and_many():
    assert PendoConfig.from_mapping({**GOOD, "app_ids": [5]}).app_id_param == 5
    assert PendoConfig.from_mapping({**GOOD, "app_ids": [5, 6, 5]}).app_id_param == [5, 6]


def test_a_settling_margin_of_0_is_allowed_and_a_saved_lookback_is_kept():
    config = PendoConfig.from_mapping({**GOOD, "settling_hours": 0, "lookback_window": 10})
    assert (config.settling_hours, config.lookback_window_days) == (0, 10)


def test_start_date_accepts_date_times_with_offsets():
    assert PendoConfig.from_mapping({**GOOD, "start_date": "2025-01-01T02:00:00+02:00"}).start_ms == 1735689600000


@pytest.mark.parametrize(
    "overrides, fix",
    [
        ({"api_key": ""}, "Integration Keys"),
        ({"region": "MARS"}, "US, US1, EU, JP, AU"),
        ({"start_date": "01/02/2025"}, "YYYY-MM-DD"),
        ({"start_date": "2009-12-31"}, "from 2010 on"),
        ({"start_date": "2999-01-01"}, "in the past"),
        ({"app_ids": ["abc"]}, "whole numbers"),
        ({"page_size": 0}, "above 0"),
        ({"request_timeout": -1}, "above 0"),
        ({"lookback_window": 0}, "above 0"),
        ({"settling_hours": -1}, "from 0 and at most 72"),
        ({"settling_hours": 100}, "at most 72"),
        ({"page_size": 10_000_000}, "at most 500000"),
        ({"page_size": "50000"}, "whole number"),
        ({"include_anonymous_visitors": "yes"}, "true or false"),
        ({"api_key": "abc def"}, "Copy it again"),
        ({"api_key": "clé"}, "Copy it again"),
        ({"base_url": "ftp://x"}, "http:// or https://"),
        ({"period": "week"}, "day, hour"),
    ],
)
def test_bad_input_is_a_config_error_naming_the_fix(overrides, fix):
    assert fix in config_error_for(**overrides)


def test_key_never_appears_in_config_errors():
    assert "SECRET-KEY-123" not in config_error_for(api_key="SECRET-KEY-123", start_date="nope")


def test_start_date_rule_is_the_spec_pattern():
    import yaml
    from importlib import resources

    from source_pendo.config import START_DATE_FORMAT

    spec = yaml.safe_load(resources.files("source_pendo").joinpath("spec.yaml").read_text())
    assert spec["connectionSpecification"]["properties"]["start_date"]["pattern"] == START_DATE_FORMAT.pattern


def test_config_bounds_are_the_spec_bounds():
    import yaml
    from importlib import resources

    from source_pendo import config

    properties = yaml.safe_load(resources.files("source_pendo").joinpath("spec.yaml").read_text())["connectionSpecification"]["properties"]
    assert properties["page_size"]["maximum"] == config.MAX_PAGE_SIZE
    assert properties["request_timeout"]["maximum"] == config.MAX_REQUEST_TIMEOUT
    assert properties["lookback_window"]["maximum"] == config.MAX_LOOKBACK_DAYS
    assert (properties["settling_hours"]["minimum"], properties["settling_hours"]["maximum"]) == (0, config.MAX_SETTLING_HOURS)
    assert {name: properties[name]["default"] for name in config.DEFAULTS} == config.DEFAULTS
    assert properties["region"]["enum"] == list(config.REGION_API_ROOTS)
    assert properties["period"]["enum"] == ["day", "hour"]


def test_region_left_at_us_follows_a_key_suffix_of_another_region():
    inferred = PendoConfig.from_mapping({**GOOD, "api_key": "abc.eu"})
    assert (inferred.region, inferred.region_from_key, inferred.api_root) == ("EU", True, "https://app.eu.pendo.io/api/v1/")
    chosen = PendoConfig.from_mapping({**GOOD, "api_key": "abc.eu", "region": "AU"})
    assert (chosen.region, chosen.region_from_key) == ("AU", False)
    plain = PendoConfig.from_mapping({**GOOD, "api_key": "abc"})
    assert (plain.region, plain.region_from_key) == ("US", False)
    proxied = PendoConfig.from_mapping({**GOOD, "api_key": "abc.eu", "base_url": "https://proxy.example/api/v1/"})
    assert (proxied.region_from_key, proxied.api_root) == (False, "https://proxy.example/api/v1/")


def test_concurrency_bounds():
    from source_pendo import config

    properties = yaml_spec()["properties"]
    assert properties["max_concurrent_requests"]["maximum"] == config.MAX_CONCURRENT_REQUESTS
    assert PendoConfig.from_mapping(GOOD).max_concurrent_requests == 4
    assert "at most 32" in config_error_for(max_concurrent_requests=64)


def yaml_spec():
    import yaml
    from importlib import resources

    return yaml.safe_load(resources.files("source_pendo").joinpath("spec.yaml").read_text())["connectionSpecification"]


def test_request_rate_bounds():
    from source_pendo import config

    assert yaml_spec()["properties"]["requests_per_second"]["maximum"] == config.MAX_REQUESTS_PER_SECOND
    assert PendoConfig.from_mapping(GOOD).requests_per_second == 20
    assert "at most 1000" in config_error_for(requests_per_second=5000)


@pytest.mark.parametrize("missing", [{}, {"start_date": ""}, {"start_date": None}])
def test_start_date_is_optional_and_defaults_to_30_days_back_at_midnight(missing):
    before = datetime.now(timezone.utc)
    config = PendoConfig.from_mapping({"api_key": "k", **missing})
    after = datetime.now(timezone.utc)
    assert config.start_date in {default_start_date(before), default_start_date(after)}
    assert (config.start_date.hour, config.start_date.minute, config.start_date.second) == (0, 0, 0)


def test_default_start_date_is_midnight_utc_the_documented_days_back():
    now = datetime(2026, 12, 4, 18, 30, tzinfo=timezone(timedelta(hours=-5)))  # 23:30 UTC
    assert default_start_date(now) == datetime(2026, 11, 4, tzinfo=timezone.utc)
    assert DEFAULT_START_DAYS == 30


def test_spec_makes_start_date_optional_and_tells_its_default():
    spec = yaml.safe_load((Path(__file__).resolve().parents[1] / "source_pendo" / "spec.yaml").read_text())["connectionSpecification"]
    assert spec["required"] == ["api_key"]
    assert f"{DEFAULT_START_DAYS} days before" in spec["properties"]["start_date"]["description"]
