import io
import json
import random

import orjson
import pytest

from source_pendo import jsonstream
from source_pendo.jsonstream import ARRAY_ROWS, RESULT_ROWS, BrokenResponse, rows_of

# Strings that look like row ends, escapes, and text outside ASCII.
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


def test_other_keys_before_and_after_the_rows_are_skipped():
    rows = [{"a": 1}, {"b": {"results": [1]}}]
    data = json.dumps({"meta": {"results": [9]}, "results": rows, "more": {"x": [1, {"y": "results"}]}}).encode()
    for chunk_bytes in (1, 4096):
        assert list(rows_of(io.BytesIO(data), RESULT_ROWS, chunk_bytes)) == rows


EXACT_VALUES = [
    ("18446744073709551615", 18446744073709551615),  # the largest unsigned 64-bit integer: still a number
    ("-9223372036854775808", -9223372036854775808),
    ("18446744073709551616", "18446744073709551616"),  # beyond 64 bits: its digits, never a float
    ("-9223372036854775809", "-9223372036854775809"),
    ("123456789012345678901234567890", "123456789012345678901234567890"),
    ("1" * 5000, "1" * 5000),  # more digits than int() converts by default
    ("1234567890123456789.5", 1234567890123456789.5),  # 19 digits that are a float
    ("1e400", "1e400"),  # beyond a double: its text, never infinity
    (r'"\ud800"', "\ufffd"),
    (r'"\udc00"', "\ufffd"),
    (r'"\ud800\u0041"', "\ufffdA"),
    (r'"a\udbff\udbff\udfffb"', "a\ufffd\U0010ffffb"),  # a lone one, then a pair
    (r'"\ud83d\ude00 \uDFFF"', "\U0001f600 \ufffd"),
]


@pytest.mark.parametrize(
    "value_text, expected, position",
    [(text, value, position) for text, value in EXACT_VALUES for position in ("first row", "later row")]
    + [(text, value, "key") for text, value in EXACT_VALUES if text.startswith('"')],
)
def test_big_integers_and_lone_surrogates_come_out_the_same_on_every_path(value_text, expected, position):
    """Whole body or one byte at a time, in the first row (cut by the scanner), in a later row (in a
    batch), in a bare array: an integer beyond 64 bits is its digits, a lone surrogate U+FFFD."""
    filler = ",".join('{"id": %d, "x": "y"}' % i for i in range(300))
    if position == "key":
        row, wanted = '{"id": 0, %s: 1}' % value_text, {"id": 0, expected: 1}
    else:
        row, wanted = '{"id": 0, "v": %s, "w": [%s, {"z": %s}]}' % ((value_text,) * 3), {"id": 0, "v": expected, "w": [expected, {"z": expected}]}
    rows_text = row + "," + filler if position == "first row" else filler + "," + row
    rows = [json.loads('{"id": %d, "x": "y"}' % i) for i in range(300)]
    rows = [wanted] + rows if position == "first row" else rows + [wanted]
    for prefix, body in ((RESULT_ROWS, '{"startTime": 1, "results": [%s]}'), (ARRAY_ROWS, "[%s]")):
        data = (body % rows_text).encode()
        for chunk_bytes in (1, 7, 1000, len(data)):
            assert list(rows_of(io.BytesIO(data), prefix, chunk_bytes)) == rows


def test_values_around_the_rows_are_checked_by_the_same_rules():
    data = b'{"startTime": 18446744073709551616, "meta": "\\ud800", "results": [{"a": 1}], "more": [1e400, "\\udc00"]}'
    for chunk_bytes in (1, 5, 100):
        assert list(rows_of(io.BytesIO(data), RESULT_ROWS, chunk_bytes)) == [{"a": 1}]


class CountingParsers:
    """orjson's and json's loads, counting the bytes each was given."""

    def __init__(self, monkeypatch):
        self.parsed = 0
        self.JSONDecodeError = orjson.JSONDecodeError
        self.JSONDecodeError_python = json.JSONDecodeError
        monkeypatch.setattr(jsonstream, "orjson", self)
        monkeypatch.setattr(jsonstream, "json", self)

    def loads(self, data, **hooks):
        self.parsed += len(data)
        return json.loads(data, **hooks) if hooks else orjson.loads(data)


