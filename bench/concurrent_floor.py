"""The floor of the CDK's concurrent framework, beside the sequential CDK floor (bench/cdk_floor.py).

The same record as cdk_floor.py yields ``rows`` times, but through the CDK's concurrent framework: a
``ConcurrentSource`` (a thread pool of ``concurrency`` workers, a queue to the main thread) reading
one ``DefaultStream`` whose one partition yields the record, run by ``airbyte_cdk.entrypoint.launch``
like the sequential floor. No HTTP, no parsing: what the concurrent message path costs per record.

    python bench/concurrent_floor.py read --config floor_config.json --catalog floor_catalog.json
    python bench/concurrent_floor.py compare --rows 1000000 --runs 3    # both floors and source-pendo, medians

The config is cdk_floor.py's (``stream``, ``rows``, ``sample``, ``schema``) plus ``concurrency``
(workers; default 2, what the CDK's declarative sources take when a manifest names no level).
``compare`` takes the sample record and the row count from a ``source-pendo read`` of page_events
against the bench simulator (bench/run.py's), then runs source-pendo, the sequential floor and the
concurrent floor at each level ``--runs`` times, interleaved, and prints the median of each.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

from airbyte_cdk.entrypoint import launch
from airbyte_cdk.models import AirbyteMessage, ConfiguredAirbyteCatalog, ConnectorSpecification
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.concurrent_source.concurrent_source import ConcurrentSource
from airbyte_cdk.sources.message import InMemoryMessageRepository
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.sources.streams.concurrent.cursor import FinalStateCursor
from airbyte_cdk.sources.streams.concurrent.default_stream import DefaultStream
from airbyte_cdk.sources.streams.concurrent.partitions.partition import Partition
from airbyte_cdk.sources.streams.concurrent.partitions.partition_generator import PartitionGenerator
from airbyte_cdk.sources.types import Record
from airbyte_cdk.sources.utils.slice_logger import DebugSliceLogger

BENCH = os.path.dirname(os.path.abspath(__file__))
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

from cdk_floor import ANY_OBJECT, FloorStream  # noqa: E402

# What ConcurrentDeclarativeSource runs with when a manifest sets no concurrency level.
DEFAULT_CONCURRENCY = 2


class RepeatedRecordPartition(Partition):
    def __init__(self, stream: str, sample: Mapping[str, Any], rows: int):
        self._stream = stream
        self._sample = dict(sample)
        self._rows = rows

    def read(self) -> Iterable[Record]:
        sample, stream = self._sample, self._stream
        for _ in range(self._rows):
            yield Record(data=dict(sample), stream_name=stream)  # a fresh record each time, as a real source makes

    def to_slice(self) -> Optional[Mapping[str, Any]]:
        return None

    def stream_name(self) -> str:
        return self._stream

    def __hash__(self) -> int:
        return hash(self._stream)


class OnePartition(PartitionGenerator):
    def __init__(self, partition: Partition):
        self._partition = partition

    def generate(self) -> Iterable[Partition]:
        yield self._partition


class ConcurrentFloorSource(AbstractSource):
    """Reads its one stream with the CDK's ConcurrentSource instead of AbstractSource's loop."""

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return ConnectorSpecification(connectionSpecification={"type": "object", "additionalProperties": True})

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Optional[Any]]:
        return True, None

    def streams(self, config: Mapping[str, Any]) -> List[Stream]:
        # For discover: the same stream as the sequential floor's.
        return [FloorStream(config["stream"], config["sample"], int(config["rows"]), config.get("schema") or ANY_OBJECT)]

    def read(self, logger: logging.Logger, config: Mapping[str, Any], catalog: ConfiguredAirbyteCatalog, state: Any = None) -> Iterator[AirbyteMessage]:
        workers = int(config.get("concurrency", DEFAULT_CONCURRENCY))
        repository = InMemoryMessageRepository()
        name = config["stream"]
        stream = DefaultStream(
            partition_generator=OnePartition(RepeatedRecordPartition(name, config["sample"], int(config["rows"]))),
            name=name,
            json_schema=config.get("schema") or ANY_OBJECT,
            primary_key=[],
            cursor_field=None,
            logger=logger,
            cursor=FinalStateCursor(stream_name=name, stream_namespace=None, message_repository=repository),
        )
        concurrent = ConcurrentSource.create(
            num_workers=workers,
            initial_number_of_partitions_to_generate=max(workers // 2, 1),
            logger=logger,
            slice_logger=DebugSliceLogger(),
            message_repository=repository,
        )
        yield from concurrent.read([stream])


def write_config(path: str, floor_config_path: str, concurrency: int) -> str:
    with open(floor_config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    config["concurrency"] = concurrency
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    return path


def compare(args: argparse.Namespace) -> int:
    import cdk_floor
    import run as bench

    workdir = args.keep or tempfile.mkdtemp(prefix="source-pendo-floors-")
    os.makedirs(workdir, exist_ok=True)
    hits = max(10, round(args.rows / bench.PAGE_EVENT_ROWS_PER_HIT_DAY))
    bench.progress(f"page_events, about {args.rows:,} rows: starting the simulator ({hits:,} visitors and hits/day) ...")
    runs: Dict[str, List[Dict[str, Any]]] = {}
    try:
        results, rows, startup = measure_all(args, bench, cdk_floor, workdir, hits, runs)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(results))
    if args.json:
        bench.write_json(args.json, {"rows": rows, "runs": args.runs, "startup_s": startup, "readers": results, "raw": runs})
    failed = [name for name, result in results.items() if result["records"] != rows or result["exit_codes"] != [0] * args.runs]
    if failed:
        bench.progress(f"failed: {', '.join(failed)}")
        return 1
    return 0


def measure_all(args: argparse.Namespace, bench: Any, cdk_floor: Any, workdir: str, hits: int, runs: Dict[str, List[Dict[str, Any]]]) -> Tuple[Dict[str, Dict[str, Any]], int, Dict[str, float]]:
    with bench.Simulator(hits, max(120, hits // 10), hits, cache=True, expect=[bench.EVENT_SOURCE], workdir=workdir) as simulator:
        config = bench.write_json(os.path.join(workdir, "config.json"), bench.connector_config(simulator, {}))
        catalog = bench.write_json(os.path.join(workdir, "catalog.json"), bench.catalog([bench.EVENT_STREAM]))
        read = [*bench.source_pendo_command(), "read", "--config", config, "--catalog", catalog]
        bench.progress("  cold read (fills the simulator's response cache, gives the sample record) ...")
        cold = bench.run_reader("source-pendo-cold", read, workdir, want_sample=True)
        with open(os.path.join(bench.REPO, "source_pendo", "schemas", f"{bench.EVENT_STREAM}.json"), encoding="utf-8") as handle:
            schema = json.load(handle)
        floor_config, floor_catalog = os.path.join(workdir, "floor_config.json"), os.path.join(workdir, "floor_catalog.json")
        cdk_floor.write_files(floor_config, floor_catalog, bench.EVENT_STREAM, cold["records"], cold["sample"] or {}, schema)
        readers = {"source-pendo": read, "CDK floor (sequential)": [sys.executable, os.path.join(BENCH, "cdk_floor.py"), "read", "--config", floor_config, "--catalog", floor_catalog]}
        for level in args.levels:
            level_config = write_config(os.path.join(workdir, f"concurrent_{level}.json"), floor_config, level)
            readers[f"CDK concurrent floor, {level} worker{'s' if level > 1 else ''}"] = [
                sys.executable, os.path.abspath(__file__), "read", "--config", level_config, "--catalog", floor_catalog]
        startup = {
            "source-pendo": bench.startup_seconds([*bench.source_pendo_command(), "spec"], workdir),
            "floor": bench.startup_seconds([sys.executable, os.path.join(BENCH, "cdk_floor.py"), "spec"], workdir),
            "concurrent": bench.startup_seconds([sys.executable, os.path.abspath(__file__), "spec"], workdir),
        }
        for attempt in range(args.runs):
            bench.progress(f"  round {attempt + 1} of {args.runs} ...")
            for name, argv in readers.items():
                kind = "source-pendo" if name == "source-pendo" else "floor" if "sequential" in name else "concurrent"
                runs.setdefault(name, []).append(bench.run_reader(name.split(" (")[0].replace(" ", "-").replace(",", ""), argv, workdir, startup[kind]))
    return summarise(runs), cold["records"], startup


def summarise(runs: Mapping[str, List[Dict[str, Any]]]) -> Dict[str, Dict[str, Any]]:
    results: Dict[str, Dict[str, Any]] = {}
    for name, measured in runs.items():
        results[name] = {
            "records": statistics.median(run["records"] for run in measured),
            "exit_codes": [run["exit_code"] for run in measured],
            "records_per_s": statistics.median(run["records_per_s"] for run in measured),
            "steady_records_per_s": statistics.median(run.get("steady_records_per_s") or 0.0 for run in measured),
            "cpu_us_per_record": statistics.median(run["cpu_us_per_record"] or 0.0 for run in measured),
            "peak_rss_mb": statistics.median(run["peak_rss_mb"] for run in measured),
            "each_steady_records_per_s": [round(run.get("steady_records_per_s") or 0.0) for run in measured],
        }
    floor = results["CDK floor (sequential)"]["steady_records_per_s"]
    for result in results.values():
        result["steady_over_sequential_floor"] = result["steady_records_per_s"] / floor if floor else None
    return results


def report(results: Mapping[str, Mapping[str, Any]]) -> str:
    lines = ["reader | records/s | steady rec/s | / sequential floor (steady) | CPU us/rec | peak RSS MB | each run's steady rec/s", "---|---|---|---|---|---|---"]
    for name, result in results.items():
        lines.append(
            f"{name} | {result['records_per_s']:,.0f} | {result['steady_records_per_s']:,.0f} | {result['steady_over_sequential_floor']:.2f} |"
            f" {result['cpu_us_per_record']:.1f} | {result['peak_rss_mb']:.0f} | {', '.join(f'{value:,}' for value in result['each_steady_records_per_s'])}"
        )
    return "\n".join(["medians of each reader's runs (the machine is shared: single runs vary)", *lines])


def main(argv: List[str]) -> int:
    if argv[:1] != ["compare"]:
        launch(ConcurrentFloorSource(), argv)
        return 0
    parser = argparse.ArgumentParser(description="The CDK's concurrent floor beside its sequential floor and source-pendo.")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of page_events in the simulator (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each reader (default 3; medians are reported)")
    parser.add_argument("--levels", type=lambda text: [int(n) for n in text.split(",")], default=[DEFAULT_CONCURRENCY, 1],
                        help=f"concurrency levels of the concurrent floor, comma-separated (default {DEFAULT_CONCURRENCY},1)")
    parser.add_argument("--json", help="write every run's numbers to this file")
    parser.add_argument("--keep", help="keep the work files in this directory")
    return compare(parser.parse_args(argv[1:]))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
