"""Typing the metadata groups of accounts and visitors from Pendo's own field catalogue."""

from __future__ import annotations

import copy
from typing import Any, Dict, Mapping

from .records import METADATA_PREFIX

DATE_TIME = {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"}
# Numbers and booleans also admit text: a value that is not of its field's type ("n/a" in an integer
# field, an integer beyond 64 bits) reaches the destination as it was instead of failing the schema.
TYPES_BY_PENDO_TYPE: Dict[str, Dict[str, Any]] = {
    "string": {"type": ["null", "string"]},
    "time": DATE_TIME,
    "boolean": {"type": ["null", "boolean", "string"]},
    "integer": {"type": ["null", "integer", "string"]},
    "float": {"type": ["null", "number", "string"]},
}
ANY_JSON_TYPE = ["null", "string", "number", "integer", "boolean", "object", "array"]
# An empty or unknown Type says nothing about the values: any JSON value, declared as such.
ANY_VALUE: Dict[str, Any] = {"type": ANY_JSON_TYPE, "items": {"type": ANY_JSON_TYPE}, "additionalProperties": True}
LIST_TYPE = "list"


def field_schema(descriptor: Any) -> Dict[str, Any]:
    """The JSON schema of a field from its catalogue descriptor (`type`, and `element_type` for lists)."""
    pendo_type = descriptor.get("type") if isinstance(descriptor, Mapping) else None
    if pendo_type == LIST_TYPE:
        return {"type": ["null", "array", "string"], "items": copy.deepcopy(scalar_schema(descriptor.get("element_type")))}
    return copy.deepcopy(scalar_schema(pendo_type))


def scalar_schema(pendo_type: Any) -> Dict[str, Any]:
    return TYPES_BY_PENDO_TYPE.get(pendo_type, ANY_VALUE) if isinstance(pendo_type, str) else ANY_VALUE


def with_catalogue(base_schema: Mapping[str, Any], catalogue: Mapping[str, Any]) -> Dict[str, Any]:
    """`base_schema` with a `metadata_<group>` object for every group of the catalogue, each field typed
    from its Pendo `Type`. Fields the base schema already declares keep their declared type."""
    schema = copy.deepcopy(dict(base_schema))
    properties = schema.setdefault("properties", {})
    for group, fields in catalogue.items():
        if not isinstance(fields, Mapping):
            continue
        column = properties.setdefault(METADATA_PREFIX + group, {"type": ["null", "object"], "additionalProperties": True})
        declared = column.setdefault("properties", {})
        for field, descriptor in fields.items():
            declared.setdefault(field, field_schema(descriptor))
    return schema
