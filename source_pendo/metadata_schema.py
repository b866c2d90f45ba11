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


def field_description(group: str, field: str, descriptor: Any) -> str:
    """What a generated field is: its Pendo name, display name and type in Pendo's catalogue."""
    details = descriptor if isinstance(descriptor, Mapping) else {}
    display_name = details.get("display_name")
    pendo_type = details.get("type")
    text = f"Pendo metadata field `{group}.{field}`"
    if isinstance(display_name, str) and display_name:
        text += f" (display name {display_name!r})"
    if isinstance(pendo_type, str) and pendo_type:
        text += f", typed {pendo_type} in Pendo's catalogue"
        if pendo_type != LIST_TYPE and pendo_type not in TYPES_BY_PENDO_TYPE:
            text += " (a type this connector does not know: any JSON value)"
        element_type = details.get("element_type")
        if pendo_type == LIST_TYPE and isinstance(element_type, str) and element_type:
            text += f" (elements typed {element_type})"
    else:
        text += ", untyped in Pendo's catalogue: any JSON value"
    if pendo_type == "time":
        text += "; an ISO-8601 UTC date-time string (Pendo sends epoch milliseconds)"
    return text + "."


def with_catalogue(base_schema: Mapping[str, Any], catalogue: Mapping[str, Any]) -> Dict[str, Any]:
    """`base_schema` with a `metadata_<group>` object for every group of the catalogue, each field typed
    from its Pendo `Type` and described from its catalogue entry. Fields the base schema already
    declares keep their declared type."""
    schema = copy.deepcopy(dict(base_schema))
    properties = schema.setdefault("properties", {})
    for group, fields in catalogue.items():
        if not isinstance(fields, Mapping):
            continue
        column = properties.setdefault(
            METADATA_PREFIX + group,
            {
                "type": ["null", "object"],
                "additionalProperties": True,
                "description": f"The `{group}` group of Pendo's metadata: one property per field of the group in Pendo's catalogue.",
            },
        )
        declared = column.setdefault("properties", {})
        for field, descriptor in fields.items():
            if field not in declared:
                schema_of_field = field_schema(descriptor)
                schema_of_field["description"] = field_description(group, field, descriptor)
                if isinstance(schema_of_field.get("items"), dict):
                    schema_of_field["items"]["description"] = f"One element of the list in Pendo metadata field `{group}.{field}`."
                declared[field] = schema_of_field
    return schema
