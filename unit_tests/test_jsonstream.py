import io
import json
import random

import pytest

from source_pendo.jsonstream import ARRAY_ROWS, RESULT_ROWS, BrokenResponse, rows_of

# Strings that look like row ends, escapes, and text orjson and ijson both read.
NASTY_TEXT = ['},{', '}]', '"},{"a":1}', "\\", '\\"}', "}", "é€😀", "a\nb", "]}", ""]


def random_value(rng: random.Random, depth: int = 0):
    kind = rng.choice(["text", "int", "float", "bool", "null", "object", "array"] if depth < 3 else ["text", "int", "null"])
    if kind == "text":
        return rng.choice(NASTY_TEXT) + str(rng.randrange(1000))
    if kind == "int":
        return rng.randrange(-(2**62), 2**62)
    if kind == "float":
        return rng.uniform(-1e6, 1e6)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "object":
        return {rng.choice(NASTY_TEXT) + str(i): random_value(rng, depth + 1) for i in range(rng.randrange(4))}
    return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def random_rows(rng: random.Random, count: int):
    return [{f"k{i}{rng.choice(NASTY_TEXT)}": random_value(rng) for i in range(rng.randrange(1, 6))} for _ in range(count)]


class Reads(io.BytesIO):
    """A body that counts how much of it was read."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def document(rows, prefix, indent=None, extra_first=None):
    if prefix == ARRAY_ROWS:
        return json.dumps(rows, indent=indent).encode()
    body = {**(extra_first or {}), "startTime": 1793491200000, "results": rows}
    return json.dumps(body, indent=indent, ensure_ascii=False).encode()


@pytest.mark.parametrize("seed", range(40))
def test_rows_equal_a_full_parse_whatever_the_layout_and_chunking(seed):
    rng = random.Random(seed)
    rows = random_rows(rng, rng.randrange(0, 30))
    prefix = rng.choice([RESULT_ROWS, ARRAY_ROWS])
    data = document(rows, prefix, indent=rng.choice([None, 1, 2]))
    assert len(rows) == 0 or (data.count(b"},") + data.count(b"}]")) > len(rows)  # rows hold false ends too
    for chunk_bytes in (1, 2, 3, 17, 4096):
        assert list(rows_of(io.BytesIO(data), prefix, chunk_bytes)) == rows


@pytest.mark.parametrize("chunk_bytes", [7, 300, 4096, 65536])
def test_rows_parsed_in_batches_survive_row_boundaries_inside_rows(chunk_bytes):
    """Rows whose nested objects begin like rows do (`},{"visitorId":` inside a row) and strings
    that hold the same text; the batch that ends at such a place cannot parse and rows are cut one
    at a time instead."""
    rows = [
        {"visitorId": f"v{i}", "nested": [{"visitorId": j} for j in range(i % 4)], "text": '},{"visitorId": ' * (i % 3), "n": i}
        for i in range(3000)  # bodies past the first read (64 KB), so that batches end in many places
    ]
    data = json.dumps({"startTime": 1, "results": rows}, separators=(",", ":")).encode()
    assert data.count(b'},{"visitorId":') > len(rows)
    assert list(rows_of(io.BytesIO(data), RESULT_ROWS, chunk_bytes)) == rows


@pytest.mark.parametrize("seed", range(6))
def test_a_body_cut_anywhere_yields_a_prefix_of_its_rows_then_breaks(seed):
    rng = random.Random(100 + seed)
    rows = random_rows(rng, 5)
    data = document(rows, RESULT_ROWS)
    for cut in range(len(data)):
        got = []
        with pytest.raises(BrokenResponse):
            for row in rows_of(io.BytesIO(data[:cut]), RESULT_ROWS, chunk_bytes=rng.choice([1, 5, 64])):
                got.append(row)
        assert got == rows[: len(got)]


def test_an_unusual_head_is_read_by_the_incremental_parser():
    rows = [{"a": 1}, {"b": {"results": [1]}}]
    data = json.dumps({"meta": {"results": [9]}, "results": rows, "more": {"x": [1, {"y": 2}]}}).encode()
    assert list(rows_of(io.BytesIO(data), RESULT_ROWS)) == rows


@pytest.mark.parametrize(
    "row_text, expected",
    [
        (r'{"ua": "bad \ud800 half", "n": {"x": 1}, "z": 2}', {"ua": "bad ? half", "n": {"x": 1}, "z": 2}),
        ('{"big": 123456789012345678901234567890}', {"big": 1.2345678901234568e29}),
    ],
)
def test_what_orjson_refuses_or_bends_is_still_read(row_text, expected):
    data = ('{"results": [{"first": 1}, ' + row_text + ', {"last": 2}]}').encode()
    assert list(rows_of(io.BytesIO(data), RESULT_ROWS)) == [{"first": 1}, expected, {"last": 2}]


def test_invalid_json_inside_a_row_stops_at_that_row_without_reading_the_rest():
    good = json.dumps({"a": "x" * 100})
    data = ('{"results": [' + good + ', {"a": tru}, ' + ", ".join([good] * 20_000) + "]}").encode()
    body = Reads(data)
    got = []
    with pytest.raises(BrokenResponse, match="not valid JSON after 1 rows"):
        for row in rows_of(body, RESULT_ROWS, chunk_bytes=4096):
            got.append(row)
    assert got == [{"a": "x" * 100}]
    assert body.bytes_read < len(data) / 10


@pytest.mark.parametrize(
    "data, prefix, message",
    [
        (b'{"startTime": 1, "results": []}', RESULT_ROWS, None),
        (b"  [ ]  ", ARRAY_ROWS, None),
        (b'{"error": "no such source"}', RESULT_ROWS, "has no rows and is not 'results'"),
        (b"{}", ARRAY_ROWS, "has no rows and is not a JSON array"),
        (b"", RESULT_ROWS, "not valid JSON after 0 rows"),
        (b'[{"a": 1}, 2]', ARRAY_ROWS, "has a row that is not an object: 2 after 1 rows"),
        (b"[1, 2]", ARRAY_ROWS, "has a row that is not an object"),
        (b'{"results": [{"a": 1}]', RESULT_ROWS, "not valid JSON after 1 rows"),
        (b'[{"a": 1}] x', ARRAY_ROWS, "has more after its array"),
        (b'{"results": [', RESULT_ROWS, "broke off before its first row"),
        (b'{"results": [{"a": {"b": 1}', RESULT_ROWS, "broke off inside a row after 0 rows"),
    ],
)
def test_empty_and_malformed_bodies(data, prefix, message):
    if message is None:
        assert list(rows_of(io.BytesIO(data), prefix)) == []
    else:
        with pytest.raises(BrokenResponse, match=message):
            list(rows_of(io.BytesIO(data), prefix))
