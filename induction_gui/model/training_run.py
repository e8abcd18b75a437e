"""Training runs on disk: one import for the run folder's format, writer, reader and scenario.

The format is described in :mod:`.run_folder`; :mod:`.run_writer` writes a
folder while a run trains, :mod:`.run_reader` reads one back, and
:mod:`.training_session` is the loop that produces one.
"""

from __future__ import annotations

from .run_folder import (
    CHECKPOINTS,
    CURRENT_VERSION,
    FORMAT,
    HISTORY,
    SCENARIO,
    STATUSES,
    Status,
    TrainingRunError,
    checkpoint_name,
)
from .run_reader import TrainingRun
from .run_scenario import best_head, build_scenario, sample_tokens, vocabulary
from .run_writer import RunWriter

__all__ = [
    "CHECKPOINTS",
    "CURRENT_VERSION",
    "FORMAT",
    "HISTORY",
    "SCENARIO",
    "STATUSES",
    "RunWriter",
    "Status",
    "TrainingRun",
    "TrainingRunError",
    "best_head",
    "build_scenario",
    "checkpoint_name",
    "sample_tokens",
    "vocabulary",
]
