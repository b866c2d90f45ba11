#!/usr/bin/env bash
# Installs everything into .venv (first run) and runs every test: unit, simulator, integration and
# Airbyte's standard tests against the bundled Pendo simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh
python -m pytest -q "$@"
