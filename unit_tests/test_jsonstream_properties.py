"""jsonstream against json.loads: generated bodies of Pendo's shapes, fed in generated chunkings."""

import io
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from source_pendo.jsonstream import ARRAY_ROWS, RESULT_ROWS, BrokenResponse, rows_of

# Modest and deterministic for CI: the same examples every run, nothing saved in the work tree, no
# deadline (a loaded machine must not fail a correct test).
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

TRICKY_TEXT = ["},", '},{"visitorId":', "}]", "]}", '"', "\\", '\\"}', "\ud800", "\udc00", "\udbff", "\udfff", "é", "€", "😀", "\x00", "\n", "\u2028"]
texts = st.lists(st.one_of(st.sampled_from(TRICKY_TEXT), st.text(max_size=5)), max_size=6).map("".join)
integers = st.one_of(
    st.integers(-(2**63), 2**64 - 1),
    st.integers(min_value=2**64 - 3, max_value=2**64 + 3),
    st.integers(min_value=-(2**63) - 3, max_value=-(2**63) + 3),
    st.integers(min_value=2**64, max_value=10**40),
    st.integers(min_value=-(10**40), max_value=-(2**63) - 1),
)
scalars = st.one_of(st.none(), st.booleans(), integers, st.floats(allow_nan=False, allow_infinity=False), texts)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)), max_leaves=12)
# Pendo's rows share their first key; sometimes not.
rows = st.lists(
    st.one_of(
        st.builds(lambda visitor, rest: {"visitorId": visitor, **rest}, texts, st.dictionaries(texts, values, max_size=4)),
        st.dictionaries(texts, values, max_size=4),
    ),
    max_size=12,
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def expected(value):
    """What json.loads gives, with the documented rules: an integer beyond 64 bits as its digits, a lone
    surrogate (json.loads pairs the rest) as U+FFFD."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value <= 2**64 - 1 else str(value)
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [expected(item) for item in value]
    return {expected(key): expected(item) for key, item in value.items()}


class Chunked:
    """A body read in pieces of the given sizes, in turn (a read returns at most what was asked)."""

    def __init__(self, data: bytes, sizes):
        self._data = io.BytesIO(data)
        self._sizes = sizes
        self._reads = 0

    def read(self, size=-1):
        piece = self._sizes[self._reads % len(self._sizes)]
        self._reads += 1
        return self._data.read(piece if size < 0 else min(piece, size))


@st.composite
def bodies(draw):
    """(prefix, body bytes, the rows json.loads sees in it)."""
    prefix = draw(st.sampled_from([RESULT_ROWS, ARRAY_ROWS]))
    the_rows = draw(rows)
    if prefix == ARRAY_ROWS:
        document = the_rows
    else:
        document = {"startTime": draw(integers), "results": the_rows}
        if draw(st.booleans()):
            document["after"] = draw(values)
        if not the_rows and draw(st.booleans()):
            document["results"] = None
    layout = draw(st.sampled_from([{}, {"separators": (",", ":")}, {"indent": 1}]))
    try:
        data = json.dumps(document, ensure_ascii=draw(st.booleans()), **layout).encode("utf-8")
    except UnicodeEncodeError:  # a surrogate can only be written escaped
        data = json.dumps(document, **layout).encode("utf-8")
    parsed = json.loads(data)
    return prefix, data, expected(parsed if prefix == ARRAY_ROWS else parsed["results"] or [])


chunk_sizes = st.lists(st.integers(1, 64), min_size=1, max_size=5) | st.just([1 << 30])


@PROPERTY_SETTINGS
@given(bodies(), chunk_sizes)
def test_rows_equal_json_loads_whatever_the_chunking(body, sizes):
    prefix, data, wanted = body
    assert list(rows_of(Chunked(data, sizes), prefix, chunk_bytes=64)) == wanted


@PROPERTY_SETTINGS
@given(bodies(), chunk_sizes, st.data())
def test_a_body_cut_short_yields_some_of_its_rows_then_breaks(body, sizes, data):
    prefix, whole, wanted = body
    cut = data.draw(st.integers(0, len(whole.rstrip()) - 1))
    got = []
    with pytest.raises(BrokenResponse):
        for row in rows_of(Chunked(whole[:cut], sizes), prefix, chunk_bytes=64):
            got.append(row)
    assert got == wanted[: len(got)]
