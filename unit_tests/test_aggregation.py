from source_pendo import aggregation


def test_literal_quotes_and_escapes_strings_and_keeps_unicode():
    assert aggregation.literal('a"b\\c') == '"a\\"b\\\\c"'
    assert aggregation.literal("Zoë 東京") == '"Zoë 東京"'
    assert aggregation.literal(12) == "12"
    assert aggregation.literal(None) == "null"
    assert aggregation.literal(True) == "true"


def test_compare_writes_one_comparison_with_a_literal():
    assert aggregation.compare("visitorId", (">", 'a"b')) == 'visitorId > "a\\"b"'
    assert aggregation.compare("lastUpdatedAt", ("==", 1700000000000)) == "lastUpdatedAt == 1700000000000"


def test_keyset_page_body_has_source_filter_sort_and_limit_in_order():
    body = aggregation.keyset_page(
        "pages", {"appId": 'expandAppIds("*")'}, group_path="lastUpdatedAt", comparison=(">", 5), sort_paths=["lastUpdatedAt"], limit=100, request_id="pages"
    )
    assert body["response"] == {"mimeType": "application/json"}
    assert body["request"]["requestId"] == "source-pendo:pages"
    assert body["request"]["pipeline"] == [
        {"source": {"pages": {"appId": 'expandAppIds("*")'}}},
        {"filter": "lastUpdatedAt > 5"},
        {"sort": ["lastUpdatedAt"]},
        {"limit": 100},
    ]


def test_pipeline_body_with_null_source_params():
    body = aggregation.pipeline_body("accounts", None, [{"count": None}], request_id="x")
    assert body["request"]["pipeline"] == [{"source": {"accounts": None}}, {"count": None}]


def test_a_whole_group_is_asked_for_without_a_limit():
    body = aggregation.keyset_page("visitors", None, group_path="metadata.auto.lastupdated", comparison=("==", 7), sort_paths=["metadata.auto.lastupdated", "visitorId"], limit=None, request_id="v")
    assert body["request"]["pipeline"][1:] == [{"filter": "metadata.auto.lastupdated == 7"}, {"sort": ["metadata.auto.lastupdated", "visitorId"]}]


def test_event_page_carries_its_time_series_next_to_the_source():
    body = aggregation.keyset_page(
        "featureEvents", {"appId": 1}, group_path="visitorId", comparison=None, sort_paths=["visitorId"], limit=10, request_id="x",
        window=aggregation.time_series("day", 1700000000000, 3),
    )
    assert body["request"]["pipeline"] == [
        {"source": {"featureEvents": {"appId": 1}, "timeSeries": {"period": "dayRange", "first": 1700000000000, "count": 3}}},
        {"sort": ["visitorId"]},
        {"limit": 10},
    ]
