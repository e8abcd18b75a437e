"""What a markov-chains run leaves beside its run folder: the KL curves as CSV and the final model folder.

The curves are the issue's headless output (``induction-gui train --preset
markov-chains``): one row per evaluated record, measured on the run's fixed
held-out batch, in nats, so a learner can plot the phases with any tool. The
model folder is the one ``export-model`` writes (``config.json`` +
``model.safetensors``), so TransformerLens loads the trained model; its
vocabulary is the k states themselves.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.markov_strategies import nearest_strategy
from ..engine.training import StepRecord
from ..engine.weights import Weights
from ..engine.weights_io import save_model_folder
from .jsonfile import write_temp

if TYPE_CHECKING:
    from .training_session import TrainingSession

CURVES_NAME = "curves.csv"
MODEL_FOLDER_NAME = "model"
CURVE_COLUMNS: tuple[str, ...] = ("step", "loss", "kl_uniform", "kl_unigram", "kl_bigram")


def curve_rows(records: Iterable[StepRecord]) -> list[tuple[int, float, float, float, float]]:
    """(step, held-out loss, KL uniform, KL unigram, KL bigram) of every record measured on the held-out batch."""
    rows = []
    for r in records:
        values = (r.heldout_loss, r.kl_uniform, r.kl_unigram, r.kl_bigram)
        if all(v is not None for v in values):
            rows.append((int(r.step), *(float(v) for v in values)))  # type: ignore[arg-type]
    return rows


def write_curves(records: Iterable[StepRecord], folder: str | os.PathLike[str]) -> Path:
    """``folder/curves.csv`` with the columns of :data:`CURVE_COLUMNS`, written atomically; its path."""
    path = Path(folder) / CURVES_NAME
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CURVE_COLUMNS)
    for step, *values in curve_rows(records):
        # repr keeps every digit; a non-finite value (a diverged model) is written as CSV readers spell it
        writer.writerow([step, *(repr(v) if math.isfinite(v) else str(v).lower() for v in values)])
    tmp = write_temp(path, buffer.getvalue().encode("utf-8"))
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_start(folder: str | os.PathLike[str]) -> StepRecord | None:
    """The untrained model's held-out record (step 0) from ``folder/curves.csv``, or None without one.

    The run's history keeps the trained steps only; a window reopening a run
    folder reads the curves' starting point here. The Bayes-optimal loss is not
    a column (it is in every evaluated record of the history); the nearest
    strategy is recomputed from the three KLs, as the trainer chose it.
    """
    path = Path(folder) / CURVES_NAME
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError):
        return None
    if not rows or tuple(rows[0]) != CURVE_COLUMNS:
        return None
    for row in rows[1:]:
        if len(row) == len(CURVE_COLUMNS) and row[0] == "0":
            try:
                loss, *kls = (float(v) for v in row[1:])
                nearest = nearest_strategy(dict(zip(("uniform", "unigram", "bigram"), kls, strict=True)))
            except ValueError:  # not a number, or no KL measured
                return None
            return StepRecord(0, 0.0, loss, math.nan, math.nan, [], [], heldout_loss=loss,
                              kl_uniform=kls[0], kl_unigram=kls[1], kl_bigram=kls[2],
                              nearest=nearest)
    return None


def write_model(weights: Weights, folder: str | os.PathLike[str]) -> Path:
    """The final model as ``folder/model/`` (config.json + model.safetensors, as ``export-model``); its path."""
    return save_model_folder(weights, Path(folder) / MODEL_FOLDER_NAME)


def write_outputs(session: TrainingSession, folder: str | os.PathLike[str]) -> list[Path]:
    """A markov-chains run's curves.csv (from the untrained model at step 0 on) and final model folder.

    The model is written for a finished run and for a diverged one (the trainer
    has restored the last good step), not for an interrupted one, whose weights
    may be half updated: its curves so far are still written.
    """
    start = session.trainer.initial_curves  # step 0: the untrained model, nearest the uniform strategy
    written = [write_curves([*([start] if start is not None else []), *session.records], folder)]
    if session.status != "interrupted":
        written += sorted(write_model(session.trainer.weights, folder).iterdir())
    return written
