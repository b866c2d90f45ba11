#!/usr/bin/env bash
# Installs everything into .venv (first run), starts the bundled Pendo simulator on 127.0.0.1 and
# runs source-pendo's check, discover and a read of every stream against it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh
WORKDIR=$(mktemp -d)
# Port 0: the simulator picks a free port and prints its URL and key on its first line.
python -u -m integration_tests.pendo_simulator --port 0 > "$WORKDIR/simulator.log" 2>&1 &
SIM_PID=$!
trap 'kill $SIM_PID 2>/dev/null; rm -rf "$WORKDIR"' EXIT
for _ in $(seq 300); do
  grep -q "listening on" "$WORKDIR/simulator.log" && break
  kill -0 $SIM_PID 2>/dev/null || { cat "$WORKDIR/simulator.log"; exit 1; }
  sleep 0.1
done
read -r URL KEY < <(sed -n 's/.*listening on \(\S*\) (integration key: \(\S*\)).*/\1 \2/p' "$WORKDIR/simulator.log")
[ -n "${KEY:-}" ] || { echo "the simulator did not start:"; cat "$WORKDIR/simulator.log"; exit 1; }
echo "== simulator at $URL"
cat > "$WORKDIR/config.json" <<JSON
{"api_key": "$KEY", "start_date": "2025-01-01", "base_url": "$URL", "page_size": 1000, "requests_per_second": 1000}
JSON
echo "== check"
source-pendo check --config "$WORKDIR/config.json" | grep CONNECTION_STATUS
echo "== discover: streams"
source-pendo discover --config "$WORKDIR/config.json" | python -c "
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message['type'] == 'CATALOG':
        for stream in message['catalog']['streams']:
            print(f\"  {stream['name']:<20} modes={','.join(stream['supported_sync_modes'])}\")"
echo "== read: records per stream (full output in $PWD/demo-output.jsonl)"
source-pendo read --config "$WORKDIR/config.json" --catalog integration_tests/configured_catalog.json > demo-output.jsonl
python - <<'PY'
import collections, json
counts, states = collections.Counter(), {}
for line in open("demo-output.jsonl"):
    message = json.loads(line)
    if message["type"] == "RECORD":
        counts[message["record"]["stream"]] += 1
    elif message["type"] == "TRACE" and message["trace"].get("error"):
        print("ERROR:", message["trace"]["error"]["message"])
for stream, count in sorted(counts.items()):
    print(f"  {stream:<20} {count:>6} records")
first = next(json.loads(l)["record"]["data"] for l in open("demo-output.jsonl") if '"stream":"accounts"' in l)
print("== one accounts record:\n" + json.dumps(first, indent=2, ensure_ascii=False)[:1500])
PY
