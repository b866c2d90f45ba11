import pytest
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from source_pendo.windows import (
    BUCKET_MS,
    Window,
    WindowPlan,
    anchor,
    compact_label,
    label_from_compact,
    label_of,
    label_between_starts,
    label_of_bucket,
    labels_touched_ahead,
    labels_touching,
    last_complete_label,
    newest_label,
    runs_of,
)

DAY, HOUR = BUCKET_MS["day"], BUCKET_MS["hour"]


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1000)


def test_labels_and_anchors():
    assert label_of(ms("2026-10-30T17:45:00"), "day") == ms("2026-10-30T00:00:00")
    assert anchor(ms("2026-10-30T00:00:00"), "day") == ms("2026-10-30T12:00:00")
    assert anchor(ms("2026-10-30T17:00:00"), "hour") == ms("2026-10-30T17:15:00")


def test_a_day_is_complete_only_once_every_time_zone_has_finished_it():
    assert last_complete_label(ms("2026-11-01T13:59:00"), "day") == ms("2026-10-30T00:00:00")
    assert last_complete_label(ms("2026-11-01T14:00:00"), "day") == ms("2026-10-31T00:00:00")
    assert last_complete_label(ms("2026-11-01T10:30:00"), "hour") == ms("2026-11-01T08:00:00")


def test_a_settling_margin_holds_a_bucket_back_that_much_longer():
    eight_hours = 8 * HOUR
    assert last_complete_label(ms("2026-11-01T21:59:00"), "day", eight_hours) == ms("2026-10-30T00:00:00")
    assert last_complete_label(ms("2026-11-01T22:00:00"), "day", eight_hours) == ms("2026-10-31T00:00:00")
    assert last_complete_label(ms("2026-11-01T18:30:00"), "hour", eight_hours) == ms("2026-11-01T08:00:00")


def test_newest_label_is_the_one_whose_anchor_has_passed():
    assert newest_label(ms("2026-11-01T11:00:00"), "day") == ms("2026-10-31T00:00:00")
    assert newest_label(ms("2026-11-01T12:00:00"), "day") == ms("2026-11-01T00:00:00")


def test_windows_tile_the_range_and_adapt_to_rows():
    plan = WindowPlan.over("day", ms("2026-10-01T00:00:00"), ms("2026-10-20T00:00:00"), page_size=100)
    seen = []
    for window in plan.windows():
        seen.append(window)
        plan.observe(window, rows=10 if len(seen) < 3 else 400)
    assert seen[0] == Window("day", ms("2026-10-01T00:00:00"), 1)
    assert [w.buckets for w in seen[:4]] == [1, 2, 4, 1]
    assert all(a.end_label == b.first_label for a, b in zip(seen, seen[1:]))
    assert seen[-1].last_label == ms("2026-10-20T00:00:00")
    assert sum(w.buckets for w in seen) == 20


def test_windows_never_exceed_their_maximum():
    plan = WindowPlan.over("hour", 0, 1000 * HOUR, page_size=100)
    sizes = []
    for window in plan.windows():
        sizes.append(window.buckets)
        plan.observe(window, rows=0)
    assert max(sizes) == 168 and sum(sizes) == 1001


@pytest.mark.parametrize("period", ["day", "hour"])
@pytest.mark.parametrize("offset_minutes", [-12 * 60, -5 * 60, -45, 0, 30, 5 * 60 + 45, 11 * 60 + 59])
def test_a_buckets_start_names_the_label_whose_anchor_it_holds(period, offset_minutes):
    label = 20_000 * BUCKET_MS["day"] + (7 * BUCKET_MS["hour"] if period == "hour" else 0)
    anchor_ms = anchor(label, period)
    # The local bucket holding the anchor starts at the last local midnight (or hour top) before it.
    local = anchor_ms + offset_minutes * 60_000
    bucket_start = local - local % BUCKET_MS[period] - offset_minutes * 60_000
    assert bucket_start <= anchor_ms < bucket_start + BUCKET_MS[period]
    assert label_of_bucket(bucket_start, period) == label


