from source_pendo.metadata_schema import field_schema, with_catalogue

BASE = {
    "type": "object",
    "properties": {
        "account_id": {"type": ["null", "string"]},
        "metadata_auto": {"type": ["null", "object"], "properties": {"lastupdated": {"type": ["null", "string"], "format": "date-time"}}},
    },
}


def test_each_pendo_type_maps_to_a_json_schema_type():
    assert field_schema({"type": "string"}) == {"type": ["null", "string"]}
    assert field_schema({"type": "boolean"}) == {"type": ["null", "boolean"]}
    assert field_schema({"type": "integer"}) == {"type": ["null", "integer"]}
    assert field_schema({"type": "float"}) == {"type": ["null", "number"]}
    assert field_schema({"type": "time"})["format"] == "date-time"


def test_empty_unknown_or_missing_type_is_permissive():
    assert field_schema({"type": ""}) == {}
    assert field_schema({"type": "list"}) == {}
    assert field_schema({}) == {}
    assert field_schema(None) == {}


def test_catalogue_adds_every_group_and_keeps_declared_fields():
    catalogue = {
        "custom": {"renewal": {"type": "time"}, "seats": {"type": "integer"}, "odd": {"type": "mystery"}},
        "auto": {"lastupdated": {"type": "integer"}, "idhash": {"type": "integer"}},
        "salesforce": {"Owner": {"type": "string"}},
    }
    schema = with_catalogue(BASE, catalogue)
    props = schema["properties"]
    assert props["metadata_custom"]["properties"] == {
        "renewal": field_schema({"type": "time"}),
        "seats": {"type": ["null", "integer"]},
        "odd": {},
    }
    assert props["metadata_auto"]["properties"]["lastupdated"]["format"] == "date-time"
    assert props["metadata_auto"]["properties"]["idhash"] == {"type": ["null", "integer"]}
    assert props["metadata_salesforce"]["properties"] == {"Owner": {"type": ["null", "string"]}}
    assert "properties" not in BASE["properties"]["account_id"] and "idhash" not in BASE["properties"]["metadata_auto"]["properties"]
