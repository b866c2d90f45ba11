import hashlib

import pytest

from source_pendo.records import ObjectShaper
from source_pendo.row_key import ROW_KEY, RowKeys, row_key

COLUMNS = ("day", "visitor_id", "account_id")


def keyed(*records):
    records = [dict(record) for record in records]
    for record in records:
        RowKeys(COLUMNS).add([record], tuple(record))
    return [record[ROW_KEY] for record in records]


def test_the_key_is_the_blake2b_128_of_the_values_as_compact_json():
    assert row_key([1, "v", None]) == hashlib.blake2b(b'[1,"v",null]', digest_size=16).hexdigest()


def test_null_empty_text_and_the_word_null_give_different_keys():
    keys = keyed({"day": 1, "visitor_id": "v", "account_id": None}, {"day": 1, "visitor_id": "v", "account_id": ""},
                 {"day": 1, "visitor_id": "v", "account_id": "null"}, {"day": 1, "visitor_id": "v", "account_id": "None"})
    assert len(set(keys)) == 4


def test_an_absent_column_keys_like_a_null_one():
    assert keyed({"day": 1, "visitor_id": "v"}) == keyed({"day": 1, "visitor_id": "v", "account_id": None})


def test_values_moving_between_columns_change_the_key():
    assert len(set(keyed({"day": 1, "visitor_id": "a", "account_id": "b"}, {"day": 1, "visitor_id": "b", "account_id": "a"}))) == 2


def test_integers_beyond_64_bits_are_keyed_too():
    big = 2**70
    [first, second] = keyed({"day": 1, "visitor_id": big, "account_id": None}, {"day": 1, "visitor_id": big + 1, "account_id": None})
    assert first != second and first == keyed({"day": 1, "visitor_id": big, "account_id": None})[0]


def test_a_batch_is_keyed_as_each_record_alone():
    rows = [{"day": day, "visitor_id": f"v{day}", "account_id": None if day % 2 else "a"} for day in range(50)]
    batch = [dict(row) for row in rows]
    RowKeys(COLUMNS).add(batch, COLUMNS)
    assert [record[ROW_KEY] for record in batch] == keyed(*rows)


def test_the_shaper_keys_rows_on_their_values_as_pendo_sent_them():
    """Times are keyed as Pendo's epoch milliseconds, before they become ISO text."""
    shaper = ObjectShaper({"properties": {"day": {"type": ["null", "string"], "format": "date-time"}}}, add_keys=RowKeys(COLUMNS).add)
    rows = [{"day": 1793491200000, "visitorId": "v", "accountId": None}, {"day": 1793491200000, "visitorId": "w", "accountId": "a"}]
    records = shaper.many(rows)
    assert [r[ROW_KEY] for r in records] == [row_key([1793491200000, "v", None]), row_key([1793491200000, "w", "a"])]
    assert shaper(rows[0]) == records[0]
    assert records[0]["day"] == "2026-11-01T00:00:00.000Z"


def test_a_key_of_one_column_is_refused():
    with pytest.raises(ValueError):
        RowKeys(["id"])
