"""Regenerate the bundled Markov-chain run and the preset that opens it.

Trains the ``markov-chains`` preset with the project's own NumPy trainer into
``resources/runs/markov-chains/`` (replacing the previous run) and rewrites
``resources/scenarios/statistical-induction.json`` from its final model. The
run is seeded and the BLAS pool is held to one thread, so the checkpoints,
curves and scenario come out bit for bit the same on every run of this script;
only the wall-clock times in ``history.json`` differ.

A thousand steps with a checkpoint every twenty: the uniform start (step 0),
the unigram plateau (from the first evaluation to about step 220) and the
switch to bigram predictions (about step 240) each get several checkpoints to
scrub through, in 51 files of about 32 kB.

Usage (from the repository root): ``python scripts/make_markov_run.py``
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads: one thread, one summation order

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from induction_gui.cli import main as cli_main  # noqa: E402 - after the path and the thread setting
from induction_gui.model.presets import MARKOV_COMMAND, MARKOV_RUN, PRESETS  # noqa: E402
from induction_gui.model.scenario import save_scenario  # noqa: E402

PRESET = "statistical-induction"


def main() -> int:
    """Train into the resources folder, then write the preset from the run's final model."""
    run = ROOT / "resources" / "runs" / MARKOV_RUN
    argv = [*shlex.split(MARKOV_COMMAND)[1:], "--out", str(run), "--overwrite", "-q"]
    code = cli_main(argv)
    if code != 0:
        sys.stderr.write(f"training failed with exit code {code}\n")
        return code
    scenario = ROOT / "resources" / "scenarios" / f"{PRESET}.json"
    save_scenario(PRESETS[PRESET](), scenario)
    sys.stdout.write(f"wrote {run.relative_to(ROOT)}/ and {scenario.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