def test_labels_are_written_compactly_and_read_back_for_their_own_period_only():
    day, hour = ms("2026-11-24T00:00:00"), ms("2026-11-24T05:00:00")
    assert (compact_label(day, "day"), compact_label(hour, "hour")) == ("2026-11-24", "2026-11-24T05")
    assert (label_from_compact("2026-11-24", "day"), label_from_compact("2026-11-24T05", "hour")) == (day, hour)
    assert label_from_compact("2026-11-24T05", "day") is None and label_from_compact("2026-11-24", "hour") is None
    assert label_from_compact("yesterday", "day") is None


def test_changed_labels_become_runs_whose_windows_never_span_a_gap():
    labels = [ms(f"2026-10-{d:02d}T00:00:00") for d in (3, 4, 5, 9, 15, 16, 17, 18, 19, 20)]
    runs = runs_of(reversed(labels), "day")
    assert runs == [(labels[0], labels[2]), (labels[3], labels[3]), (labels[4], labels[9])]
    plan = WindowPlan("day", runs, page_size=100)
    seen = []
    for window in plan.windows():
        seen.append(window)
        plan.observe(window, rows=10)  # small windows: the next ones grow, within their run
    read = [window.first_label + i * DAY for window in seen for i in range(window.buckets)]
    assert read == labels, "every changed bucket read once, and no other"
    assert [(w.first_label, w.buckets) for w in seen] == [(labels[0], 1), (labels[1], 2), (labels[3], 1), (labels[4], 6)]


def test_the_plan_says_what_it_reads_next_and_how_many_windows_are_left():
    runs = [(ms("2026-10-03T00:00:00"), ms("2026-10-05T00:00:00")), (ms("2026-10-09T00:00:00"), ms("2026-10-09T00:00:00"))]
    plan = WindowPlan("day", runs, page_size=100)
    first = Window("day", ms("2026-10-03T00:00:00"), 1)
    assert plan.next_read_after(first) == ms("2026-10-04T00:00:00")
    assert plan.windows_left(after=first) == 3
    end_of_run = Window("day", ms("2026-10-04T00:00:00"), 2)
    assert plan.next_read_after(end_of_run) == ms("2026-10-09T00:00:00")
    assert plan.windows_left(after=end_of_run) == 1
    last = Window("day", ms("2026-10-09T00:00:00"), 1)
    assert plan.next_read_after(last) is None and plan.windows_left(after=last) == 0


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Auckland", "Asia/Kolkata", "Europe/Berlin", "UTC", "America/New_York", "Etc/GMT+12"])
@pytest.mark.parametrize("period", ["day", "hour"])
def test_the_labels_a_moment_touches_hold_the_label_of_its_bucket_in_any_time_zone(zone, period):
    """The label of a moment's Pendo bucket (the one whose anchor the bucket holds) is among the few
    `labels_touching` names, across two daylight-saving changes, without knowing the zone."""
    tz = ZoneInfo(zone)
    start = datetime(2026, 3, 27, tzinfo=timezone.utc)
    for step in range(0, 10 * 24 * 60, 37):
        moment = start + timedelta(minutes=step)
        local = moment.astimezone(tz)
        if period == "day":
            bucket_start = datetime(local.year, local.month, local.day, tzinfo=tz).astimezone(timezone.utc)
        else:
            bucket_start = local.replace(minute=0, second=0, microsecond=0).astimezone(timezone.utc)
        label = label_of_bucket(int(bucket_start.timestamp() * 1000), period)
        ms = int(moment.timestamp() * 1000)
        touched = labels_touching(ms, ms, period)
        assert label in touched and len(touched) <= 3
        assert touched[-1] <= label + labels_touched_ahead(period) * BUCKET_MS[period]


