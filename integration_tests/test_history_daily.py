"""Daily incremental syncs of visitor_history against the simulator, over real sockets: after each
sync the destination holds exactly the simulator's history of every complete day, and each sync
fetches the new days and only those old days whose activity changed (late data, retagging)."""

import json
from collections import Counter
from datetime import datetime, timezone

import pytest
from airbyte_cdk.models import SyncMode

from integration_tests.pendo_simulator import PendoSimulator
from source_pendo.records import iso_from_ms, ms_from_iso
from source_pendo.windows import BUCKET_MS, anchor, label_of, label_of_bucket, last_complete_label

from .conftest import records_of, run_read, states_of
from .test_events import ALL_APPS

DAY = BUCKET_MS["day"]
DAYS = 14  # of history before the first sync
ACTIVITY_SOURCES = ("events", "pageEvents", "featureEvents")


class Destination:
    """What a destination holds of visitor_history: per day, the entries of the sync that fetched it last
    (a fetched day is the whole day as Pendo has it), and what the platform saves: the last STATE."""

    def __init__(self, simulator, config):
        self.simulator = simulator
        self.config = config
        self.days = {}
        self.state = None

    def sync(self):
        """One incremental sync; returns (the output, {day label: visitor ids fetched})."""
        self.simulator.clear_requests()
        output = run_read(self.config, ["visitor_history"], SyncMode.incremental, state=[self.state] if self.state else None)
        self.state = states_of(output, "visitor_history")[-1]
        fetched = {}
        for request in self.simulator.requests:
            if request["path"].endswith("/history"):
                day = label_of_bucket(int(request["query"]["starttime"]), "day")
                fetched.setdefault(day, []).append(request["path"])
        by_day = {day: Counter() for day in fetched}
        for record in records_of(output, "visitor_history"):
            by_day[self.day_of(ms_from_iso(record["ts"]))][entry_of(record)] += 1
        self.days.update(by_day)
        return output, {day: sorted(paths) for day, paths in fetched.items()}

    def day_of(self, ms):
        return label_of_bucket(self.simulator.bucket_start(ms, "day"), "day")


def entry_of(record):
    return tuple(record.get(column) for column in ("visitor_id", "ts", "last_ts", "type", "page_id", "feature_id", "app_id"))


def truth(simulator, label):
    """The simulator's history of one day, of its identified visitors, as the connector's records say it."""
    start = simulator.bucket_start(anchor(label, "day"), "day")
    entries = Counter()
    for visitor in simulator.dataset.visitors:
        if not visitor["visitorId"].startswith("_PENDO_T_"):
            for entry in simulator.events.history(visitor["visitorId"], start, simulator.clock_ms):
                entries[(visitor["visitorId"], iso_from_ms(entry["ts"]), iso_from_ms(entry["lastTs"]), entry["type"], entry["pageId"], entry["featureId"], entry["appId"])] += 1
    return entries


def active_visitors(simulator, label):
    """The identified visitors with activity on the day: the history requests it deserves."""
    return sorted({entry[0] for entry in truth(simulator, label)})


def activity(simulator, label):
    """What Pendo's aggregates show of a day: it changes exactly when the day's activity does."""
    start = simulator.bucket_start(anchor(label, "day"), "day")
    return tuple(json.dumps(simulator.event_rows(source, "day", start, start + 1, ALL_APPS), sort_keys=True) for source in ACTIVITY_SOURCES)


def daily_config(simulator, lookback=10):
    start = datetime.fromtimestamp(label_of(simulator.clock_ms - DAYS * DAY, "day") / 1000, tz=timezone.utc)
    return {"api_key": simulator.api_key, "base_url": simulator.url, "start_date": start.strftime("%Y-%m-%d"), "page_size": 200,
            "requests_per_second": 1000, "lookback_window": lookback}


def complete_days(simulator, config):
    first = label_of(ms_from_iso(config["start_date"] + "T00:00:00Z"), "day")
    return list(range(first, last_complete_label(simulator.clock_ms, "day") + 1, DAY))


def assert_holds_every_complete_day_exactly(simulator, destination):
    days = complete_days(simulator, destination.config)
    assert sorted(day for day, entries in destination.days.items() if entries) == [day for day in days if truth(simulator, day)]
    for day in days:
        assert destination.days.get(day, Counter()) == truth(simulator, day), iso_from_ms(day)


def first_sync(clock, lookback=10):
    destination = Destination(clock, daily_config(clock, lookback))
    _, fetched = destination.sync()
    assert sorted(fetched) == [day for day in complete_days(clock, destination.config) if active_visitors(clock, day)]
    assert_holds_every_complete_day_exactly(clock, destination)
    return destination


