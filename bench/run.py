"""source-pendo benchmark: one command, one summary table.

    python bench/run.py                      # 1,000,000-row event stream, full sync, latency-bound sync
    python bench/run.py --quick              # the same, 20,000 rows and smaller simulators
    python bench/run.py --smoke              # everything tiny, a few seconds; for CI (no timing checks)
    python bench/run.py --rows 200000 --json out.json --png chart.png --profile read.prof
    python bench/run.py --config-extra '{"max_concurrent_requests": 8}'

Every measured program runs as a subprocess (so is the simulator, bench/sim_server.py), its stdout
written to a file that is counted afterwards; peak RSS and CPU time come from /usr/bin/time when
it is there, else from os.wait4. See bench/README.md for what each number means.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

import cdk_floor  # noqa: E402  (bench/cdk_floor.py: writes the floor's config and catalog)

try:
    import orjson

    loads = orjson.loads
except ImportError:  # pragma: no cover - orjson comes with airbyte-cdk
    loads = json.loads

DAY_MS = 86_400_000
TIME_BINARY = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
RECORD_PREFIX = b'{"type":"RECORD","record":{"stream":"'
# pageEvents rows per unit of hits_per_day with visitors == hits_per_day (measured on the simulator:
# 3,403 for 200, 102,224 for 6,000, 339,022 for 20,000).
PAGE_EVENT_ROWS_PER_HIT_DAY = 17.0
EVENT_STREAM = "page_events"
EVENT_SOURCE = "pageEvents"
START_DAYS_BEFORE_CLOCK = 45

# Simulator sizes of sections 3 and 4 per mode: (visitors, accounts, hits_per_day).
FULL_SYNC_SIZES = {"full": (300, 120, 300), "quick": (200, 120, 100), "smoke": (20, 20, 10)}
LATENCY_SIZES = {"full": (200, 120, 100), "quick": (60, 60, 30), "smoke": (20, 20, 10)}
# Section 4's runs: (results key, name, connector settings). Pendo is reported to take ~100 requests/s
# per endpoint; at the connector's default budget (20/s) the budget, not latency, bounds this sync.
LATENCY_RUNS = [
    ("latency_sync_sequential", "one request at a time", {"max_concurrent_requests": 1, "requests_per_second": 100}),
    ("latency_sync", "concurrent", {"requests_per_second": 100}),
    ("latency_sync_defaults", "connector defaults", {}),
]


# --- programs and measurement ------------------------------------------------------------------


def source_pendo_command() -> List[str]:
    """`source-pendo` of this interpreter's environment, else of PATH, else `python main.py`."""
    beside = os.path.join(os.path.dirname(sys.executable), "source-pendo")
    if os.access(beside, os.X_OK):
        return [beside]
    found = shutil.which("source-pendo")
    return [found] if found else [sys.executable, os.path.join(REPO, "main.py")]


def subprocess_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def measure(argv: List[str], out_path: str, err_path: str) -> Dict[str, Any]:
    """Runs argv with stdout to out_path; its wall time, CPU time, peak RSS and exit code."""
    time_file = out_path + ".time"
    command = [TIME_BINARY, "-f", "%M %e %U %S", "-o", time_file, *argv] if TIME_BINARY else argv
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=subprocess_env())
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    result: Dict[str, Any] = {"exit_code": process.returncode, "wall_s": wall, "rss_source": "os.wait4"}
    # ru_maxrss is in KB on Linux, bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    result.update(peak_rss_mb=usage.ru_maxrss / scale, user_s=usage.ru_utime, sys_s=usage.ru_stime)
    if TIME_BINARY:
        try:
            with open(time_file, encoding="utf-8") as handle:
                last = handle.read().strip().splitlines()[-1].split()
            result.update(peak_rss_mb=int(last[0]) / 1024, user_s=float(last[2]), sys_s=float(last[3]), rss_source="/usr/bin/time")
        except (OSError, IndexError, ValueError):
            pass  # e.g. killed by a signal: keep the wait4 numbers
    result["cpu_s"] = result["user_s"] + result["sys_s"]
    if process.returncode != 0:
        with open(err_path, "rb") as handle:
            result["stderr_tail"] = handle.read()[-2000:].decode("utf-8", "replace")
    return result


_RUNTIME_LINE = re.compile(r"Syncing stream (\S+) (\d+):(\d+):(\d+(?:\.\d+)?)")


