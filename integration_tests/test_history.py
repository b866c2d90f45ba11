"""visitor_history against the simulator: only active visitor-days are fetched, each once."""

from collections import Counter
from datetime import datetime, timezone

from airbyte_cdk.models import SyncMode

from source_pendo.records import iso_from_ms
from source_pendo.windows import BUCKET_MS, anchor, label_of, last_complete_label, newest_label

from .conftest import identity_columns, primary_key, records_of, run_read, states_of

DAY = BUCKET_MS["day"]


def history_config(config, simulator, days):
    start = datetime.fromtimestamp(label_of(simulator.clock_ms - days * DAY, "day") / 1000, tz=timezone.utc)
    return {**config, "start_date": start.strftime("%Y-%m-%d"), "page_size": 200}


def expected_entries(simulator, days, anonymous=False, through=None):
    """Every visible history entry of every visitor on the days the connector covers (through the
    newest day, or the day labelled `through`)."""
    first = label_of(simulator.clock_ms - days * DAY, "day")
    last = newest_label(simulator.clock_ms, "day") if through is None else through
    entries = Counter()
    for label in range(first, last + 1, DAY):
        day_start = simulator.bucket_start(anchor(label, "day"), "day")
        for visitor in simulator.dataset.visitors:
            visitor_id = visitor["visitorId"]
            if visitor_id.startswith("_PENDO_T_") and not anonymous:
                continue
            for entry in simulator.events.history(visitor_id, day_start, simulator.clock_ms):
                entries[(visitor_id, iso_from_ms(entry["ts"]), entry["type"], entry["appId"])] += 1
    return entries


def entries_of(records):
    return Counter((r["visitor_id"], r["ts"], r["type"], r["app_id"]) for r in records)


def test_history_holds_every_entry_of_every_active_visitor_day_once(clock, config):
    output = run_read(history_config(config, clock, days=12), ["visitor_history"])
    records = records_of(output, "visitor_history")
    assert entries_of(records) == expected_entries(clock, days=12)
    history_requests = [r for r in clock.requests if "/history" in r["path"]]
    assert len({(r["path"], r["query"]["starttime"]) for r in history_requests}) == len(history_requests), "a visitor-day was fetched twice"
    active = {(r["visitor_id"], r["ts"][:10]) for r in records}
    assert len(history_requests) <= len(active) + len({v for v, _ in active}), "days without activity were fetched"


def test_every_entry_has_its_own_primary_key_never_null(clock, config):
    records = records_of(run_read(history_config(config, clock, days=30), ["visitor_history"]), "visitor_history")
    [key] = primary_key("visitor_history")
    assert all(record.get(key) for record in records)
    assert len({record[key] for record in records}) == len(records)
    # The columns the key is made of are often null: they could not be the key themselves.
    assert any(record.get(column) is None for record in records for column in identity_columns("visitor_history"))


def test_visitor_ids_are_url_encoded(clock, config):
    records = records_of(run_read(history_config(config, clock, days=40), ["visitor_history"]), "visitor_history")
    odd = {r["visitor_id"] for r in records if not r["visitor_id"].isascii() or any(c in r["visitor_id"] for c in '"\\@ ')}
    assert odd, "the simulator's visitors with unicode, quotes, backslashes or @ had history"


def test_anonymous_visitors_only_when_asked(clock, config):
    cfg = history_config(config, clock, days=8)
    records = records_of(run_read({**cfg, "include_anonymous_visitors": True}, ["visitor_history"]), "visitor_history")
    assert entries_of(records) == expected_entries(clock, days=8, anonymous=True)
    assert any(r["visitor_id"].startswith("_PENDO_T_") for r in records)


def test_incremental_reads_only_the_lookback_and_new_days_and_loses_nothing(clock, config):
    cfg = {**history_config(config, clock, days=30), "lookback_window": 10}
    first = run_read(cfg, ["visitor_history"], SyncMode.incremental)
    state = states_of(first, "visitor_history")[-1]
    clock.advance(3 * DAY)
    clock.clear_requests()
    second = run_read(cfg, ["visitor_history"], SyncMode.incremental, state=[state])
    fetched_days = {int(r["query"]["starttime"]) for r in clock.requests if "/history" in r["path"]}
    saved_label = label_of(int(datetime.fromisoformat(state.stream.stream_state.ts.replace("Z", "+00:00")).timestamp() * 1000), "day")
    assert fetched_days and min(fetched_days) >= saved_label + DAY - 10 * DAY - DAY, "only the lookback window and later days"
    # Late entries (up to 9 days late here) all fall inside the 10-day lookback: the union is exact
    # through the last complete day (an incremental sync fetches a day once it has ended everywhere).
    union = set(entries_of(records_of(first, "visitor_history"))) | set(entries_of(records_of(second, "visitor_history")))
    assert union == set(expected_entries(clock, days=33, through=last_complete_label(clock.clock_ms, "day")))
    assert set(entries_of(records_of(second, "visitor_history"))) - set(entries_of(records_of(first, "visitor_history")))


def test_never_further_back_than_pendo_keeps(clock, config):
    run_read({**config, "start_date": "2025-01-01"}, ["visitor_history"])
    starts = [int(r["query"]["starttime"]) for r in clock.requests if "/history" in r["path"]]
    assert starts and min(starts) >= clock.clock_ms - 181 * DAY


def test_visitor_days_are_fetched_concurrently_and_emitted_in_order(clock, config):
    cfg = history_config(config, clock, days=6)
    sequential = records_of(run_read({**cfg, "max_concurrent_requests": 1}, ["visitor_history"]), "visitor_history")
    gate = clock.hold_together("/history", parties=4, timeout=5)
    concurrent = records_of(run_read({**cfg, "max_concurrent_requests": 4}, ["visitor_history"]), "visitor_history")
    assert gate.opened, "four history requests were never under way at once"
    assert concurrent == sequential


def test_one_request_at_a_time_cannot_open_the_gate(clock, config):
    """The gate above proves something: a sequential read never opens it."""
    gate = clock.hold_together("/history", parties=2, timeout=0.5)
    run_read({**history_config(config, clock, days=2), "max_concurrent_requests": 1}, ["visitor_history"])
    assert not gate.opened
