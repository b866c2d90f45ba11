"""Metadata values leave as their field's declared type when that loses nothing, else as values the
declared type admits: a record never fails its own schema and never loses what Pendo sent."""

import jsonschema
import pytest

from source_pendo.metadata_schema import field_schema, with_catalogue
from source_pendo.records import MetadataEntityShaper, value_converter

CATALOGUE = {
    "custom": {
        "seats": {"type": "integer"},
        "score": {"type": "float"},
        "paying": {"type": "boolean"},
        "owner": {"type": "string"},
        "renewal": {"type": "time"},
        "teams": {"type": "list", "element_type": "integer"},
        "notes": {"type": ""},
        "odd": {"type": "mystery"},
    }
}
SCHEMA = with_catalogue({"type": "object", "properties": {"account_id": {"type": ["null", "string"]}}}, CATALOGUE)
BEYOND_64_BITS = "123456789012345678901234567890"


def shaped(**custom):
    shaper = MetadataEntityShaper(SCHEMA)
    record = shaper({"accountId": "a", "metadata": {"custom": custom}})
    jsonschema.validate(record, SCHEMA)
    return record["metadata_custom"]


@pytest.mark.parametrize(
    "field, sent, delivered",
    [
        ("seats", "367", 367),
        ("seats", "-7", -7),
        ("seats", 12.0, 12),
        ("seats", 367, 367),
        ("score", "3.5", 3.5),
        ("score", "367", 367),
        ("score", 2, 2),
        ("paying", "true", True),
        ("paying", "false", False),
        ("owner", 42, "42"),
        ("owner", True, "true"),
        ("owner", {"a": [1, "é"]}, '{"a":[1,"é"]}'),
        ("renewal", 1793491200123, "2026-11-01T00:00:00.123Z"),
        ("teams", [1, "2", None], [1, 2, None]),
    ],
)
def test_values_that_spell_the_declared_type_are_converted_to_it(field, sent, delivered):
    value = shaped(**{field: sent})[field]
    assert value == delivered and type(value) is type(delivered)


@pytest.mark.parametrize(
    "field, sent, delivered",
    [
        # Text that is not exactly a number of that type stays text (the schema admits it).
        ("seats", "0367", "0367"),
        ("seats", "+5", "+5"),
        ("seats", "n/a", "n/a"),
        ("seats", "3.5", "3.5"),
        ("score", "3.50", "3.50"),
        ("score", "1e3", "1e3"),
        ("score", "NaN", "NaN"),
        ("paying", "True", "True"),
        ("paying", "yes", "yes"),
        ("renewal", "2026-11-01", "2026-11-01"),
        # Beyond 64 bits: kept as decimal text, whichever form Pendo's parser gave.
        ("seats", BEYOND_64_BITS, BEYOND_64_BITS),
        ("seats", int(BEYOND_64_BITS), BEYOND_64_BITS),
        ("score", BEYOND_64_BITS, BEYOND_64_BITS),
        ("score", int(BEYOND_64_BITS), BEYOND_64_BITS),
        ("seats", "9" * 5000, "9" * 5000),
        # Values of another kind: their JSON text.
        ("seats", 3.5, "3.5"),
        ("seats", True, "true"),
        ("paying", 1, "1"),
        ("score", [1, 2], "[1,2]"),
        ("teams", "core", "core"),
        ("teams", 7, "7"),
        ("renewal", False, "false"),
    ],
)
def test_values_that_cannot_be_converted_keep_their_value_in_a_form_the_schema_admits(field, sent, delivered):
    value = shaped(**{field: sent})[field]
    assert value == delivered and type(value) is type(delivered)


@pytest.mark.parametrize("sent", ["42", 42, 2.5, True, None, {"x": 1}, [1, "a"], BEYOND_64_BITS])
def test_untyped_fields_keep_every_value_as_sent(sent):
    assert shaped(notes=sent, odd=sent) == {"notes": sent, "odd": sent}


def test_fields_the_catalogue_does_not_declare_are_untouched_and_nulls_stay_null():
    assert shaped(seats=None, unknown="367") == {"seats": None, "unknown": "367"}


def test_per_app_auto_groups_are_typed_like_auto():
    schema = with_catalogue({"type": "object", "properties": {}}, {"auto": {"lastvisit": {"type": "time"}, "idhash": {"type": "integer"}}})
    record = MetadataEntityShaper(schema)({"metadata": {"auto": {"idhash": "5"}, "auto__323232": {"lastvisit": 1793491200123, "idhash": "6"}}})
    assert record["metadata_auto__323232"] == {"lastvisit": "2026-11-01T00:00:00.123Z", "idhash": 6}
    assert record["metadata_auto"] == {"idhash": 5}


def test_a_declared_type_without_text_gets_only_lossless_conversions():
    convert = value_converter({"type": ["null", "integer"]})
    assert convert("12") == 12
    assert convert("n/a") == "n/a" and convert(3.5) == 3.5


def test_a_union_of_kinds_takes_values_as_they_come():
    assert value_converter(field_schema({"type": ""})) is None
    assert value_converter({"type": ["null", "object"]}) is None
