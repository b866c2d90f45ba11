"""Every property of every stream's discovered schema, at any depth (nested `properties`, the
properties of array `items` objects, generated metadata fields), has a non-empty description."""

from typing import Any, Iterator, Mapping

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


def undescribed(schema: Any, path: str) -> Iterator[str]:
    """Paths of the properties in `schema`, at any depth, without a non-empty description."""
    if not isinstance(schema, Mapping):
        return
    for name, prop in (schema.get("properties") or {}).items():
        description = prop.get("description") if isinstance(prop, Mapping) else None
        if not (isinstance(description, str) and description.strip()):
            yield f"{path}.{name}"
        yield from undescribed(prop, f"{path}.{name}")
    for keyword in ("items", "additionalProperties"):
        if isinstance(schema.get(keyword), Mapping):
            yield from undescribed(schema[keyword], f"{path}[{keyword}]")
    for keyword in ("anyOf", "oneOf", "allOf"):
        for index, alternative in enumerate(schema.get(keyword) or []):
            yield from undescribed(alternative, f"{path}.{keyword}[{index}]")


@pytest.fixture
def streams(requests_mock):
    for kind in ("account", "visitor"):
        requests_mock.get(f"{API_ROOT}metadata/schema/{kind}", json=CATALOGUE)
    return {stream.name: stream for stream in SourcePendo().streams(CONFIG)}


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
