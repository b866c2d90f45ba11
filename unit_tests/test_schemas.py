"""Every field of every stream's discovered schema has a real type (no empty schema `{}` anywhere:
properties, array items, additionalProperties, which destinations would load as untyped text) and a
description, generated metadata fields included; every primary key is a declared column of its
stream."""

from typing import Any, Iterator, Mapping, Tuple

import pytest

from source_pendo.source import SourcePendo

from .conftest import API_ROOT

# Custom fields of every type Pendo documents plus ones it does not, with and without display names.
CATALOGUE = {
    "auto": {"id": {"Type": "string", "DisplayName": "Visitor ID"}, "lastupdated": {"Type": "time"}, "idhash": {"Type": "integer"}},
    "custom": {
        "text": {"Type": "string", "DisplayName": "Some Text"},
        "count": {"Type": "integer"},
        "ratio": {"Type": "float"},
        "flag": {"Type": "boolean"},
        "when": {"Type": "time", "DisplayName": "When"},
        "tags": {"Type": "list", "ElementType": "string"},
        "codes": {"Type": "list", "ElementType": "mystery"},
        "blank": {"Type": ""},
        "mystery": {"Type": "geo-point"},
        "no_type": {"DisplayName": "No Type"},
    },
    "salesforce": {"owner": {"Type": "string"}},
}
CONFIG = {"api_key": "unit-key", "start_date": "2025-01-01", "base_url": API_ROOT}
SCHEMA_KEYWORDS = {"type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const"}


def schema_nodes(schema: Any, path: str) -> Iterator[Tuple[str, Any, bool]]:
    """(path, schema, whether it is a named property) of `schema` and everything below it."""
    if not isinstance(schema, Mapping):
        return
    for name, prop in (schema.get("properties") or {}).items():
        yield f"{path}.{name}", prop, True
        yield from schema_nodes(prop, f"{path}.{name}")
    for keyword in ("items", "additionalProperties"):
        if isinstance(schema.get(keyword), Mapping):
            yield f"{path}[{keyword}]", schema[keyword], False
            yield from schema_nodes(schema[keyword], f"{path}[{keyword}]")
    for keyword in ("anyOf", "oneOf", "allOf"):
        for index, alternative in enumerate(schema.get(keyword) or []):
            yield f"{path}.{keyword}[{index}]", alternative, False
            yield from schema_nodes(alternative, f"{path}.{keyword}[{index}]")


def empty_schemas(schema: Any, path: str) -> Iterator[str]:
    """Paths of the empty schemas in `schema`, at any depth."""
    return (where for where, node, _ in schema_nodes(schema, path) if isinstance(node, Mapping) and not SCHEMA_KEYWORDS & set(node))


def undescribed(schema: Any, path: str) -> Iterator[str]:
    """Paths of the properties in `schema`, at any depth, without a non-empty description."""
    for where, node, named in schema_nodes(schema, path):
        description = node.get("description") if isinstance(node, Mapping) else None
        if named and not (isinstance(description, str) and description.strip()):
            yield where


@pytest.fixture
def streams(requests_mock):
    for kind in ("account", "visitor"):
        requests_mock.get(f"{API_ROOT}metadata/schema/{kind}", json=CATALOGUE)
    return {stream.name: stream for stream in SourcePendo().streams(CONFIG)}


def test_the_walk_finds_empty_schemas_at_every_depth():
    schema = {"type": "object", "properties": {"a": {}, "b": {"type": "array", "items": {}}, "c": {"type": "object", "additionalProperties": {}},
                                               "d": {"anyOf": [{"type": "string"}, {}]}, "e": {"type": "object", "additionalProperties": True}}}
    assert sorted(empty_schemas(schema, "s")) == ["s.a", "s.b[items]", "s.c[additionalProperties]", "s.d.anyOf[1]"]


def test_no_stream_has_an_empty_schema_anywhere(streams):
    assert len(streams) == 17
    empty = [path for name, stream in streams.items() for path in empty_schemas(stream.get_json_schema(), name)]
    assert not empty, f"fields without a type: {empty}"


def test_custom_fields_of_unknown_type_are_declared_as_any_json_value(streams):
    custom = streams["accounts"].get_json_schema()["properties"]["metadata_custom"]["properties"]
    for field in ("blank", "mystery", "no_type"):
        assert set(custom[field]["type"]) == {"null", "string", "number", "integer", "boolean", "object", "array"}, field
    assert custom["codes"]["items"]["type"] == custom["blank"]["type"]


def test_every_primary_key_column_is_declared(streams):
    for name, stream in streams.items():
        key = stream.primary_key
        columns = [] if key is None else [key] if isinstance(key, str) else [part for [part] in key]
        properties = stream.get_json_schema()["properties"]
        for column in columns:
            assert column in properties, f"{name}: key column {column} is not in its schema"


def test_the_walk_finds_undescribed_properties_at_every_depth():
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "string", "description": " "},
            "c": {"type": "object", "description": "c", "properties": {"d": {"type": "string"}}},
            "e": {"type": "array", "description": "e", "items": {"type": "object", "properties": {"f": {"type": "string"}}}},
            "g": {"type": "string", "description": "g"},
        },
    }
    assert sorted(undescribed(schema, "s")) == ["s.a", "s.b", "s.c.d", "s.e[items].f"]


def test_every_property_of_every_stream_has_a_description(streams):
    assert len(streams) == 17
    missing = [path for name, stream in streams.items() for path in undescribed(stream.get_json_schema(), name)]
    assert not missing, f"properties without a description: {missing}"


def test_generated_metadata_fields_are_described_from_the_catalogue(streams):
    for stream_name in ("accounts", "visitors"):
        custom = streams[stream_name].get_json_schema()["properties"]["metadata_custom"]["properties"]
        assert "`custom.text`" in custom["text"]["description"] and "Some Text" in custom["text"]["description"]
        assert "typed integer" in custom["count"]["description"]
        assert "typed time" in custom["when"]["description"] and "ISO-8601" in custom["when"]["description"]
        assert "typed list" in custom["tags"]["description"] and custom["tags"]["items"]["description"]
        assert "untyped" in custom["no_type"]["description"]
