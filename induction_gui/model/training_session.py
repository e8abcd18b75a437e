"""One training run from the untrained model to its last checkpoint: the loop the command line and the dock share.

``induction-gui train`` and the window's Training dock used to each own a copy
of this loop, and the copies disagreed on the last checkpoint (the dock kept
an older one after a divergence, the command line the last good step). Now
both drive a :class:`TrainingSession`: it steps the trainer, keeps the
records, takes the checkpoints (step 0, every ``checkpoint_every`` steps and
the final one), handles divergence and a stop request, and writes the run
folder through an optional :class:`~.run_writer.RunWriter`. Whatever the
step count, it keeps a bounded, evenly thinned set of records and
checkpoints (:mod:`.thinning`: the first, every stride-th, the last, and the
record where the induction head formed), so a run of a million steps needs
no more memory or disk than one of a few thousand; the settings' memory
estimate (:func:`~induction_gui.engine.train_config.memory_estimate`) is
checked before the trainer allocates anything. It is a generator,
so pausing is simply not asking for the next step; the caller decides where
the progress goes (a terminal line, a Qt signal).

The window names a run's settings (:class:`TrainConfig`, its presets and the
dock's fields), its records (:class:`StepRecord`) and the test that the
induction head has formed (:func:`induction_formed`) through this module.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..engine.train_config import DOCK_PARAMS as DOCK_PARAMS  # the settings the dock edits
from ..engine.train_config import PRESET_TITLES as PRESET_TITLES  # what the dock lists
from ..engine.train_config import PRESETS as PRESETS
from ..engine.train_config import TRAIN_PARAM as TRAIN_PARAM  # each setting's label, range and meaning
from ..engine.train_config import TrainingConfigError as TrainingConfigError
from ..engine.training import StepRecord as StepRecord
from ..engine.training import TrainConfig as TrainConfig
from ..engine.training import Trainer, TrainingDiverged
from ..engine.training import induction_formed as induction_formed
from ..engine.training import limit_blas_threads as limit_blas_threads  # call before starting a training thread
from ..engine.weights import Weights
from .run_folder import Status
from .run_writer import RunWriter
from .thinning import MAX_CHECKPOINTS, MAX_RECORDS, Thinned


@dataclass(frozen=True)
class Progress:
    """What one turn of the loop produced: a step's record, a checkpoint, or both."""

    record: StepRecord | None = None  # None for the checkpoint of the untrained model
    checkpoint: tuple[int, Weights] | None = None  # (step, a copy of the weights) when one was taken


