"""Read Pendo with PyAirbyte through the local `source-pendo` executable into a local DuckDB cache,
then print the rows per stream; with --check-keys, also check that every table has as many distinct
primary keys as rows and no null key column (exit 1 otherwise).

    PENDO_BASE_URL=http://127.0.0.1:8765/api/v1/ PENDO_API_KEY=... python examples/pyairbyte_read.py

`examples/pyairbyte_demo.sh` sets it all up (a virtualenv with PyAirbyte, the simulator) and runs
it. Needs `pip install airbyte` (PyAirbyte) next to source-pendo; Python 3.10-3.12.

Env:
  PENDO_API_KEY        the integration key (required)
  PENDO_BASE_URL       an API root such as the simulator's; empty: PENDO_REGION's host
  PENDO_REGION         US (default), US1, EU, JP or AU
  PENDO_START_DATE     default 2025-01-01
  PYAIRBYTE_CACHE_DIR  where the DuckDB cache lives (default /tmp/source-pendo-pyairbyte-cache)
  SOURCE_PENDO_EXE     the connector executable (default: source-pendo beside this python, or on PATH)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

CACHE_DIR = Path(os.environ.get("PYAIRBYTE_CACHE_DIR") or "/tmp/source-pendo-pyairbyte-cache")

# Before `import airbyte`: no download of Airbyte's connector registry (this runs offline), no
# telemetry, and PyAirbyte's own files and logs under the cache directory, not the current one.
os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("AIRBYTE_PROJECT_DIR", str(CACHE_DIR))
os.environ.setdefault("AIRBYTE_CACHE_ROOT", str(CACHE_DIR))
os.environ.setdefault("AIRBYTE_LOGGING_ROOT", str(CACHE_DIR / "logs"))
# PyAirbyte's Google client libraries warn about future Python support on import.
warnings.filterwarnings("ignore", category=FutureWarning)

import airbyte as ab  # noqa: E402
from sqlalchemy import func, or_, select  # noqa: E402  (a PyAirbyte dependency)


def connector_executable() -> str:
    configured = os.environ.get("SOURCE_PENDO_EXE")
    if configured:
        return configured
    beside = Path(sys.executable).parent / "source-pendo"
    if beside.exists():
        return str(beside)
    found = shutil.which("source-pendo")
    if not found:
        sys.exit("No source-pendo executable: `pip install -e .` in this environment, or set SOURCE_PENDO_EXE.")
    return found


def pendo_config() -> dict:
    api_key = os.environ.get("PENDO_API_KEY")
    if not api_key:
        sys.exit("Set PENDO_API_KEY (and PENDO_BASE_URL for the simulator).")
    config = {
        "api_key": api_key,
        "region": os.environ.get("PENDO_REGION", "US"),
        "start_date": os.environ.get("PENDO_START_DATE", "2025-01-01"),
    }
    if os.environ.get("PENDO_BASE_URL"):
        config["base_url"] = os.environ["PENDO_BASE_URL"]
    return config


def key_problem(connection, table, key: list[str]) -> tuple[str, bool]:
    """A line on the table's primary key (rows, distinct keys, rows with a null key column) and
    whether it holds a problem: a null key column, or a key shared by several rows."""
    columns = [table.c[column] for column in key]
    rows = connection.execute(select(func.count()).select_from(table)).scalar_one()
    distinct = connection.execute(select(func.count()).select_from(select(*columns).distinct().subquery())).scalar_one()
    with_null = connection.execute(select(func.count()).select_from(table).where(or_(*(column.is_(None) for column in columns)))).scalar_one()
    line = f"{rows} rows, {distinct} distinct keys, {with_null} with a null key column"
    return line, with_null > 0 or distinct != rows


def check_keys(source, cache) -> int:
    """Every table of a stream with a primary key: as many distinct keys as rows, none null.
    A merge on a key that is null in a row, or shared by rows, would duplicate or collapse them."""
    keys = {configured.stream.name: configured.primary_key or configured.stream.source_defined_primary_key or []
            for configured in source.configured_catalog.streams}
    failed = []
    print(f"\n{'stream':<20} primary key check")
    with cache.get_sql_engine().connect() as connection:
        for name in sorted(source.get_selected_streams()):
            # PyAirbyte's column names are lower-case; source-pendo's keys are top-level fields.
            key = [path[0].lower() for path in keys.get(name) or []]
            if not key:
                print(f"{name:<20} no primary key: {len(cache[name])} rows (the catalogue, replaced whole)")
                continue
            line, problem = key_problem(connection, cache[name].to_sql_table(), key)
            print(f"{name:<20} {', '.join(key)}: {line}{'  <- FAILED' if problem else ''}")
            if problem:
                failed.append(name)
    if failed:
        print(f"Primary key check failed for: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("Primary key check passed: every table has one row per primary key.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--force-full-refresh",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="read every stream whole, ignoring the state saved in the cache (default: no)",
    )
    parser.add_argument(
        "--check-keys",
        action="store_true",
        help="after the read, check every table has as many distinct primary keys as rows, none null (exit 1 if not)",
    )
    args = parser.parse_args()

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    source = ab.get_source("source-pendo", local_executable=connector_executable(), config=pendo_config())
    source.check()
    source.select_all_streams()
    cache = ab.new_local_cache(cache_name="pendo", cache_dir=CACHE_DIR / "duckdb")

    # The cache stamps each row with the (UTC) time it was read: rows from this run are those after
    # `started` (to the millisecond, as the stamps are).
    started = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    result = source.read(cache=cache, force_full_refresh=args.force_full_refresh)

    print(f"{'stream':<20} {'rows from this read':>19} {'rows in cache':>13}")
    with cache.get_sql_engine().connect() as connection:
        for name in sorted(source.get_selected_streams()):
            table = cache[name].to_sql_table()
            from_this_read = connection.execute(
                select(func.count()).select_from(table).where(table.c._airbyte_extracted_at >= started)
            ).scalar_one()
            print(f"{name:<20} {from_this_read:>19} {len(cache[name]):>13}")
    print(f"{result.processed_records} records read; DuckDB file: {cache.db_path}")
    return check_keys(source, cache) if args.check_keys else 0


if __name__ == "__main__":
    raise SystemExit(main())