def local_bucket_starts(zone: str, period: str, first: datetime, days: int) -> list:
    """The starts (epoch ms) of the zone's buckets from the one holding `first`, over `days` days."""
    tz, starts = ZoneInfo(zone), []
    local = first.astimezone(tz)
    if period == "day":
        day = local.date()
        for n in range(days + 1):
            date = day + timedelta(days=n)
            starts.append(int(datetime(date.year, date.month, date.day, tzinfo=tz).timestamp() * 1000))
    else:
        top = local.replace(minute=0, second=0, microsecond=0)
        starts = [int(top.timestamp() * 1000) + h * HOUR for h in range(days * 24 + 1)]
    return starts


def label_whose_anchor_lies_in(start: int, end: int, period: str) -> int:
    [label] = [label for label in range(label_of(start, period) - BUCKET_MS[period], end, BUCKET_MS[period]) if start <= anchor(label, period) < end]
    return label


# Kiritimati +14, Etc/GMT+12 −12, Kolkata +5:30, New York and Berlin across a daylight-saving change
# (23-hour and 25-hour days), Auckland south of the equator.
ZONES = ["Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kolkata", "America/New_York", "Europe/Berlin", "Pacific/Auckland", "UTC"]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("period", ["day", "hour"])
@pytest.mark.parametrize("first", [datetime(2026, 3, 26, tzinfo=timezone.utc), datetime(2026, 10, 29, tzinfo=timezone.utc)])
def test_known_bucket_starts_place_a_row_in_exactly_its_own_bucket(zone, period, first):
    starts = local_bucket_starts(zone, period, first, 8)
    for start, end in zip(starts[1:], starts[2:-1]):
        label = label_whose_anchor_lies_in(start, end, period)
        for first_ms, last_ms in ((start, start), (start, end - 1), (end - 1, end - 1), ((start + end) // 2, end - 1)):
            assert label_between_starts(first_ms, last_ms, period, starts) == label, (zone, start, first_ms, last_ms)
        assert label_between_starts(end - 1, end, period, starts) is None, "a row across a known start is no one bucket's"


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("period", ["day", "hour"])
def test_with_some_starts_unknown_a_row_is_placed_right_or_not_at_all(zone, period):
    """Every other bucket's start unknown: a row is placed from one start and the shortest length of a
    bucket (hours: from any start, all hours start the same minutes past a UTC hour), or left to
    `labels_touching`; never in a wrong bucket."""
    starts = local_bucket_starts(zone, period, datetime(2026, 3, 26, tzinfo=timezone.utc), 8)
    known = starts[::2]
    placed = unplaced = 0
    for start, end in zip(starts[1:], starts[2:-1]):
        label = label_whose_anchor_lies_in(start, end, period)
        for moment in range(start, end, (end - start) // 7):
            found = label_between_starts(moment, moment, period, known)
            assert found in (label, None)
            placed, unplaced = placed + (found is not None), unplaced + (found is None)
    assert placed and (unplaced if period == "day" else not unplaced)
    assert label_between_starts(starts[3], starts[3], period, []) is None


def test_one_known_hour_start_places_every_hour_of_a_half_hour_zone():
    """Kolkata's hours start at :30 UTC: one start a week away is enough."""
    known = [ms("2026-11-08T10:30:00")]
    assert label_between_starts(ms("2026-11-01T03:31:00"), ms("2026-11-01T04:29:00"), "hour", known) == ms("2026-11-01T04:00:00")
    assert label_between_starts(ms("2026-11-01T03:31:00"), ms("2026-11-01T04:31:00"), "hour", known) is None


def test_a_daylight_saving_day_is_placed_by_its_actual_starts_not_24_hours():
    """New York, 2026-11-01: 25 hours from 04:00Z to 05:00Z the next day."""
    starts = local_bucket_starts("America/New_York", "day", datetime(2026, 11, 1, 12, tzinfo=timezone.utc), 3)
    assert starts[1] - starts[0] == 25 * HOUR
    late_in_the_long_day = ms("2026-11-02T04:30:00")  # 23:30 local on Nov 1, 24.5 h after its start
    assert label_between_starts(late_in_the_long_day, late_in_the_long_day, "day", starts) == ms("2026-11-01T00:00:00")
