from source_pendo import aggregation


def test_literal_quotes_and_escapes_strings_and_keeps_unicode():
    assert aggregation.literal('a"b\\c') == '"a\\"b\\\\c"'
    assert aggregation.literal("Zoë 東京") == '"Zoë 東京"'
    assert aggregation.literal(12) == "12"
    assert aggregation.literal(None) == "null"
    assert aggregation.literal(True) == "true"


def test_after_key_over_two_fields_is_a_strict_total_order_filter():
    expression = aggregation.after_key(["lastUpdatedAt", "id"], [1700000000000, "abc"])
    assert expression == 'lastUpdatedAt > 1700000000000 || (lastUpdatedAt == 1700000000000 && id > "abc")'


def test_after_key_over_three_fields_compares_each_prefix():
    expression = aggregation.after_key(["a", "b", "c"], [1, 2, "x"])
    assert expression == 'a > 1 || (a == 1 && b > 2) || (a == 1 && b == 2 && c > "x")'


def test_keyset_page_body_has_source_filter_sort_and_limit_in_order():
    body = aggregation.keyset_page(
        "pages", {"appId": 'expandAppIds("*")'}, sort_paths=["lastUpdatedAt", "id"], lower_bound="lastUpdatedAt >= 5", page_size=100, request_id="pages"
    )
    assert body["response"] == {"mimeType": "application/json"}
    assert body["request"]["requestId"] == "source-pendo:pages"
    assert body["request"]["pipeline"] == [
        {"source": {"pages": {"appId": 'expandAppIds("*")'}}},
        {"filter": "lastUpdatedAt >= 5"},
        {"sort": ["lastUpdatedAt", "id"]},
        {"limit": 100},
    ]


def test_pipeline_body_with_null_source_params():
    body = aggregation.pipeline_body("accounts", None, [{"count": None}], request_id="x")
    assert body["request"]["pipeline"] == [{"source": {"accounts": None}}, {"count": None}]


def test_after_key_treats_a_null_as_sorting_first():
    expression = aggregation.after_key(["day", "accountId", "appId"], [5, None, 7])
    assert expression == "day > 5 || (day == 5 && accountId != null) || (day == 5 && accountId == null && appId > 7)"


def test_event_page_carries_its_time_series_next_to_the_source():
    body = aggregation.keyset_page(
        "featureEvents", {"appId": 1}, sort_paths=["day", "visitorId"], lower_bound=None, page_size=10, request_id="x",
        window=aggregation.time_series("day", 1700000000000, 3),
    )
    assert body["request"]["pipeline"] == [
        {"source": {"featureEvents": {"appId": 1}, "timeSeries": {"period": "dayRange", "first": 1700000000000, "count": 3}}},
        {"sort": ["day", "visitorId"]},
        {"limit": 10},
    ]
