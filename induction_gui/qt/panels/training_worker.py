"""The trainer's thread: step, check pause and cancel, hand records to the window in batches.

Training is a loop of small NumPy steps, so it runs in a ``QThread`` rather
than a process: the weights and records it produces are plain arrays the GUI
can take without pickling, and BLAS and NumPy release the GIL for their heavy
lifting, so the window keeps painting (``tests/qt/test_training_panel.py``
measures a GUI timer while training). The thread uses one BLAS thread, which
leaves the other core of a two-core laptop to the window.

Records are not sent one signal per step (a fast model makes thousands per
second and would flood the event loop); they are collected and emitted at most
:data:`MAX_UPDATES_PER_S` times a second, together with the checkpoints taken
since the last batch. Every slot connected to these signals runs on the GUI
thread (queued connections), so the window applies results there only.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from PySide6.QtCore import QThread, Signal

from ...engine.training import Trainer, TrainConfig, TrainingDiverged, limit_blas_threads
from ...engine.weights import Weights

MAX_UPDATES_PER_S = 10.0  # batches per second: each redraws four plots (~25 ms of GUI time)
PAUSE_POLL_S = 0.05  # a paused worker rechecks cancel this often

# what a run ended with (also the RunWriter status)
FINISHED, CANCELLED, DIVERGED, FAILED = "finished", "cancelled", "diverged", "failed"
RUN_STATUS = {FINISHED: "finished", CANCELLED: "interrupted", DIVERGED: "diverged", FAILED: "interrupted"}  # run folder


class TrainingWorker(QThread):
    """Runs one :class:`~induction_gui.engine.training.Trainer` to ``config.steps``.

    Checkpoints (copies of the weights) are taken before the first step and
    every ``config.checkpoint_every`` steps and at the last one; ``writer``
    (a ``RunWriter`` or None) gets every record and checkpoint from this thread,
    so file writes never stall the window.

    Signals
    -------
    batch(records, checkpoints)
        a list of ``StepRecord`` and a list of ``(step, Weights)`` since the last batch.
    paused_changed(bool)
        the loop really parked (True) or went on (False); emitted after the batch
        before it, so no record arrives after ``paused_changed(True)``.
    ended(status, message)
        ``finished``, ``cancelled``, ``diverged`` or ``failed``, and a one-line message.
    """

    batch = Signal(object, object)
    paused_changed = Signal(bool)
    ended = Signal(str, str)

    def __init__(self, config: TrainConfig, writer: object | None = None,
                 weights: Weights | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.config = config
        self._writer = writer
        self._weights = weights
        self._clock = clock
        self._go = threading.Event()  # cleared while paused
        self._go.set()
        self._cancel = threading.Event()

    # -- called from the GUI thread ------------------------------------------------------------
    def pause(self) -> None:
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    def start(self) -> None:  # type: ignore[override]
        """Start the loop (BLAS is told to use one thread first, from this thread)."""
        limit_blas_threads()  # before the thread exists: it also sets environment variables
        super().start()

    def cancel(self) -> None:
        """Stop after the current step (also from a pause)."""
        self._cancel.set()
        self._go.set()

    @property
    def is_paused(self) -> bool:
        return not self._go.is_set()

    # -- the worker thread ----------------------------------------------------------------------
    def run(self) -> None:
        records: list[object] = []
        checkpoints: list[tuple[int, Weights]] = []
        status, message = FINISHED, ""
        trainer: Trainer | None = None
        try:
            trainer = Trainer(self.config, self._weights)
            self._checkpoint(trainer, checkpoints)
            last_emit = self._clock()
            while trainer.step_index < self.config.steps:
                if not self._go.is_set():
                    self._flush(records, checkpoints)
                    self.paused_changed.emit(True)
                    while not self._go.wait(PAUSE_POLL_S):
                        pass
                    if not self._cancel.is_set():
                        self.paused_changed.emit(False)
                    last_emit = self._clock()
                if self._cancel.is_set():
                    status, message = CANCELLED, f"at step {trainer.step_index}"
                    break
                record = trainer.step()
                records.append(record)
                if self._writer is not None:
                    self._writer.add(record)
                if trainer.step_index % self.config.checkpoint_every == 0 or trainer.step_index >= self.config.steps:
                    self._checkpoint(trainer, checkpoints)
                now = self._clock()
                if now - last_emit >= 1.0 / MAX_UPDATES_PER_S:
                    self._flush(records, checkpoints)
                    last_emit = now
            else:
                message = f"{trainer.step_index} steps"
        except TrainingDiverged as exc:
            status, message = DIVERGED, str(exc)
        except Exception as exc:  # noqa: BLE001 - reported to the window, never lost
            traceback.print_exc()
            status, message = FAILED, f"{type(exc).__name__}: {exc}"
        self._flush(records, checkpoints)
        if self._writer is not None:
            # a cancel lands between steps, so the trainer's weights are whole; after a
            # divergence or an error they may not be, and the run shows its last checkpoint
            whole = trainer is not None and status in (FINISHED, CANCELLED)
            try:
                self._writer.finish(RUN_STATUS[status], trainer.weights if whole else None,
                                    trainer.step_index if whole else None)
            except Exception as exc:  # noqa: BLE001 - the run in memory is still good
                traceback.print_exc()
                message += f" (the run folder could not be completed: {exc})"
        self.ended.emit(status, message)

    def _checkpoint(self, trainer: Trainer, checkpoints: list[tuple[int, Weights]]) -> None:
        if checkpoints and checkpoints[-1][0] == trainer.step_index:
            return
        weights = trainer.weights.copy()  # the trainer keeps updating its own
        checkpoints.append((trainer.step_index, weights))
        if self._writer is not None:
            self._writer.checkpoint(trainer.step_index, weights)

    def _flush(self, records: list[object], checkpoints: list[tuple[int, Weights]]) -> None:
        if records or checkpoints:
            self.batch.emit(list(records), list(checkpoints))
            records.clear()
            checkpoints.clear()