@pytest.mark.parametrize("text", ["},", '},{"visitorId":', '\\"},', "}]},{"])
@pytest.mark.parametrize("chunk_bytes", [1, 4096, 65536])
def test_rows_full_of_row_ends_in_strings_are_parsed_once(monkeypatch, text, chunk_bytes):
    """Time linear in the body's size whatever its strings hold: a `}` followed by `,` in a string used
    to make the cutter parse the row so far again (a 256 KB string of them took 15 s)."""
    size = 16 * 1024 if chunk_bytes == 1 else 512 * 1024
    rows = [{"visitorId": f"v{i}", "properties": text * (size // len(text)), "n": i} for i in range(3)]
    rows += [{"visitorId": f"w{i}", "n": i} for i in range(500)]
    data = json.dumps({"startTime": 1, "results": rows}, separators=(",", ":")).encode()
    parsers = CountingParsers(monkeypatch)
    assert list(rows_of(io.BytesIO(data), RESULT_ROWS, chunk_bytes)) == rows
    assert parsers.parsed <= 4 * len(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"startTime":\x0c1, "results": []}',
        b'{"startTime": 1,\x0b"results": []}',
        b'\x0c{"results": []}',
        b'{"results": []}\x0b',
        b'{"results": [{"a": 1},\x0c{"a": 2}]}',
        b'{"results": [{"a": 1}\x0b, {"a": 2}]}',
        b'{"results": [{"a":\x0c1}, {"a": 2}]}',
        b'{"startTime": 007, "results": []}',
        b'{"startTime": -01, "results": [{"a": 1}]}',
        b'{"results": [{"a": 1}, {"a": 007}]}',
        b'{"results": [{"a": 1}, {"a": 2},]}',
        b'{"results": [{"a": NaN}]}',
        b'{"results": [{"a": "\xed\xa0\x80"}]}',  # a surrogate written raw: not UTF-8
        b'[{"a": 1}, {"a": 1.}]',
        b'[{"a": 1}]\x0c',
    ],
)
def test_invalid_json_is_a_broken_body(data):
    prefix = ARRAY_ROWS if data.startswith(b"[") else RESULT_ROWS
    for chunk_bytes in (1, 3, 4096):
        with pytest.raises(BrokenResponse, match="not valid JSON|has more after"):
            list(rows_of(io.BytesIO(data), prefix, chunk_bytes))


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
        (b'{"results": null}', RESULT_ROWS, None),  # how tap-pendo sees Pendo answer with no rows
        (b'{"startTime": 1793491200000, "results": null}', RESULT_ROWS, None),
        (b' {"results" : null , "startTime": 1}\n', RESULT_ROWS, None),
        (b'{"error": "no such source"}', RESULT_ROWS, "has no rows and is not 'results'"),
        (b'{"startTime": 1793491200000}', RESULT_ROWS, "has no rows and is not 'results'"),
        (b"{}", RESULT_ROWS, "has no rows and is not 'results'"),
        (b"[]", RESULT_ROWS, "has no rows and is not 'results'"),
        (b'{"results": {}}', RESULT_ROWS, "has 'results' that is neither rows nor null"),
        (b'{"results": 0}', RESULT_ROWS, "has 'results' that is neither rows nor null"),
        (b'{"results": [], "results": []}', RESULT_ROWS, "has 'results' twice"),
        (b'{"results": null', RESULT_ROWS, "broke off"),
        (b"{}", ARRAY_ROWS, "has no rows and is not a JSON array"),
        (b"null", ARRAY_ROWS, "has no rows and is not a JSON array"),
        (b"", RESULT_ROWS, "is empty after 0 rows"),
        (b" \n", ARRAY_ROWS, "is empty after 0 rows"),
        (b'[{"a": 1}, 2]', ARRAY_ROWS, "has a row that is not an object: 2 after 1 rows"),
        (b"[1, 2]", ARRAY_ROWS, "has a row that is not an object"),
        (b'{"results": [{"a": 1}]', RESULT_ROWS, "broke off .* after 1 rows"),
        (b'[{"a": 1}] x', ARRAY_ROWS, "has more after its array"),
        (b'{"results": [', RESULT_ROWS, "broke off before its first row"),
        (b'{"results": [{"a": {"b": 1}', RESULT_ROWS, "broke off inside a row after 0 rows"),
    ],
)
def test_empty_and_malformed_bodies(data, prefix, message):
    for chunk_bytes in (1, 4096):
        if message is None:
            assert list(rows_of(io.BytesIO(data), prefix, chunk_bytes)) == []
        else:
            with pytest.raises(BrokenResponse, match=message):
                list(rows_of(io.BytesIO(data), prefix, chunk_bytes))
