#!/usr/bin/env bash
# Set up (if needed) and start Induction Head Explorer; arguments go to induction-gui.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
exec .venv/bin/induction-gui "$@"
