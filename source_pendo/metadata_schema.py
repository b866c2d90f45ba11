"""Typing the metadata groups of accounts and visitors from Pendo's own field catalogue."""

from __future__ import annotations

import copy
from typing import Any, Dict, Mapping

from .records import METADATA_PREFIX

DATE_TIME = {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"}
TYPES_BY_PENDO_TYPE: Dict[str, Dict[str, Any]] = {
    "string": {"type": ["null", "string"]},
    "time": DATE_TIME,
    "boolean": {"type": ["null", "boolean"]},
    "integer": {"type": ["null", "integer"]},
    "float": {"type": ["null", "number"]},
}
# An empty or unknown Type says nothing about the values: accept any JSON value.
PERMISSIVE: Dict[str, Any] = {}


def field_schema(descriptor: Any) -> Dict[str, Any]:
    pendo_type = descriptor.get("type") if isinstance(descriptor, Mapping) else None
    return dict(TYPES_BY_PENDO_TYPE.get(pendo_type, PERMISSIVE)) if isinstance(pendo_type, str) else dict(PERMISSIVE)


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
