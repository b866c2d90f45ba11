import pytest

from source_pendo.records import MetadataEntityShaper, ObjectShaper, iso_from_ms, ms_from_iso, snake_case

DT = {"type": ["null", "string"], "format": "date-time"}


@pytest.mark.parametrize(
    "pendo, expected",
    [
        ("visitorId", "visitor_id"),
        ("lastUpdatedAt", "last_updated_at"),
        ("DisplayName", "display_name"),
        ("isPerApp", "is_per_app"),
        ("remoteIP", "remote_ip"),
        ("trackTypeId", "track_type_id"),
        ("already_snake", "already_snake"),
        ("lastupdated", "lastupdated"),
    ],
)
def test_snake_case(pendo, expected):
    assert snake_case(pendo) == expected


@pytest.mark.parametrize(
    "ms, iso",
    [(0, "1970-01-01T00:00:00.000Z"), (1793491200123, "2026-11-01T00:00:00.123Z"), (1793491200999, "2026-11-01T00:00:00.999Z")],
)
def test_epoch_ms_round_trips_through_iso(ms, iso):
    assert iso_from_ms(ms) == iso
    assert ms_from_iso(iso) == ms


@pytest.mark.parametrize("value", [None, "2024-01-01", True])
def test_non_numbers_are_not_times(value):
    assert iso_from_ms(value) == value


def test_object_shaper_snake_cases_every_depth_and_converts_schema_times():
    schema = {
        "properties": {
            "created_at": DT,
            "last_updated_at": DT,
            "created_by_user": {"type": "object", "properties": {"deleted_at": DT}},
            "steps": {"type": "array", "items": {"type": "object", "properties": {"last_updated_at": DT}}},
        }
    }
    row = {
        "id": "p1",
        "appId": -323232,
        "createdAt": 1700000000000,
        "lastUpdatedAt": None,
        "createdByUser": {"userType": "admin", "deletedAt": 1700000000000},
        "rules": [{"designerHint": "x", "parsedRule": "y"}],
        "steps": [{"lastUpdatedAt": 0}, {"lastUpdatedAt": None}],
    }
    assert ObjectShaper(schema)(row) == {
        "id": "p1",
        "app_id": -323232,
        "created_at": "2023-11-14T22:13:20.000Z",
        "last_updated_at": None,
        "created_by_user": {"user_type": "admin", "deleted_at": "2023-11-14T22:13:20.000Z"},
        "rules": [{"designer_hint": "x", "parsed_rule": "y"}],
        "steps": [{"last_updated_at": "1970-01-01T00:00:00.000Z"}, {"last_updated_at": None}],
    }


def test_object_shaper_shapes_many_rows_as_it_shapes_each():
    schema = {"properties": {"day": DT, "first_time": DT, "properties": {"type": "object"}, "steps": {"type": "array", "items": {"type": "object", "properties": {"last_updated_at": DT}}}}}
    shaper = ObjectShaper(schema, keep_names_under=("properties",))
    same_layout = [{"day": 1700000000000 + n, "firstTime": None, "properties": {"userKey": n}, "steps": [{"lastUpdatedAt": n}], "visitorId": f"v{n}"} for n in range(5)]
    mixed = [*same_layout, {"visitorId": "x", "day": True}, {"day": 0.5, "extraColumn": {"innerName": 1}}]
    for rows in (same_layout, mixed, []):
        assert shaper.many([dict(row) for row in rows]) == [ObjectShaper(schema, keep_names_under=("properties",))(row) for row in rows]
    assert shaper.many(same_layout)[0] == {
        "day": "2023-11-14T22:13:20.000Z",
        "first_time": None,
        "properties": {"userKey": 0},
        "steps": [{"last_updated_at": "1970-01-01T00:00:00.000Z"}],
        "visitor_id": "v0",
    }


def test_metadata_shaper_lifts_every_group_keeps_field_names_and_lifts_lastupdated():
    schema = {
        "properties": {
            "lastupdated": DT,
            "metadata_auto": {"type": "object", "properties": {"lastupdated": DT, "firstvisit": DT}},
            "metadata_custom": {"type": "object", "properties": {"renewalDate": DT}},
        }
    }
    row = {
        "accountId": "acme",
        "metadata": {
            "auto": {"lastupdated": 1700000000000, "firstvisit": 1600000000000, "id": "acme"},
            "auto__5668600916475904": {"lastvisit": 1700000000000, "firstvisit": 1600000000000},
            "custom": {"renewalDate": 1700000000000, "planTier": "gold", "seats": None},
            "salesforce": {"Owner_Name": "Zoë"},
        },
    }
    record = MetadataEntityShaper(schema)(row)
    assert record == {
        "account_id": "acme",
        "lastupdated": "2023-11-14T22:13:20.000Z",
        "metadata_auto": {"lastupdated": "2023-11-14T22:13:20.000Z", "firstvisit": "2020-09-13T12:26:40.000Z", "id": "acme"},
        "metadata_auto__5668600916475904": {"lastvisit": 1700000000000, "firstvisit": "2020-09-13T12:26:40.000Z"},
        "metadata_custom": {"renewalDate": "2023-11-14T22:13:20.000Z", "planTier": "gold", "seats": None},
        "metadata_salesforce": {"Owner_Name": "Zoë"},
    }


def test_metadata_shaper_without_metadata_gives_null_lastupdated():
    assert MetadataEntityShaper({"properties": {}})({"visitorId": "v"}) == {"visitor_id": "v", "lastupdated": None}
