from source_pendo.metadata_schema import ANY_JSON_TYPE, field_schema, with_catalogue

BASE = {
    "type": "object",
    "properties": {
        "account_id": {"type": ["null", "string"]},
        "metadata_auto": {"type": ["null", "object"], "properties": {"lastupdated": {"type": ["null", "string"], "format": "date-time"}}},
    },
}


def test_each_pendo_type_maps_to_a_json_schema_type_that_also_admits_what_cannot_be_converted():
    assert field_schema({"type": "string"}) == {"type": ["null", "string"]}
    assert field_schema({"type": "boolean"}) == {"type": ["null", "boolean", "string"]}
    assert field_schema({"type": "integer"}) == {"type": ["null", "integer", "string"]}
    assert field_schema({"type": "float"}) == {"type": ["null", "number", "string"]}
    assert field_schema({"type": "time"})["format"] == "date-time"


def test_lists_are_arrays_of_their_element_type():
    assert field_schema({"type": "list", "element_type": "string"}) == {"type": ["null", "array", "string"], "items": {"type": ["null", "string"]}}
    assert field_schema({"type": "list", "element_type": "integer"})["items"] == {"type": ["null", "integer", "string"]}
    assert field_schema({"type": "list", "element_type": ""})["items"]["type"] == ANY_JSON_TYPE


def test_empty_unknown_or_missing_type_is_any_json_value_declared_as_such():
    for descriptor in ({"type": ""}, {"type": "mystery"}, {}, None, {"type": 3}):
        schema = field_schema(descriptor)
        assert schema["type"] == ["null", "string", "number", "integer", "boolean", "object", "array"], descriptor
        assert schema["items"] == {"type": ANY_JSON_TYPE}


def test_schemas_handed_out_are_copies():
    field_schema({"type": "integer"})["type"].append("boolean")
    field_schema({})["items"]["type"].clear()
    assert field_schema({"type": "integer"}) == {"type": ["null", "integer", "string"]}
    assert field_schema({})["items"] == {"type": ANY_JSON_TYPE}


def without_descriptions(value):
    """`value` without the descriptions generated fields carry (checked in test_schemas)."""
    if isinstance(value, dict):
        return {key: without_descriptions(item) for key, item in value.items() if key != "description"}
    return value


def test_catalogue_adds_every_group_and_keeps_declared_fields():
    catalogue = {
        "custom": {"renewal": {"type": "time"}, "seats": {"type": "integer"}, "odd": {"type": "mystery"}},
        "auto": {"lastupdated": {"type": "integer"}, "idhash": {"type": "integer"}},
        "salesforce": {"Owner": {"type": "string"}},
    }
    schema = with_catalogue(BASE, catalogue)
    props = without_descriptions(schema["properties"])
    assert props["metadata_custom"]["properties"] == {
        "renewal": field_schema({"type": "time"}),
        "seats": {"type": ["null", "integer", "string"]},
        "odd": field_schema({"type": "mystery"}),
    }
    assert props["metadata_auto"]["properties"]["lastupdated"]["format"] == "date-time"
    assert props["metadata_auto"]["properties"]["idhash"] == {"type": ["null", "integer", "string"]}
    assert props["metadata_salesforce"]["properties"] == {"Owner": {"type": ["null", "string"]}}
    assert "properties" not in BASE["properties"]["account_id"] and "idhash" not in BASE["properties"]["metadata_auto"]["properties"]
