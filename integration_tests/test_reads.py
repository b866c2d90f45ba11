"""Full, incremental and resumed reads against the simulator: every row once, nothing lost."""

from collections import Counter

import pytest
from airbyte_cdk.models import SyncMode

from source_pendo.records import iso_from_ms, snake_keys

from .conftest import ENTITY_STREAMS, records_of, run_read, states_of

PRIMARY_KEYS = {"accounts": "account_id", "visitors": "visitor_id"}
DATASET_KEYS = {"accounts": "accountId", "visitors": "visitorId"}


def expected_rows(simulator, stream):
    rows = getattr(simulator.dataset, stream)
    if stream == "visitors":
        rows = [row for row in rows if not row["visitorId"].startswith("_PENDO_T_")]
    return rows


def key_counts(records, stream):
    return Counter(record[PRIMARY_KEYS.get(stream, "id")] for record in records)


@pytest.mark.parametrize("stream", ENTITY_STREAMS + ["reports", "segments"])
def test_full_read_equals_the_simulators_data_set(simulator, config, stream):
    records = records_of(run_read(config, [stream]), stream)
    expected = expected_rows(simulator, stream)
    counts = key_counts(records, stream)
    assert max(counts.values()) == 1, "a row was emitted twice"
    assert set(counts) == {row[DATASET_KEYS.get(stream, "id")] for row in expected}
    assert len(records) == len(expected)


def test_accounts_and_visitors_carry_every_metadata_group_and_iso_times(simulator, config):
    output = run_read(config, ["accounts"])
    by_id = {r["account_id"]: r for r in records_of(output, "accounts")}
    for row in simulator.dataset.accounts:
        record = by_id[row["accountId"]]
        for group, fields in row["metadata"].items():
            assert set(record[f"metadata_{group}"]) == set(fields)
        assert record["lastupdated"] == iso_from_ms(row["metadata"]["auto"]["lastupdated"])


def test_object_times_become_iso_and_names_snake_case(simulator, config):
    records = {r["id"]: r for r in records_of(run_read(config, ["features"]), "features")}
    for row in simulator.dataset.features:
        record = records[row["id"]]
        assert record["last_updated_at"] == iso_from_ms(row["lastUpdatedAt"])
        assert record["app_id"] == row["appId"]
        # The CDK leaves null fields out of RECORD messages.
        assert set(record) == {name for name, value in snake_keys(row).items() if value is not None}


def test_metadata_streams_are_the_catalogue(simulator, config):
    output = run_read(config, ["metadata_accounts", "metadata_visitors"])
    assert records_of(output, "metadata_accounts") == [snake_keys(simulator.dataset.account_schema)]
    assert records_of(output, "metadata_visitors") == [snake_keys(simulator.dataset.visitor_schema)]


def test_anonymous_visitors_only_when_asked(simulator, config):
    records = records_of(run_read({**config, "include_anonymous_visitors": True}, ["visitors"]), "visitors")
    assert {r["visitor_id"] for r in records} == {row["visitorId"] for row in simulator.dataset.visitors}
    assert any(r["visitor_id"].startswith("_PENDO_T_") for r in records)


def test_app_ids_limit_objects_to_those_apps(simulator, config):
    app_id = simulator.dataset.apps[1]["id"]
    output = run_read({**config, "app_ids": [app_id]}, ["pages", "reports"])
    pages = records_of(output, "pages")
    assert pages and {r["app_id"] for r in pages} == {app_id}
    assert {r["id"] for r in pages} == {row["id"] for row in simulator.dataset.pages if row["appId"] == app_id}
    assert all(r.get("app_id") in (app_id, None) for r in records_of(output, "reports"))


@pytest.mark.parametrize("stream", ENTITY_STREAMS)
def test_second_incremental_read_returns_exactly_the_changed_rows(simulator, config, stream):
    first = run_read(config, [stream], SyncMode.incremental)
    assert len(records_of(first, stream)) == len(expected_rows(simulator, stream))
    simulator.advance(60_000)
    changed = simulator.touch(stream, 5)
    if stream == "visitors":
        changed = [v for v in changed if not v.startswith("_PENDO_T_")]
    second = run_read(config, [stream], SyncMode.incremental, state=[states_of(first, stream)[-1]])
    assert sorted(key_counts(records_of(second, stream), stream).elements()) == sorted(changed)


@pytest.mark.parametrize("stream", ["accounts", "visitors", "features"])
def test_a_read_resumed_from_a_mid_stream_state_completes_the_set(simulator, config, stream):
    first = run_read(config, [stream], SyncMode.incremental)
    messages = first.records_and_state_messages
    mid_state_index = [i for i, m in enumerate(messages) if m.state is not None][1]
    before = [m.record.data for m in messages[:mid_state_index] if m.record is not None]
    assert 0 < len(before) < len(expected_rows(simulator, stream))
    resumed = run_read(config, [stream], SyncMode.incremental, state=[messages[mid_state_index].state])
    counts = key_counts(before + records_of(resumed, stream), stream)
    assert max(counts.values()) == 1
    assert len(counts) == len(expected_rows(simulator, stream))


def test_every_page_is_checkpointed(simulator, config):
    output = run_read(config, ["pages"], SyncMode.incremental)
    records = records_of(output, "pages")
    assert len(states_of(output, "pages")) >= len(records) // config["page_size"]


def test_single_request_streams_read_everything_even_with_a_saved_state(simulator, config):
    """PyAirbyte passes state back on every read; a full-refresh stream must not take it as "done"."""
    from airbyte_cdk.test.state_builder import StateBuilder

    state = StateBuilder().with_stream_state("reports", {"__ab_full_refresh_sync_complete": True}).build()
    output = run_read(config, ["reports"], state=state)
    assert len(records_of(output, "reports")) == len(simulator.dataset.reports)


def test_progress_is_logged_once_per_page(simulator, config):
    output = run_read(config, ["pages"])
    progress = [log.log.message for log in output.logs if log.log.message.startswith("Stream 'pages': page ")]
    pages = -(-len(simulator.dataset.pages) // config["page_size"])
    assert len(progress) in (pages, pages + 1)  # a last, empty page when the rows fill whole pages
    assert f"({len(simulator.dataset.pages)} so far)" in progress[-1]