class TrainingSession:
    """The training loop of one run.

    Parameters
    ----------
    config
        the run's settings (validated by the trainer).
    writer
        where records and checkpoints are written as they come, or None to keep
        them in memory only.
    weights
        initial weights of the config's sizes (default: random from the seed).
    stop
        an event another thread (or a signal handler) sets to end the run after
        the current step; the session makes its own when none is given.

    Attributes
    ----------
    records
        the kept step records, in order: every step's of a short run, an evenly
        thinned set of at most :data:`~.thinning.MAX_RECORDS` of a long one.
    checkpoint_steps
        the kept checkpoint steps, ascending (at most :data:`~.thinning.MAX_CHECKPOINTS`).
    formed_at
        the first step whose record shows an induction head, or None.
    status
        "running" until :meth:`run` ends, then "finished", "interrupted" (a stop
        request, Ctrl+C or an error) or "diverged".
    message
        why a diverged run stopped (the trainer's explanation).
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        writer: RunWriter | None = None,
        weights: Weights | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.trainer = Trainer(config, weights)
        self.writer = writer
        self.stop_event = stop if stop is not None else threading.Event()
        self.records: Thinned[StepRecord] = record_series()
        self._checkpoints: Thinned[int] = checkpoint_series(config)
        self.formed_at: int | None = None
        self.status: Status = "running"
        self.message = ""
        # whether the trainer's weights are those after a complete step (not the case after
        # an exception in the middle of one): only whole weights become the final checkpoint
        self._whole = True

    @property
    def step(self) -> int:
        """Steps done so far."""
        return self.trainer.step_index

    @property
    def phases(self) -> dict[str, int]:
        """The steps a markov-chains run became nearest the unigram, then the bigram strategy.

        See :func:`phase_changes`; empty for the other datasets.
        """
        return phase_changes(self.records)

    @property
    def checkpoint_steps(self) -> list[int]:
        """The kept checkpoint steps, ascending."""
        return self._checkpoints.items

    def stop(self) -> None:
        """End the run after the current step (the final checkpoint is still taken)."""
        self.stop_event.set()

    def run(self) -> Iterator[Progress]:
        """Train to ``config.steps`` or a stop request, yielding after every checkpoint and step.

        The first item is the checkpoint of the untrained model; the last one
        carries the final checkpoint (the last step done, or the last good step
        after a divergence). An exception from the trainer or the writer (or a
        KeyboardInterrupt) marks the run "interrupted" and is raised again; the
        weights may then be half updated, so :meth:`finish` shows the last
        checkpoint taken.
        """
        trainer, config = self.trainer, self.config
        try:
            yield Progress(checkpoint=self._checkpoint())
            while trainer.step_index < config.steps and not self.stop_event.is_set():
                record = trainer.step()
                self._add(record)
                checkpoint = None
                if self._checkpoints.on_stride(trainer.step_index):  # every checkpoint_every, thinned on long runs
                    checkpoint = self._checkpoint()
                yield Progress(record, checkpoint)
            self.status = "interrupted" if trainer.step_index < config.steps else "finished"
        except TrainingDiverged as exc:
            # the trainer has restored the weights after the last good step: they are whole
            self.status, self.message = "diverged", str(exc)
        except BaseException:
            self.status, self._whole = "interrupted", False
            raise
        if trainer.step_index not in self.checkpoint_steps:
            yield Progress(checkpoint=self._checkpoint())

    def run_to_end(self) -> StepRecord | None:
        """Drive :meth:`run` without looking at the progress; the last record, if any."""
        for _ in self.run():
            pass
        return self.records[-1] if self.records else None

    def finish(self) -> list[Path]:
        """Close the run folder: the final history and the scenario that opens the model.

        Returns the files written (none without a writer). Call it once the
        generator has ended, also after an exception; a run abandoned while
        still "running" is closed as "interrupted".
        """
        if self.status == "running":
            self.status, self._whole = "interrupted", False
        if self.writer is None:
            return []
        if self._whole:
            return self.writer.finish(self.status, self.trainer.weights, self.trainer.step_index)
        return self.writer.finish(self.status)

    def finish_quietly(self) -> None:
        """:meth:`finish`, ignoring a failure: for closing a run while another error is being reported."""
        with contextlib.suppress(Exception):
            self.finish()

    # -- steps -------------------------------------------------------------------------------------
    def _add(self, record: StepRecord) -> None:
        dropped = add_record(self.records, record)
        if self.formed_at is None and induction_formed(record):
            self.formed_at = int(record.step)
        if self.writer is not None:
            self.writer.add(record, dropped=[r.step for r in dropped], stride=self.records.stride)

    def _checkpoint(self) -> tuple[int, Weights]:
        step = self.trainer.step_index
        weights = self.trainer.weights.copy()  # the trainer keeps updating its own
        if self.writer is not None:
            self.writer.checkpoint(step, weights)
        for old in self._checkpoints.add(step):
            if self.writer is not None:
                self.writer.drop_checkpoint(old)
        return step, weights


# -- the thinning rule every holder of a run's records and checkpoints applies -------------------------


def record_series() -> Thinned[StepRecord]:
    """An empty series of step records, thinned to at most :data:`MAX_RECORDS`."""
    return Thinned(MAX_RECORDS, lambda record: int(record.step))


def checkpoint_series(config: TrainConfig) -> Thinned[int]:
    """An empty series of checkpoint steps: every ``checkpoint_every``, thinned to at most :data:`MAX_CHECKPOINTS`."""
    return Thinned(MAX_CHECKPOINTS, int, stride=config.checkpoint_every)


def phase_changes(records: Iterable[StepRecord]) -> dict[str, int]:
    """The steps a markov-chains run changed phase: the first record nearest "unigram", then "bigram" after it.

    Records without a nearest strategy (other datasets, steps between
    evaluations) are passed over; an empty dict for a run of another dataset.
    """
    phases: dict[str, int] = {}
    for record in records:
        if record.nearest == "unigram" and "unigram" not in phases:
            phases["unigram"] = int(record.step)
        elif record.nearest == "bigram" and "unigram" in phases and "bigram" not in phases:
            phases["bigram"] = int(record.step)
    return phases


def add_record(records: Thinned[StepRecord], record: StepRecord) -> list[StepRecord]:
    """Add ``record``; the records dropped.

    It is kept for good if the induction head formed there first, or if a
    markov-chains run changed phase there (:func:`phase_changes`), so thinning
    never loses a landmark. The session and the window apply this same rule to
    the same records in the same order, so they keep the same ones.
    """
    dropped = records.add(record)
    pinned = records.pinned
    if induction_formed(record) and not any(induction_formed(p) for p in pinned):
        records.pin(record)
    elif record.nearest is not None and phase_changes([*pinned, record]) != phase_changes(pinned):
        records.pin(record)
    return dropped
