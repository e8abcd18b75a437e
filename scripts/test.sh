#!/usr/bin/env bash
# Set up (if needed) and run every check CI runs: the layering contract and the test suite
# (the default tier). Arguments go to pytest: --run-slow, --hypothesis-profile=explore, -k ...
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
# small interactive matrices are slower and erratic with several BLAS threads on 2 cores
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
.venv/bin/lint-imports
# two workers: one per core (the Qt tests are single-threaded); PYTEST_WORKERS=0 runs in one process
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup "$@"
