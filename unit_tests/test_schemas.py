"""Every field of every stream's discovered schema has a real type: no empty schema `{}` anywhere
(properties, array items, additionalProperties), which destinations would load as untyped text; and
every primary key is a declared column of its stream."""

from typing import Any, Iterator, Mapping

import pytest

from source_pendo.source import SourcePendo

from .conftest import API_ROOT

# A catalogue with every type Pendo documents plus ones it does not (empty, unknown, a list of unknowns).
CATALOGUE = {
    "auto": {"id": {"Type": "string"}, "lastupdated": {"Type": "time"}, "idhash": {"Type": "integer"}},
    "custom": {
        "text": {"Type": "string"},
        "count": {"Type": "integer"},
        "ratio": {"Type": "float"},
        "flag": {"Type": "boolean"},
        "when": {"Type": "time"},
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


def empty_schemas(schema: Any, path: str) -> Iterator[str]:
    """Paths of the empty schemas in `schema`, at any depth."""
    if not isinstance(schema, Mapping):
        return
    if not SCHEMA_KEYWORDS & set(schema):
        yield path
    for name, prop in (schema.get("properties") or {}).items():
        yield from empty_schemas(prop, f"{path}.{name}")
    for keyword in ("items", "additionalProperties"):
        if isinstance(schema.get(keyword), Mapping):
            yield from empty_schemas(schema[keyword], f"{path}[{keyword}]")
    for keyword in ("anyOf", "oneOf", "allOf"):
        for index, alternative in enumerate(schema.get(keyword) or []):
            yield from empty_schemas(alternative, f"{path}.{keyword}[{index}]")


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
