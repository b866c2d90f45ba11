"""Daily syncs: what a connection that syncs every day costs in requests and rows, and whether it
still has every row.

    python bench/daily.py                 # a 30-day first sync, then 3 daily syncs (the simulator's data ends 3 days after its clock), with a retag before the second
    python bench/daily.py --smoke         # a small simulator and 2 daily syncs (CI: exits 1 if a row is lost or a stream exceeds the bound below)
    python bench/daily.py --json daily.json

Two runs side by side, on the same simulated Pendo with late data (events arriving hours to days
after they happened) and one retroactive retag of a page:
- **default**: source-pendo's default settings; Pendo answers the fingerprint query;
- **blunt lookback**: the same settings, but the simulator refuses the fingerprint query (variant
  `no_group`), so every stream re-reads its whole lookback as source-pendo 1.0 did.

Every sync is a real `read` over sockets against the simulator (in this process, its clock pinned
to the simulator's). Per daily sync and stream: records emitted, of them new rows, rows whose
values changed, and rows re-emitted unchanged; requests; the wall time projected at 300 ms per
request and `max_concurrent_requests` in flight (or the request budget, if that is slower); rows
lost (the union of every record so far, latest value per key, against the simulator's data); and
whether each event stream stayed within issue #13's bound: records emitted ≤ the simulator's rows in
the days whose content changed since the previous sync, plus its rows in the days still settling
(computed from the simulator's own buckets, not from what the connector saw).
Then the daily cost of visitor_history projected to 10,000 and 50,000 daily active visitors.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import orjson  # noqa: E402
from airbyte_cdk.models import SyncMode  # noqa: E402
from airbyte_cdk.test.catalog_builder import CatalogBuilder  # noqa: E402
from airbyte_cdk.test.entrypoint_wrapper import read  # noqa: E402

from integration_tests.pendo_simulator import PendoSimulator  # noqa: E402
from source_pendo import windows  # noqa: E402
from source_pendo.config import DEFAULTS  # noqa: E402
from source_pendo.records import iso_from_ms, snake_case  # noqa: E402
from source_pendo.row_key import ROW_KEY  # noqa: E402
from source_pendo.source import SourcePendo  # noqa: E402
from source_pendo.streams.events import EventStream  # noqa: E402

DAY_MS = windows.BUCKET_MS["day"]
ALL_APPS = 'expandAppIds("*")'
SOURCES = {
    "events": "events",
    "page_events": "pageEvents",
    "feature_events": "featureEvents",
    "track_events": "trackEvents",
    "guide_events": "guideEvents",
    "poll_events": "pollEvents",
}
STREAMS = [*SOURCES, "visitor_history"]
LATENCY_S = 0.3
DAILY_ACTIVE_VISITORS = (10_000, 50_000)
SIZES = {"full": dict(visitors=300, hits_per_day=300, first_days=30, syncs=3, retag_day=2), "smoke": dict(visitors=30, hits_per_day=20, first_days=8, syncs=2, retag_day=1)}
RUNS = [("default", ()), ("blunt lookback", ("no_group",))]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small and quick (CI)")
    parser.add_argument("--json", help="write every number to this file")
    args = parser.parse_args(argv)
    size = SIZES["smoke" if args.smoke else "full"]
    logging.disable(logging.WARNING)  # the connector's own log lines: the numbers below say what matters
    results = {name: run(variants, **size) for name, variants in RUNS}
    print(report(results, size))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)
    lost = sum(sync["lost"][stream] for result in results.values() for sync in result["syncs"] for stream in STREAMS)
    over = exceeded(results["default"])
    if over:
        print(f"Default settings exceeded the bound of re-emitted rows: {over}", file=sys.stderr)
    return 1 if lost or (args.smoke and over) else 0


def run(variants, *, visitors: int, hits_per_day: int, first_days: int, syncs: int, retag_day: int) -> Dict[str, Any]:
    with PendoSimulator(seed=5, visitors=visitors, hits_per_day=hits_per_day, variants=variants) as sim:
        pinned = windows.now_ms
        windows.now_ms = lambda: sim.clock_ms
        try:
            config = connector_config(sim, first_days)
            known: Dict[str, Dict[str, bytes]] = {stream: {} for stream in STREAMS}
            state = None
            held_before: Dict[str, Dict[int, List[bytes]]] = {}
            results = []
            for day in range(syncs + 1):
                if day:
                    sim.advance(DAY_MS)
                if day == retag_day:
                    retag(sim)
                held = {stream: day_contents(sim, config, stream) for stream in SOURCES}
                sim.clear_requests()
                output = read(SourcePendo(), config, catalog(), state=state)
                if output.errors:
                    raise SystemExit(f"the sync of day {day} failed: {output.get_formatted_error_message()}")
                state = [message.state for message in latest_states(output)]
                results.append({**measure(sim, config, output, known, day), "bound": {} if not day else emission_bound(sim, held_before, held)})
                held_before = held
            return {"variants": list(variants), "config": {k: v for k, v in config.items() if k not in ("api_key", "base_url")}, "syncs": results}
        finally:
            windows.now_ms = pinned


def connector_config(sim: PendoSimulator, first_days: int) -> Dict[str, Any]:
    start = datetime.fromtimestamp((sim.clock_ms - first_days * DAY_MS) / 1000, tz=timezone.utc)
    # Default settings, but for the request budget: the projection applies the default one.
    return {"api_key": sim.api_key, "base_url": sim.url, "start_date": start.strftime("%Y-%m-%dT00:00:00Z"), "requests_per_second": 1000}


def retag(sim: PendoSimulator) -> None:
    """A page rule edited: two days of one page's events, five to three days ago, now count as another page's."""
    pages = [page["id"] for page in sim.dataset.pages if page.get("appId") == sim.dataset.default_app_id]
    sim.retag("page", pages[0], pages[1], first_ms=sim.clock_ms - 5 * DAY_MS, end_ms=sim.clock_ms - 3 * DAY_MS)


def catalog():
    builder = CatalogBuilder()
    for stream in STREAMS:
        builder.with_stream(stream, SyncMode.incremental)
    return builder.build()


def latest_states(output) -> List[Any]:
    last = {}
    for message in output.state_messages:
        last[message.state.stream.stream_descriptor.name] = message
    return list(last.values())


def measure(sim: PendoSimulator, config: Dict[str, Any], output, known: Dict[str, Dict[str, bytes]], day: int) -> Dict[str, Any]:
    emitted, new, changed, unchanged = Counter(), Counter(), Counter(), Counter()
    for message in output.records:
        stream, data = message.record.stream, message.record.data
        content = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        before = known[stream].get(data[ROW_KEY])
        emitted[stream] += 1
        if before is None:
            new[stream] += 1
        elif before != content:
            changed[stream] += 1
        else:
            unchanged[stream] += 1
        known[stream][data[ROW_KEY]] = content
    requests = Counter(request_kind(entry) for entry in sim.requests)
    total_requests = sum(requests.values())
    concurrency = DEFAULTS["max_concurrent_requests"]
    return {
        "day": day,
        "emitted": dict(emitted),
        "new": dict(new),
        "changed": dict(changed),
        "re_emitted_unchanged": dict(unchanged),
        "requests": dict(requests),
        "projected_wall_s": max(total_requests * LATENCY_S / concurrency, total_requests / DEFAULTS["requests_per_second"]),
        "new_active_visitor_days": len(active_visitor_days(sim, config, complete_only=True) - active_visitor_days(sim, config, complete_only=True, before=DAY_MS)),
        "lost": {stream: lost_rows(sim, config, stream, known[stream]) for stream in STREAMS},
    }


def request_kind(entry: Dict[str, Any]) -> str:
    """The stream a request served (Pendo's requestId names it), and whether it asked for fingerprints."""
    if entry["path"].rstrip("/").endswith("/aggregation"):
        request_id = entry["body"]["request"]["requestId"]
        stream = request_id.split(":")[1]
        return f"{stream} fingerprints" if request_id.endswith((":fingerprints", ":bucket-starts")) else stream
    if entry["path"].endswith("/history"):
        return "visitor_history"
    return "other REST"


def lost_rows(sim: PendoSimulator, config: Dict[str, Any], stream: str, known: Dict[str, bytes]) -> int:
    """Rows of the simulator missing from the records so far, or there only with older values."""
    if stream == "visitor_history":
        have = Counter()
        for content in known.values():
            record = orjson.loads(content)
            have[(record["visitor_id"], record["ts"], record["type"], record.get("last_ts"))] += 1
        want = expected_history(sim, config)
        return sum((want - have).values())
    instance = stream_instance(stream)
    columns = [*instance.sort_columns, *(["numEvents", "numMinutes"] if stream not in ("guide_events", "poll_events") else [])]
    have = Counter()
    for content in known.values():
        record = orjson.loads(content)
        have[tuple(record.get(snake_case(column)) for column in columns)] += 1
    first = sim.bucket_start(windows.anchor(start_label(config), "day"), "day")
    end = sim.bucket_start(windows.anchor(windows.newest_label(sim.clock_ms, "day"), "day"), "day") + 1
    rows = sim.event_rows(SOURCES[stream], "day", first, end, ALL_APPS)
    want = Counter(tuple(iso_from_ms(row.get(c)) if c in ("day", "browserTime") else row.get(c) for c in columns) for row in rows)
    return sum((want - have).values())


def day_contents(sim: PendoSimulator, config: Dict[str, Any], stream: str) -> Dict[int, List[bytes]]:
    """{day label: the simulator's rows of that day, sorted} for every day from the start date: Pendo's
    buckets as the simulator cuts them in its time zone."""
    first = sim.bucket_start(windows.anchor(start_label(config), "day"), "day")
    end = sim.bucket_start(windows.anchor(windows.newest_label(sim.clock_ms, "day"), "day"), "day") + 1
    days: Dict[int, List[bytes]] = {}
    for row in sim.event_rows(SOURCES[stream], "day", first, end, ALL_APPS):
        start = row["day"] if "day" in row else sim.bucket_start(row["browserTime"], "day")
        days.setdefault(windows.label_of_bucket(start, "day"), []).append(orjson.dumps(row, option=orjson.OPT_SORT_KEYS))
    return {label: sorted(rows) for label, rows in days.items()}


def emission_bound(sim: PendoSimulator, before: Dict[str, Dict[int, List[bytes]]], now: Dict[str, Dict[int, List[bytes]]]) -> Dict[str, int]:
    """Per event stream, the rows a daily sync may emit (issue #13): those of the days whose content
    changed since the previous sync, and those of the days still settling."""
    settling_from = windows.last_complete_label(sim.clock_ms, "day", DEFAULTS["settling_hours"] * 3_600_000) + DAY_MS
    bound = {}
    for stream, days in now.items():
        counted = {label for label, rows in days.items() if rows != before[stream].get(label) or label >= settling_from}
        bound[stream] = sum(len(days[label]) for label in counted)
    return bound


def exceeded(result: Dict[str, Any]) -> Dict[str, List[str]]:
    """{stream: ["day N: emitted > bound", ...]} of the daily syncs that emitted more than the bound."""
    found: Dict[str, List[str]] = {}
    for sync in result["syncs"][1:]:
        for stream, bound in sync["bound"].items():
            if sync["emitted"].get(stream, 0) > bound:
                found.setdefault(stream, []).append(f"day {sync['day']}: {sync['emitted'][stream]} > {bound}")
    return found


def stream_instance(stream: str) -> EventStream:
    return next(s for s in SourcePendo().streams({"api_key": "k", "start_date": "2025-01-01"}) if s.name == stream)


def start_label(config: Dict[str, Any]) -> int:
    return windows.label_of(int(datetime.fromisoformat(config["start_date"].replace("Z", "+00:00")).timestamp() * 1000), "day")


def complete_day_labels(sim: PendoSimulator, config: Dict[str, Any], before: int = 0) -> range:
    return range(start_label(config), windows.last_complete_label(sim.clock_ms - before, "day") + 1, DAY_MS)


def expected_history(sim: PendoSimulator, config: Dict[str, Any]) -> Counter:
    """The simulator's history entries of every complete day: what every sync must have delivered."""
    entries: Counter = Counter()
    for visitor, day_start in active_visitor_days(sim, config, complete_only=True):
        for entry in sim.events.history(visitor, day_start, sim.clock_ms):
            entries[(visitor, iso_from_ms(entry["ts"]), entry["type"], iso_from_ms(entry.get("lastTs")))] += 1
    return entries


def active_visitor_days(sim: PendoSimulator, config: Dict[str, Any], *, complete_only: bool, before: int = 0) -> set:
    """(visitor, local day start) of every identified visitor active on a complete day."""
    days = set()
    for label in complete_day_labels(sim, config, before):
        day_start = sim.bucket_start(windows.anchor(label, "day"), "day")
        for row in sim.event_rows("events", "day", day_start, day_start + 1, ALL_APPS):
            if not str(row["visitorId"]).startswith("_PENDO_T_"):
                days.add((row["visitorId"], day_start))
    return days


def report(results: Dict[str, Any], size: Dict[str, int]) -> str:
    lines = [
        f"Daily syncs: a {size['first_days']}-day first sync, then {size['syncs']} daily syncs; late data throughout, a page retagged"
        f" before sync {size['retag_day']}. Simulator: {size['visitors']} visitors, {size['hits_per_day']} hits/day.",
        "",
        "| run | sync | requests | records | new | changed | re-emitted unchanged | re-emitted per new row | projected wall (300 ms/request) | lost |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        for sync in result["syncs"]:
            new, emitted = sum(sync["new"].values()), sum(sync["emitted"].values())
            per_new = f"{(emitted - new) / new:.2f}" if new else "-"
            lines.append(
                f"| {name} | {'first' if sync['day'] == 0 else 'day ' + str(sync['day'])} | {sum(sync['requests'].values())} | {emitted} | {new}"
                f" | {sum(sync['changed'].values())} | {sum(sync['re_emitted_unchanged'].values())} | {per_new} | {sync['projected_wall_s']:.0f} s | {sum(sync['lost'].values())} |"
            )
    lines += [
        "",
        "Per stream, the daily syncs together (records emitted / new rows / requests), and whether every daily sync stayed within"
        " the bound (records emitted ≤ rows in the days whose content changed + rows in the settling days, from the simulator's data):",
        "",
        "| stream | " + " | ".join(f"{name} | within bound" for name in results) + " |",
        "|---|" + "---|---|" * len(results),
    ]
    over = {name: exceeded(result) for name, result in results.items()}
    for stream in STREAMS:
        cells = []
        for name, result in results.items():
            daily = result["syncs"][1:]
            cells.append(f"{sum(s['emitted'].get(stream, 0) for s in daily)} / {sum(s['new'].get(stream, 0) for s in daily)} / {stream_requests(daily, stream)}")
            bounds = [s["bound"].get(stream) for s in daily]
            cells.append("–" if None in bounds else f"no ({'; '.join(over[name][stream])})" if stream in over[name] else f"yes ({sum(s['emitted'].get(stream, 0) for s in daily)} ≤ {sum(bounds)})")
        lines.append(f"| {stream} | " + " | ".join(cells) + " |")
    lines += ["", "visitor_history's daily cost projected (requests per new active visitor-day, measured over the daily syncs):", ""]
    for name, result in results.items():
        daily = result["syncs"][1:]
        requests = sum(s["requests"].get("visitor_history", 0) for s in daily)
        new_days = sum(s["new_active_visitor_days"] for s in daily)
        ratio = requests / new_days if new_days else float("nan")
        projected = ", ".join(
            f"{dau:,} daily active visitors: {ratio * dau:,.0f} requests, {ratio * dau / DEFAULTS['requests_per_second'] / 3600:.1f} h at {DEFAULTS['requests_per_second']} requests/s"
            for dau in DAILY_ACTIVE_VISITORS
        )
        lines.append(f"- {name}: {requests} requests for {new_days} new active visitor-days ({ratio:.2f} per visitor-day); {projected}")
    return "\n".join(lines)


def stream_requests(syncs: List[Dict[str, Any]], stream: str) -> int:
    return sum(count for s in syncs for kind, count in s["requests"].items() if kind.split(" ")[0] == stream)


if __name__ == "__main__":
    sys.exit(main())
