#!/usr/bin/env bash
# One command: read the bundled Pendo simulator with PyAirbyte, through the local source-pendo
# executable, into a local DuckDB cache, and print the rows per stream.
#
#   bash examples/pyairbyte_demo.sh
#
# It creates a virtualenv with source-pendo (editable) and PyAirbyte (`pip install airbyte`,
# ~780 MB: kept out of .venv, CI and pyproject.toml), starts the simulator on a free port, runs
# examples/pyairbyte_read.py twice on one cache (a full refresh, then a sync that passes the saved
# state back), checks after the second read that every table has as many distinct primary keys as
# rows and no null key column (a merge on a null or shared key duplicates or collapses rows; the
# script fails if one does), and stops the simulator.
# Env: PYTHON (default python3; PyAirbyte needs 3.10-3.12), PYAIRBYTE_VENV (default
# /tmp/source-pendo-pyairbyte-venv), PYAIRBYTE_CACHE_DIR (default: a temporary directory,
# removed at exit; set it to keep the DuckDB file).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
VENV=${PYAIRBYTE_VENV:-/tmp/source-pendo-pyairbyte-venv}
# Pinned: pip's resolver otherwise settles on an older PyAirbyte (0.69) to get a newer protobuf.
PYAIRBYTE_REQUIREMENT="airbyte>=0.71.3,<0.72"
READY_SECONDS=30
SIM_PID="" OWN_CACHE=""
cd "$ROOT"

cleanup() {
  if [[ -n $SIM_PID ]]; then
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
  fi
  [[ -z $OWN_CACHE ]] || rm -rf "$OWN_CACHE"
  [[ -z ${SIM_LOG:-} ]] || rm -f "$SIM_LOG"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$PYTHON" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' || {
  echo "PyAirbyte needs Python 3.10-3.12; $PYTHON is $("$PYTHON" -V 2>&1). Set PYTHON=python3.11 (for example)." >&2
  exit 2
}
if [[ ! -x $VENV/bin/python ]]; then
  "$PYTHON" -m venv "$VENV"
fi
# Installed again when pyproject.toml or this requirement changes.
if [[ $(cat "$VENV/.installed" 2>/dev/null) != "$PYAIRBYTE_REQUIREMENT" || $ROOT/pyproject.toml -nt $VENV/.installed ]]; then
  echo "Installing source-pendo and $PYAIRBYTE_REQUIREMENT into $VENV (first run: a minute or more)..." >&2
  pip_log=$VENV/pip-install.log
  if ! { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip &&
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT" "$PYAIRBYTE_REQUIREMENT"; } >"$pip_log" 2>&1; then
    tail -n 30 "$pip_log" >&2
    exit 1
  fi
  printf '%s' "$PYAIRBYTE_REQUIREMENT" >"$VENV/.installed"
fi

if [[ -n ${PYAIRBYTE_CACHE_DIR:-} ]]; then
  CACHE_DIR=$PYAIRBYTE_CACHE_DIR
else
  OWN_CACHE=$(mktemp -d /tmp/source-pendo-pyairbyte-cache.XXXXXX)
  CACHE_DIR=$OWN_CACHE
fi

# The simulator: its first stdout line gives the URL and the key.
SIM_LOG=$(mktemp /tmp/source-pendo-simulator.XXXXXX.log)
"$VENV/bin/python" -u -m integration_tests.pendo_simulator --port 0 >"$SIM_LOG" 2>&1 &
SIM_PID=$!
pattern='listening on (http://[^ ]+) \(integration key: ([^)]+)\)'
deadline=$((SECONDS + READY_SECONDS))
until ready=$(grep -m1 -E "$pattern" "$SIM_LOG"); do
  if ! kill -0 "$SIM_PID" 2>/dev/null || ((SECONDS >= deadline)); then
    echo "The simulator did not start:" >&2
    cat "$SIM_LOG" >&2
    exit 1
  fi
  sleep 0.1  # poll interval of a bounded wait for the ready line
done
[[ $ready =~ $pattern ]]
echo "$ready"

export PENDO_BASE_URL=${BASH_REMATCH[1]} PENDO_API_KEY=${BASH_REMATCH[2]} PYAIRBYTE_CACHE_DIR=$CACHE_DIR
echo "== 1st read: full refresh into a new cache"
"$VENV/bin/python" examples/pyairbyte_read.py --force-full-refresh
echo "== 2nd read: same cache, no forced full refresh (PyAirbyte passes the saved state back), then the key check"
"$VENV/bin/python" examples/pyairbyte_read.py --check-keys