def scan_output(path: str, want_sample: bool = False) -> Dict[str, Any]:
    """Counts RECORD lines per stream, STATE messages and TRACE errors of an Airbyte output file;
    the first record's data (want_sample) and the CDK's per-stream runtimes, if logged."""
    counts: Counter = Counter()
    states = 0
    errors: List[str] = []
    sample = None
    runtimes: Dict[str, float] = {}
    with open(path, "rb") as handle:
        for line in handle:
            if line.startswith(RECORD_PREFIX):
                end = line.index(b'"', len(RECORD_PREFIX))
                counts[line[len(RECORD_PREFIX):end].decode()] += 1
                if want_sample and sample is None:
                    sample = loads(line)["record"]["data"]
                continue
            try:
                message = loads(line)
            except ValueError:
                continue  # not a message (a stray print)
            kind = message.get("type")
            if kind == "RECORD":  # serialised in another key order than expected
                counts[message["record"]["stream"]] += 1
                if want_sample and sample is None:
                    sample = message["record"]["data"]
            elif kind == "STATE":
                states += 1
            elif kind == "TRACE" and message["trace"].get("type") == "ERROR":
                errors.append(message["trace"]["error"].get("message") or "")
            elif kind == "LOG" and " runtimes:\n" in message["log"].get("message", ""):
                runtimes = {
                    name: int(hours) * 3600 + int(minutes) * 60 + float(seconds)
                    for name, hours, minutes, seconds in _RUNTIME_LINE.findall(message["log"]["message"])
                }
    return {"records": sum(counts.values()), "per_stream": dict(counts), "states": states, "errors": errors, "sample": sample, "runtimes_s": runtimes}


def run_reader(name: str, argv: List[str], workdir: str, startup_s: Optional[float] = None, want_sample: bool = False, keep: bool = False) -> Dict[str, Any]:
    out_path = os.path.join(workdir, f"{name}.out")
    result = measure(argv, out_path, os.path.join(workdir, f"{name}.err"))
    result.update(scan_output(out_path, want_sample))
    if not keep:
        os.remove(out_path)
    result["name"] = name
    result["records_per_s"] = result["records"] / result["wall_s"] if result["wall_s"] else 0.0
    if startup_s is not None:
        result["startup_s"] = startup_s
        steady = result["wall_s"] - startup_s
        result["steady_records_per_s"] = result["records"] / steady if steady > 0 else None
    result["cpu_us_per_record"] = result["cpu_s"] / result["records"] * 1e6 if result["records"] else None
    progress(f"  {name}: {result['records']:,} records in {result['wall_s']:.2f} s, peak RSS {result['peak_rss_mb']:.0f} MB, exit {result['exit_code']}")
    return result


def startup_seconds(argv: List[str], workdir: str, runs: int = 2) -> float:
    """The least wall time of a run that only starts the program (imports) and exits."""
    best = float("inf")
    for _ in range(runs):
        result = measure(argv, os.path.join(workdir, "startup.out"), os.path.join(workdir, "startup.err"))
        best = min(best, result["wall_s"])
    return best


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- simulator -----------------------------------------------------------------------------------


class Simulator:
    """bench/sim_server.py in a subprocess; lives until close() (or until this process dies: it
    stops when its stdin closes)."""

    def __init__(self, visitors: int, accounts: int, hits_per_day: int, *, cache: bool = True, latency_ms: float = 0, per_row_us: float = 0,
                 rest_latency_ms: float = 0, expect: Optional[List[str]] = None, workdir: str = "."):
        self.size = {"visitors": visitors, "accounts": accounts, "hits_per_day": hits_per_day}
        self.latency = {"aggregation_ms": latency_ms, "per_row_us": per_row_us, "rest_ms": rest_latency_ms}
        argv = [sys.executable, os.path.join(BENCH, "sim_server.py"), "--visitors", str(visitors), "--accounts", str(accounts),
                "--hits-per-day", str(hits_per_day), "--latency-ms", str(latency_ms), "--per-row-us", str(per_row_us),
                "--rest-latency-ms", str(rest_latency_ms)]
        if cache:
            argv.append("--cache")
        if expect:
            argv += ["--expect", *expect]
        self._log = open(os.path.join(workdir, f"simulator-{os.getpid()}-{time.time_ns()}.log"), "wb")
        started = time.perf_counter()
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=subprocess_env())
        line = self.process.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError(f"the simulator did not start: {argv}")
        self.ready = json.loads(line)
        self.ready["start_s"] = time.perf_counter() - started
        self.url: str = self.ready["url"]
        self.api_key: str = self.ready["api_key"]
        self.clock_ms: int = self.ready["clock_ms"]

    def _get(self, what: str) -> Dict[str, Any]:
        root = self.url.split("/api/v1/")[0]
        with urllib.request.urlopen(f"{root}/__bench/{what}", timeout=60) as response:
            return json.loads(response.read())

    def stats(self) -> Dict[str, Any]:
        return self._get("stats")

    def reset(self) -> None:
        self._get("reset")

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.terminate()
                self.process.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def connector_config(simulator: Simulator, extra: Dict[str, Any]) -> Dict[str, Any]:
    start = datetime.fromtimestamp(simulator.clock_ms / 1000, tz=timezone.utc) - timedelta(days=START_DAYS_BEFORE_CLOCK)
    return {"api_key": simulator.api_key, "base_url": simulator.url, "start_date": start.strftime("%Y-%m-%d"), **extra}


