#!/usr/bin/env bash
# Builds the airbyte-source-pendo wheel, installs it into a fresh virtualenv the way
# `pip install airbyte-source-pendo` would (dependencies resolved from the wheel's metadata, held
# to poetry.lock's versions by a constraints file) and runs `source-pendo spec` from there.
# Needs .venv (scripts/install_env.sh). Env: PYTHON (default python3) for the fresh virtualenv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

.venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" .
wheel=$(echo "$WORK"/dist/airbyte_source_pendo-*-py3-none-any.whl)
[[ -f $wheel ]] || { echo "wheel_check: no airbyte_source_pendo wheel was built" >&2; exit 1; }
.venv/bin/python - "$wheel" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
missing = [n for n in ("source_pendo/spec.yaml", "source_pendo/schemas/accounts.json") if n not in names]
assert not missing, f"the wheel lacks {missing}"
PY
.venv/bin/python scripts/lock_requirements.py --groups main --constraints > "$WORK/constraints.txt"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --constraint "$WORK/constraints.txt" "$wheel"
"$WORK/venv/bin/python" -m pip check
# From outside the repository, so that nothing but the installed wheel can be imported.
(cd "$WORK" && "$WORK/venv/bin/source-pendo" spec) | .venv/bin/python -c '
import json, sys
specs = [m for m in map(json.loads, filter(str.strip, sys.stdin)) if m["type"] == "SPEC"]
assert len(specs) == 1 and "api_key" in specs[0]["spec"]["connectionSpecification"]["properties"], specs
print("wheel_check: " + sys.argv[1] + " installs into a fresh virtualenv and runs spec")' "$(basename "$wheel")"
