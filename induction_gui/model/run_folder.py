"""The run folder: one training run on disk, written while it trains and read back without retraining.

The command line, the window's Training panel and the bundled pre-trained run
all use this one format, so a run trained over SSH opens in the window and the
pre-trained run is just a run someone else trained. The folder::

    DIR/history.json                    what happened, step by step (below)
    DIR/checkpoints/step-00000.safetensors
    DIR/checkpoints/step-00050.safetensors ...  weights (5-digit zero-padded step)
    DIR/scenario.json                   opens the final (or last good) model in the window
    DIR/scenario.safetensors            its weights, when too large to inline

``history.json`` (format version 1)::

    {
      "format": "induction-gui.training",   required, exactly this
      "version": 1,                         required; newer versions are refused
      "config": {...},                      TrainConfig.to_dict()
      "records": [{...}, ...],              StepRecord.to_json(), in step order: one per step, or on a
                                            long run an evenly thinned set (model.thinning)
      "formed_at": 340,                     first step where induction_formed(record), or null
      "status": "finished"                  "running" | "finished" | "interrupted" | "diverged"
    }

"running" is also what a run killed without warning (power cut, SIGKILL) is
left as: the history is rewritten every few records and at every checkpoint,
so such a run loses at most those few records and still opens. "interrupted"
means stopped before the last step (Ctrl+C, or an error); "diverged" means the
loss became NaN and the run kept the last good weights.

Every problem found when reading raises :class:`TrainingRunError` naming the
file and the field, e.g. ``runs/a/history.json: version: this run was written
by a newer version (format version 2); this app reads up to 1``.
"""

from __future__ import annotations

import os
import re
from typing import Literal

FORMAT = "induction-gui.training"
CURRENT_VERSION = 1
HISTORY = "history.json"
SCENARIO = "scenario.json"
CHECKPOINTS = "checkpoints"
STATUSES: tuple[str, ...] = ("running", "finished", "interrupted", "diverged")
Status = Literal["running", "finished", "interrupted", "diverged"]

# five digits keep `ls` in step order for any run a lesson needs; longer runs just get more digits
CHECKPOINT_RE = re.compile(r"^step-(\d{5,})\.safetensors$")
TOP_FIELDS = ("format", "version", "config", "records", "formed_at", "status")
# (TrainConfig field, ModelConfig field) pairs a checkpoint's shapes must agree with
SIZE_FIELDS = ("n_layers", "n_heads", "d_model", "d_head", "d_vocab", "n_ctx")


class TrainingRunError(ValueError):
    """A run folder cannot be written or read; the message names the file, the field and the fix.

    Attributes
    ----------
    file
        the file or folder concerned, as the caller named it (``runs/a/history.json``).
    field
        the JSON path inside it (``records[3].loss``), or ``""`` for the file as a whole.
    detail
        what is wrong and what was expected.
    """

    def __init__(self, file: str | os.PathLike[str], detail: str, *, field: str = "") -> None:
        self.file = str(file)
        self.field = field
        self.detail = detail
        super().__init__(": ".join(part for part in (self.file, self.field, self.detail) if part))


def checkpoint_name(step: int) -> str:
    """``step-00340.safetensors``: zero-padded so that names sort in step order."""
    return f"step-{step:05d}.safetensors"