def catalog(streams: Optional[List[str]] = None) -> Dict[str, Any]:
    with open(os.path.join(REPO, "integration_tests", "configured_catalog.json"), encoding="utf-8") as handle:
        full = json.load(handle)
    if streams is not None:
        full["streams"] = [entry for entry in full["streams"] if entry["stream"]["name"] in streams]
    return full


def write_json(path: str, value: Any) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle)
    return path


def request_summary(requests: List[Dict[str, Any]]) -> Dict[str, Any]:
    by_kind: Dict[str, Dict[str, Any]] = {}
    for entry in requests:
        kind = by_kind.setdefault(entry["kind"], {"requests": 0, "rows": 0, "latency_s": 0.0, "server_s": 0.0, "errors": 0})
        kind["requests"] += 1
        if entry["kind"] == "aggregation":  # only aggregation bodies are counted in rows
            kind["rows"] += entry.get("rows") or 0
        else:
            kind["rows"] = None
        kind["latency_s"] += entry.get("latency_s") or 0.0
        kind["server_s"] += entry.get("seconds") or 0.0
        kind["errors"] += 1 if (entry.get("status") or 0) >= 400 else 0
    return {
        "requests": len(requests),
        "in_flight_s": in_flight_seconds(requests),
        "latency_s": sum(kind["latency_s"] for kind in by_kind.values()),
        "server_s": sum(kind["server_s"] for kind in by_kind.values()),
        "by_kind": by_kind,
    }


def in_flight_seconds(requests: List[Dict[str, Any]]) -> Dict[int, float]:
    """{n: seconds with n requests being served}, from the first request's start to the last one's end."""
    events = sorted([(entry["started"], 1) for entry in requests if "started" in entry]
                    + [(entry["started"] + entry["seconds"], -1) for entry in requests if "started" in entry])
    seconds: Dict[int, float] = {}
    serving = 0
    for (moment, change), (following, _) in zip(events, events[1:]):
        serving += change
        seconds[serving] = seconds.get(serving, 0.0) + following - moment
    return {n: round(s, 2) for n, s in sorted(seconds.items())}


def connector_default(name: str, fallback: Any) -> Any:
    try:
        from source_pendo.config import DEFAULTS
    except ImportError:
        return fallback
    return DEFAULTS.get(name, fallback)


# --- sections ------------------------------------------------------------------------------------


