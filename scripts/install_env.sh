#!/usr/bin/env bash
# Creates .venv (first run) and installs exactly poetry.lock into it (main and dev groups, hashes
# checked), then source-pendo itself in editable mode. Runs again only after pyproject.toml or
# poetry.lock changed. Called by setup_env.sh; safe to run on its own.
# Env: PYTHON (default python3), the interpreter .venv is made from.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
STAMP=.venv/.installed
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
if [[ -f $STAMP && $STAMP -nt pyproject.toml && $STAMP -nt poetry.lock ]]; then
  exit 0
fi
.venv/bin/python scripts/lock_requirements.py --groups main,dev > .venv/requirements-lock.txt
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --require-hashes --no-deps -r .venv/requirements-lock.txt
# A .venv made before 1.0.0 holds the package under its old name, with the same console script.
.venv/bin/python -m pip uninstall --quiet --yes source-pendo 2>/dev/null || true
.venv/bin/python -m pip install --quiet --no-deps -e .
.venv/bin/python -m pip check >/dev/null
touch "$STAMP"