def test_daily_syncs_with_late_data_fetch_new_days_and_changed_days_only_and_hold_every_day_exactly(clock):
    destination = first_sync(clock)
    changed_per_sync, skipped_per_sync = [], []
    for _ in range(4):  # the simulator's activity ends 3 days after its initial clock
        saved = ms_from_iso(destination.state.stream.stream_state.ts)
        before = {day: activity(clock, day) for day in range(saved + DAY - 10 * DAY, saved + DAY, DAY)}
        clock.advance(DAY)
        output, fetched = destination.sync()
        new_days = list(range(saved + DAY, last_complete_label(clock.clock_ms, "day") + 1, DAY))
        changed = [day for day, seen in before.items() if activity(clock, day) != seen]
        assert sorted(fetched) == sorted(day for day in [*changed, *new_days] if active_visitors(clock, day))
        for day, paths in fetched.items():
            assert len(paths) == len(active_visitors(clock, day)) == len(set(paths)), "each active visitor of a fetched day once"
        assert output.is_in_logs(f"{len(changed) + len(new_days)} of {len(before) + len(new_days)} days changed since the last sync")
        assert_holds_every_complete_day_exactly(clock, destination)
        new_visitor_days = sum(len(active_visitors(clock, day)) for day in new_days)
        assert new_visitor_days, "every new day had activity"
        if not changed:
            # The target: a daily sync with nothing old changed costs at most 1.5 x its new visitor-days.
            assert sum(map(len, fetched.values())) == new_visitor_days <= 1.5 * new_visitor_days
        changed_per_sync.append(len(changed))
        skipped_per_sync.append(len(before) - len(changed))
    assert any(changed_per_sync), "late data reached some old day: the test would not show a re-read"
    assert 0 in changed_per_sync, "one sync had nothing old changed: the test would not show the target"
    assert all(skipped_per_sync), "every sync skipped some unchanged old day"


def test_a_sync_an_hour_later_fetches_only_the_days_late_events_reached(clock):
    destination = first_sync(clock)
    before = {day: activity(clock, day) for day in complete_days(clock, destination.config)}
    clock.advance(3_600_000)  # an hour: no day completes
    _, fetched = destination.sync()
    changed = [day for day, seen in before.items() if activity(clock, day) != seen]
    assert sorted(fetched) == changed != list(before), "only the days a late event reached within the hour"
    assert_holds_every_complete_day_exactly(clock, destination)
    _, fetched = destination.sync()  # at the same time again: nothing changed, nothing is fetched
    assert fetched == {}
    assert_holds_every_complete_day_exactly(clock, destination)
    assert_holds_every_complete_day_exactly(clock, destination)


@pytest.mark.parametrize("kind", ["page", "feature", "untagged"])
def test_a_retag_makes_the_days_it_changed_fetched_again_with_their_new_entries(clock, kind):
    destination = first_sync(clock)
    days = complete_days(clock, destination.config)[-5:]
    first, end = clock.bucket_start(anchor(days[1], "day"), "day"), clock.bucket_start(anchor(days[3], "day"), "day")
    before = {day: activity(clock, day) for day in days}
    truth_before = {day: truth(clock, day) for day in days}
    app = clock.dataset.default_app_id
    if kind == "untagged":
        [page] = [row["id"] for row in clock.dataset.pages if row["appId"] == app][:1]
        assert clock.tag_untagged(page, first_ms=first, end_ms=end) > 0
    else:
        counts = Counter(hit.object_id for hit in clock.events.hits if hit.kind == kind and hit.app_id == app and first <= hit.ts < end)
        (moved, _), (kept, _) = counts.most_common(2)
        assert clock.retag(kind, moved, kept, first_ms=first, end_ms=end) > 0
    retagged = [day for day in days if activity(clock, day) != before[day]]
    assert retagged and set(retagged) <= set(days[1:3]) and all(truth(clock, day) != truth_before[day] for day in retagged)
    _, fetched = destination.sync()  # the same hour: only the retag changed anything
    assert sorted(fetched) == retagged
    assert_holds_every_complete_day_exactly(clock, destination)


def test_when_pendo_refuses_the_group_stage_every_day_is_fetched_with_one_warning(monkeypatch):
    with PendoSimulator(seed=11, variants=["no_group"]) as simulator:
        monkeypatch.setattr("source_pendo.windows.now_ms", lambda: simulator.clock_ms)
        destination = Destination(simulator, daily_config(simulator))
        output, fetched = destination.sync()
        warnings = [m.log.message for m in output.logs if m.log.level.value == "WARN" and "could not tell which days" in m.log.message]
        assert len(warnings) == 1 and "HTTP 400" in warnings[0] and "bad group" in warnings[0]
        first = ms_from_iso(destination.state.stream.stream_state.ts) + DAY - 10 * DAY
        simulator.advance(DAY)
        output, fetched = destination.sync()
        newest = label_of(simulator.clock_ms - 12 * 3_600_000, "day")  # up to the current day, as without change detection
        assert sorted(fetched) == [day for day in range(first, newest + 1, DAY) if active_visitors(simulator, day)]
        assert len([m for m in output.logs if "could not tell which days" in m.log.message]) == 1
        for day in complete_days(simulator, destination.config):
            assert destination.days.get(day, Counter()) == truth(simulator, day)