def event_stream_section(args: argparse.Namespace, workdir: str) -> Dict[str, Any]:
    """Sections 1 and 2: source-pendo, the bare ceiling and the CDK floor on the same rows."""
    hits = max(10, round(args.rows / PAGE_EVENT_ROWS_PER_HIT_DAY))
    visitors, accounts = hits, max(120, hits // 10)
    progress(f"[1-2] {EVENT_STREAM}, about {args.rows:,} rows: starting the simulator ({visitors:,} visitors, {hits:,} hits/day) ...")
    source_pendo = source_pendo_command()
    section: Dict[str, Any] = {"stream": EVENT_STREAM}
    with Simulator(visitors, accounts, hits, cache=True, expect=[EVENT_SOURCE], workdir=workdir) as simulator:
        section["simulator"] = {**simulator.size, "start_s": round(simulator.ready["start_s"], 2), "generate_s": simulator.ready["generate_seconds"]}
        section["expected_rows"] = simulator.ready["expected_rows"][EVENT_SOURCE]
        config = connector_config(simulator, args.config_extra)
        section["page_size"] = config.get("page_size", connector_default("page_size", 50_000))
        config_path = write_json(os.path.join(workdir, "events_config.json"), config)
        catalog_path = write_json(os.path.join(workdir, "events_catalog.json"), catalog([EVENT_STREAM]))
        read = [*source_pendo, "read", "--config", config_path, "--catalog", catalog_path]
        startup = {} if args.smoke else {
            "source-pendo": startup_seconds([*source_pendo, "spec"], workdir),
            "bare": startup_seconds([sys.executable, os.path.join(BENCH, "bare_ceiling.py"), "--url", simulator.url, "--api-key", simulator.api_key,
                                     "--bodies", write_json(os.path.join(workdir, "no_bodies.json"), []), "--stream", EVENT_STREAM], workdir),
            "floor": startup_seconds([sys.executable, os.path.join(BENCH, "cdk_floor.py"), "spec"], workdir),
        }
        section["startup_s"] = startup
        readers: Dict[str, Dict[str, Any]] = {}
        if not args.smoke:
            # The simulator computes each page on first request (sorting a whole window in Python):
            # a first read fills its cache, so the measured reads below wait on the wire, not on it.
            progress("  cold read (fills the simulator's response cache) ...")
            readers["source-pendo (cold server)"] = run_reader("source-pendo-cold", read, workdir, startup.get("source-pendo"))
            cold_stats = simulator.stats()
            simulator.reset()
        progress("  measured reads ...")
        readers["source-pendo"] = run_reader("source-pendo", read, workdir, startup.get("source-pendo"), want_sample=True)
        stats = simulator.stats()
        requests = [entry for entry in stats["requests"] if entry["kind"] == "aggregation"]
        section["requests"] = request_summary(stats["requests"])
        section["requests"]["cache"] = stats["cache"]
        section["rows_per_request"] = [entry.get("rows") for entry in requests]
        if not args.smoke:
            section["cold_server_s"] = round(request_summary(cold_stats["requests"])["server_s"], 3)
        bodies_path = write_json(os.path.join(workdir, "bodies.json"), [entry["body"] for entry in requests if entry.get("status") == 200])
        readers["bare ceiling"] = run_reader(
            "bare-ceiling",
            [sys.executable, os.path.join(BENCH, "bare_ceiling.py"), "--url", simulator.url, "--api-key", simulator.api_key, "--bodies", bodies_path, "--stream", EVENT_STREAM],
            workdir,
            startup.get("bare"),
        )
        sample = readers["source-pendo"].pop("sample") or {}
        floor_config, floor_catalog = os.path.join(workdir, "floor_config.json"), os.path.join(workdir, "floor_catalog.json")
        with open(os.path.join(REPO, "source_pendo", "schemas", f"{EVENT_STREAM}.json"), encoding="utf-8") as handle:
            schema = json.load(handle)
        cdk_floor.write_files(floor_config, floor_catalog, EVENT_STREAM, readers["source-pendo"]["records"], sample, schema)
        readers["CDK floor"] = run_reader(
            "cdk-floor", [sys.executable, os.path.join(BENCH, "cdk_floor.py"), "read", "--config", floor_config, "--catalog", floor_catalog], workdir, startup.get("floor")
        )
        if args.profile:
            progress(f"  profiling a read with cProfile -> {args.profile} ...")
            profiled = [sys.executable, "-m", "cProfile", "-o", os.path.abspath(args.profile), *read]
            if source_pendo[0] == sys.executable:
                profiled = [sys.executable, "-m", "cProfile", "-o", os.path.abspath(args.profile), *source_pendo[1:], *read[len(source_pendo):]]
            readers["source-pendo (cProfile)"] = run_reader("source-pendo-profiled", profiled, workdir)
            section["profile"] = {"path": os.path.abspath(args.profile), "command": " ".join(profiled)}
    for reader in readers.values():
        reader.pop("sample", None)
    section["readers"] = readers
    ours, bare, floor = readers["source-pendo"], readers["bare ceiling"], readers["CDK floor"]
    section["ratios"] = {
        "source_pendo_over_bare": ratio(ours["records_per_s"], bare["records_per_s"]),
        "source_pendo_over_floor": ratio(ours["records_per_s"], floor["records_per_s"]),
        "steady_source_pendo_over_bare": ratio(ours.get("steady_records_per_s"), bare.get("steady_records_per_s")),
        "steady_source_pendo_over_floor": ratio(ours.get("steady_records_per_s"), floor.get("steady_records_per_s")),
    }
    section["target_floor_ratio"] = 0.60
    section["records_match_expected"] = ours["records"] == section["expected_rows"]
    return section


def memory_section(args: argparse.Namespace, workdir: str) -> Dict[str, Any]:
    """Section 5: peak RSS of `source-pendo read` when one response holds `rows` rows
    (bench/big_response.py serves it)."""
    source_pendo = source_pendo_command()
    day = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=10)
    day_ms = int(day.timestamp() * 1000)
    runs = []
    for rows in args.memory_rows:
        progress(f"[5] one response of {rows:,} rows ...")
        server = subprocess.Popen([sys.executable, os.path.join(BENCH, "big_response.py"), "--rows", str(rows), "--day", str(day_ms)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=subprocess_env())
        try:
            url = json.loads(server.stdout.readline())["url"]
            config = {"api_key": "bench-big-response-us", "base_url": url, "start_date": day.strftime("%Y-%m-%d"), "requests_per_second": 1000, **args.config_extra}
            config_path = write_json(os.path.join(workdir, f"memory_{rows}_config.json"), config)
            catalog_path = write_json(os.path.join(workdir, "memory_catalog.json"), catalog([EVENT_STREAM]))
            result = run_reader(f"memory-{rows}", [*source_pendo, "read", "--config", config_path, "--catalog", catalog_path], workdir)
        finally:
            server.stdin.close()
            server.wait(timeout=60)
        result.pop("sample", None)
        runs.append({"response_rows": rows, "result": result})
    return {"runs": runs, "bound_mb": 150}


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a and b else None


def full_sync(args: argparse.Namespace, workdir: str, name: str, size: tuple, latency: Dict[str, float], settings: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """A first sync of every stream; `settings` are connector settings for this run (before --config-extra)."""
    visitors, accounts, hits = size
    extra = {**(settings or {}), **args.config_extra}
    with Simulator(visitors, accounts, hits, cache=True, latency_ms=latency.get("aggregation_ms", 0), per_row_us=latency.get("per_row_us", 0),
                   rest_latency_ms=latency.get("rest_ms", 0), workdir=workdir) as simulator:
        config = connector_config(simulator, extra)
        config_path = write_json(os.path.join(workdir, f"{name}_config.json"), config)
        catalog_path = write_json(os.path.join(workdir, f"{name}_catalog.json"), catalog())
        startup = None if args.smoke else startup_seconds([*source_pendo_command(), "spec"], workdir)
        result = run_reader(name, [*source_pendo_command(), "read", "--config", config_path, "--catalog", catalog_path], workdir, startup_s=startup)
        result.pop("sample", None)
        served = simulator.stats()["requests"]
        write_json(os.path.join(workdir, f"{name}_requests.json"), served)  # each request: path, kind, start, seconds
        summary = request_summary(served)
    concurrency = int(extra.get("max_concurrent_requests", connector_default("max_concurrent_requests", 1)))
    rate = extra.get("requests_per_second", connector_default("requests_per_second", None))
    ideal_cN = summary["latency_s"] / max(concurrency, 1)
    return {
        "simulator": simulator.size,
        "latency_model": simulator.latency,
        "streams": len(catalog()["streams"]),
        "result": result,
        "requests": summary,
        "max_concurrent_requests": concurrency,
        "requests_per_second": rate,
        # What the wall time could not go below: all latency served one request at a time, or
        # `concurrency` at a time; and the connector's own request budget.
        "ideal_latency_c1_s": summary["latency_s"],
        "ideal_latency_cN_s": ideal_cN,
        "rate_limit_floor_s": summary["requests"] / rate if rate else None,
        "effective_concurrency": summary["latency_s"] / result["wall_s"] if result["wall_s"] else None,
        # The target of a latency-bound sync: wall time over total latency / concurrency (≤ 1.15),
        # with and without the start-up (imports) no request can overlap.
        "wall_over_ideal": result["wall_s"] / ideal_cN if ideal_cN else None,
        "steady_wall_over_ideal": (result["wall_s"] - startup) / ideal_cN if ideal_cN and startup is not None else None,
    }


# --- report --------------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}{unit}"
    if isinstance(value, (int, float)):
        return f"{value:,.0f}{unit}"
    return str(value)


def table(headers: List[str], rows: List[List[str]]) -> str:
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def report(results: Dict[str, Any]) -> str:
    env = results["environment"]
    out = [f"source-pendo benchmark ({results['mode']}): {env['cpus']} CPUs, Python {env['python']}, airbyte-cdk {env['airbyte_cdk']}, commit {env['commit']}",
           f"peak RSS and CPU from {env['rss_source']}; records/s = records / wall time of the whole process (startup included);",
           "steady = records / (wall - startup), startup = the same program doing nothing (spec / no pages).", ""]
    section = results.get("event_stream")
    if section:
        sim = section["simulator"]
        req = section["requests"]
        out.append(f"1-2. One event stream: {section['stream']}, {section['expected_rows']:,} rows expected, page_size {section['page_size']:,};"
                   f" {req['by_kind'].get('aggregation', {}).get('requests', 0)} aggregation requests")
        out.append(f"     simulator: {sim['visitors']:,} visitors, {sim['hits_per_day']:,} hits/day, event log generated in {sim['generate_s']:.1f} s;"
                   f" measured reads served from its response cache ({req['cache']['hits']} hits)")
        rows = []
        for name, reader in section["readers"].items():
            rows.append([name, fmt(reader["records"]), fmt(reader["wall_s"], 2), fmt(reader.get("startup_s"), 2), fmt(reader["records_per_s"]),
                         fmt(reader.get("steady_records_per_s")), fmt(reader["cpu_s"], 2), fmt(reader.get("cpu_us_per_record"), 1), fmt(reader["peak_rss_mb"], 1),
                         str(reader["exit_code"])])
        out.append(table(["reader", "records", "wall s", "startup s", "records/s", "steady rec/s", "CPU s", "CPU us/rec", "peak RSS MB", "exit"], rows))
        r = section["ratios"]
        target = section["target_floor_ratio"]
        # Judged on the steady rates when there are any: at small sizes both processes' ~1 s of imports
        # would make the wall-time ratio look better than the per-record cost is.
        judged, basis = (r["steady_source_pendo_over_floor"], "steady") if r["steady_source_pendo_over_floor"] else (r["source_pendo_over_floor"], "wall")
        verdict = "not judged (smoke)" if results["mode"] == "smoke" else "met" if (judged or 0) >= target else "NOT met"
        section["target_met"] = None if results["mode"] == "smoke" else verdict == "met"
        out.append(f"source-pendo / bare ceiling: {fmt(r['source_pendo_over_bare'], 2)} (steady {fmt(r['steady_source_pendo_over_bare'], 2)})")
        out.append(f"source-pendo / CDK floor:    {fmt(r['source_pendo_over_floor'], 2)} (steady {fmt(r['steady_source_pendo_over_floor'], 2)}); target >= {target:.2f} ({basis}): {verdict}")
        out.append(f"records equal to the simulator's rows: {'yes' if section['records_match_expected'] else 'NO'}")
        if "cold_server_s" in section:
            out.append(f"cold read: the simulator spent {section['cold_server_s']:.1f} s computing and sending pages (excluded from the measured reads)")
        if "profile" in section:
            out.append(f"cProfile: {section['profile']['path']}")
        out.append("")
    for key in ("full_sync", *(run[0] for run in LATENCY_RUNS)):
        sync = results.get(key)
        if not sync:
            continue
        title = sync.get("title", "3. Full first sync")
        result, req, sim, lat = sync["result"], sync["requests"], sync["simulator"], sync["latency_model"]
        out.append(f"{title}: {sync['streams']} streams; simulator {sim['visitors']:,} visitors, {sim['accounts']:,} accounts, {sim['hits_per_day']:,} hits/day;"
                   f" latency {lat['aggregation_ms']:g} ms + {lat['per_row_us']:g} us/row per aggregation request, {lat['rest_ms']:g} ms per other request")
        out.append(f"     wall {result['wall_s']:.2f} s, {result['records']:,} records, {result['records_per_s']:,.0f} records/s, CPU {result['cpu_s']:.2f} s,"
                   f" peak RSS {result['peak_rss_mb']:.1f} MB, {result['states']} STATE, exit {result['exit_code']}, {len(result['errors'])} errors")
        kinds = [[kind, fmt(v["requests"]), fmt(v["rows"]), fmt(v["latency_s"], 2), fmt(v["server_s"], 2), fmt(v["errors"])] for kind, v in sorted(req["by_kind"].items())]
        kinds.append(["all", fmt(req["requests"]), "", fmt(req["latency_s"], 2), fmt(req["server_s"], 2), ""])
        out.append(table(["requests", "count", "rows", "latency s", "server s", "errors"], kinds))
        out.append(f"ideal (total latency / concurrency): c=1 {sync['ideal_latency_c1_s']:.2f} s, c={sync['max_concurrent_requests']} {sync['ideal_latency_cN_s']:.2f} s;"
                   f" request budget floor {fmt(sync['rate_limit_floor_s'], 2, ' s')} ({sync['requests_per_second']} requests/s);"
                   f" latency / wall = {fmt(sync['effective_concurrency'], 2)} requests in flight on average")
        if req.get("in_flight_s"):
            spans = ", ".join(f"{n}: {seconds:.2f} s" for n, seconds in req["in_flight_s"].items())
            out.append(f"seconds with n requests being served, first request to last answer: {spans}")
        if sync.get("wall_over_ideal"):
            steady = sync.get("steady_wall_over_ideal")
            without_startup = f", {steady:.2f} without the {sync['result']['startup_s']:.1f} s start-up" if steady else ""
            budget_bound = (sync["rate_limit_floor_s"] or 0) > sync["ideal_latency_cN_s"]
            target = "the request budget, not latency, bounds this sync" if budget_bound else "target <= 1.15"
            out.append(f"wall / ideal (c={sync['max_concurrent_requests']}) = {sync['wall_over_ideal']:.2f}{without_startup} ({target})")
        streams = sorted(result["per_stream"].items(), key=lambda item: -item[1])
        if result.get("runtimes_s"):
            rows = [[name, fmt(count), fmt(result["runtimes_s"].get(name), 2), fmt(count / result["runtimes_s"][name] if result["runtimes_s"].get(name) else None)] for name, count in streams]
            out.append(table(["stream", "records", "seconds", "records/s"], rows))
        else:
            out.append("records per stream: " + ", ".join(f"{name} {count:,}" for name, count in streams))
        for error in result["errors"][:3]:
            out.append(f"     error: {error[:300]}")
        out.append("")
    memory = results.get("memory")
    if memory:
        out.append("5. Memory: one page_events response of N rows (bench/big_response.py), read by source-pendo")
        rows = [[fmt(run["response_rows"]), fmt(run["result"]["records"]), fmt(run["result"]["wall_s"], 2), fmt(run["result"]["records_per_s"]),
                 fmt(run["result"]["peak_rss_mb"], 1), "yes" if run["result"]["peak_rss_mb"] < memory["bound_mb"] else "NO", str(run["result"]["exit_code"])]
                for run in memory["runs"]]
        out.append(table(["response rows", "records", "wall s", "records/s", "peak RSS MB", f"< {memory['bound_mb']} MB", "exit"], rows))
        out.append("")
    return "\n".join(out)


def draw(results: Dict[str, Any], path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        progress("--png: matplotlib is not importable; no chart drawn")
        return False
    readers = {name: results["event_stream"]["readers"][name] for name in ("source-pendo", "bare ceiling", "CDK floor")}
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.bar(list(readers), [reader["records_per_s"] for reader in readers.values()], color=["tab:blue", "tab:green", "tab:orange"])
    left.set_title("records/s")
    right.bar(list(readers), [reader["peak_rss_mb"] for reader in readers.values()], color=["tab:blue", "tab:green", "tab:orange"])
    right.set_title("peak RSS (MB)")
    figure.suptitle(f"{results['event_stream']['stream']}: {results['event_stream']['readers']['source-pendo']['records']:,} records")
    figure.tight_layout()
    figure.savefig(path)
    return True


def environment() -> Dict[str, Any]:
    try:
        from importlib.metadata import version

        cdk = version("airbyte-cdk")
    except Exception:  # noqa: BLE001 - informational only
        cdk = "?"
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10).stdout.strip() or "?"
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "source_pendo"], capture_output=True, text=True, timeout=10).stdout.strip()
        commit += "+local changes in source_pendo" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        commit = "?"
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "airbyte_cdk": cdk, "commit": commit, "platform": platform.platform(),
            "rss_source": "/usr/bin/time" if TIME_BINARY else "os.wait4", "source_pendo": " ".join(source_pendo_command())}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark source-pendo against the project's Pendo simulator.")
    parser.add_argument("--rows", type=int, default=None, help="rows of the event stream in sections 1-2 (default 1,000,000; --quick 20,000)")
    parser.add_argument("--quick", action="store_true", help="20,000 rows and smaller simulators")
    parser.add_argument("--smoke", action="store_true", help="everything tiny, exits 0 unless something breaks (CI; no timing checks)")
    parser.add_argument("--json", help="write every number to this file")
    parser.add_argument("--png", help="bar chart of records/s and peak RSS of the three readers (needs matplotlib)")
    parser.add_argument("--profile", help="also run the measured read under cProfile, writing this .prof file")
    parser.add_argument("--config-extra", type=json.loads, default={}, help='JSON merged into every source-pendo config, e.g. \'{"max_concurrent_requests": 4}\'')
    parser.add_argument("--latency-ms", type=float, default=300.0, help="section 4: wait before each aggregation answer")
    parser.add_argument("--per-row-us", type=float, default=10.0, help="section 4: aggregation bodies stream at most one row per this many microseconds")
    parser.add_argument("--rest-latency-ms", type=float, default=100.0, help="section 4: wait before every other answer (REST objects, visitor history)")
    parser.add_argument("--memory-rows", type=lambda text: [int(n) for n in text.split(",")], default=None,
                        help="section 5: rows of the one big response, comma-separated (default 1000000,5000000; --quick 100000,500000)")
    parser.add_argument("--only", choices=["events", "full", "latency", "memory"], action="append", help="run only these sections (repeatable)")
    parser.add_argument("--keep", help="keep the work files (configs, catalogs, outputs' stderr, simulator logs) in this directory")
    args = parser.parse_args(argv)
    if not isinstance(args.config_extra, dict):
        parser.error("--config-extra must be a JSON object")
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    if args.rows is None:
        args.rows = {"smoke": 2_000, "quick": 20_000, "full": 1_000_000}[mode]
    if args.smoke:
        # Nothing here is a measurement: lift the connector's request budget so the run is short.
        args.config_extra = {"requests_per_second": 1000, **args.config_extra}
        args.latency_ms, args.per_row_us, args.rest_latency_ms = min(args.latency_ms, 20.0), min(args.per_row_us, 1.0), min(args.rest_latency_ms, 2.0)
    if args.memory_rows is None:
        args.memory_rows = {"smoke": [2_000], "quick": [100_000, 500_000], "full": [1_000_000, 5_000_000]}[mode]
    sections = set(args.only or ["events", "full", "latency", "memory"])

    results: Dict[str, Any] = {"mode": mode, "rows_requested": args.rows, "config_extra": args.config_extra, "environment": environment()}
    started = time.perf_counter()
    workdir = args.keep or tempfile.mkdtemp(prefix="source-pendo-bench-")
    os.makedirs(workdir, exist_ok=True)
    try:
        if "events" in sections:
            results["event_stream"] = event_stream_section(args, workdir)
        if "full" in sections:
            progress(f"[3] full first sync of every stream (simulator {FULL_SYNC_SIZES[mode]}) ...")
            results["full_sync"] = full_sync(args, workdir, "full-sync", FULL_SYNC_SIZES[mode], {})
        if "latency" in sections:
            progress(f"[4] latency-bound first sync (simulator {LATENCY_SIZES[mode]}) ...")
            latency = {"aggregation_ms": args.latency_ms, "per_row_us": args.per_row_us, "rest_ms": args.rest_latency_ms}
            for key, name, settings in LATENCY_RUNS:
                progress(f"    {name}: {settings or 'connector defaults'}")
                results[key] = full_sync(args, workdir, key.replace("_", "-"), LATENCY_SIZES[mode], latency, settings)
                results[key]["title"] = f"4. Latency-bound first sync, {name}"
        if "memory" in sections:
            results["memory"] = memory_section(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    results["bench_wall_s"] = time.perf_counter() - started
    print(report(results))
    print(f"bench wall time {results['bench_wall_s']:.1f} s")
    if args.json:
        write_json(args.json, results)
    if args.png and "event_stream" in results:
        draw(results, args.png)
    failures = [name for name, reader in results.get("event_stream", {}).get("readers", {}).items() if reader["exit_code"] != 0 or not reader["records"]]
    failures += [f"memory {run['response_rows']}" for run in results.get("memory", {}).get("runs", []) if run["result"]["exit_code"] != 0 or run["result"]["records"] != run["response_rows"]]
    failures += [key for key in ("full_sync", *(run[0] for run in LATENCY_RUNS)) if key in results and (results[key]["result"]["exit_code"] != 0 or not results[key]["result"]["records"])]
    if failures:
        progress(f"failed: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
