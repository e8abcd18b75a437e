"""The trainer's thread: drive the training session, pause and cancel it, hand records to the window in batches.

The loop itself (steps, checkpoints, divergence, the run folder) is
:class:`~induction_gui.model.training_session.TrainingSession`, the one the
``train`` command drives too; pausing is not asking the session for its next step.

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

from ...model.markov_run import write_outputs
from ...model.scenario import Weights
from ...model.training_run import RunWriter
from ...model.training_session import TrainConfig, TrainingSession, limit_blas_threads

MAX_UPDATES_PER_S = 10.0  # batches per second: each redraws four plots (~25 ms of GUI time)
PAUSE_POLL_S = 0.05  # a paused worker rechecks cancel this often

# what a run ended with, as the dock says it
FINISHED, CANCELLED, DIVERGED, FAILED = "finished", "cancelled", "diverged", "failed"
_ENDED = {"finished": FINISHED, "interrupted": CANCELLED, "diverged": DIVERGED}  # session status -> the dock's


class TrainingWorker(QThread):
    """Drives one :class:`~induction_gui.model.training_session.TrainingSession` to ``config.steps``.

    The session owns the loop, the checkpoints (before the first step, every
    ``config.checkpoint_every`` steps and the final one) and ``writer`` (a
    ``RunWriter`` or None), so the dock ends with the same run the command
    line writes; this thread only paces it (pause, cancel) and batches what it
    yields for the window. File writes happen here, never on the GUI thread.

    Signals
    -------
    initial_curves(record)
        once, before any batch: the untrained model's held-out ``StepRecord`` of a
        markov-chains run (the trainer's ``initial_curves``, step 0, where the
        curves start), None for the other datasets. It is not a step of the run
        (the session's records start at step 1), so it does not come in a batch.
    batch(records, checkpoints)
        a list of ``StepRecord`` and a list of ``(step, Weights)`` since the last batch.
    paused_changed(bool)
        the loop really parked (True) or went on (False); emitted after the batch
        before it, so no record arrives after ``paused_changed(True)``.
    ended(status, message)
        ``finished``, ``cancelled``, ``diverged`` or ``failed``, and a one-line message.
    """

    initial_curves = Signal(object)  # not "started": QThread has that signal already
    batch = Signal(object, object)
    paused_changed = Signal(bool)
    ended = Signal(str, str)

    def __init__(self, config: TrainConfig, writer: RunWriter | None = None,
                 weights: Weights | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.config = config
        self._writer = writer
        self._weights = weights
        self._clock = clock
        self._go = threading.Event()  # cleared while paused
        self._go.set()
        self._cancel = threading.Event()  # the session's stop request

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
        status, message = FAILED, ""
        session: TrainingSession | None = None
        try:
            session = TrainingSession(self.config, writer=self._writer, weights=self._weights,
                                      stop=self._cancel)
            self.initial_curves.emit(session.trainer.initial_curves)
            last_emit = self._clock()
            for progress in session.run():
                if progress.record is not None:
                    records.append(progress.record)
                if progress.checkpoint is not None:
                    checkpoints.append(progress.checkpoint)
                now = self._clock()
                if now - last_emit >= 1.0 / MAX_UPDATES_PER_S:
                    self._flush(records, checkpoints)
                    last_emit = now
                if not self._go.is_set():
                    self._flush(records, checkpoints)
                    self.paused_changed.emit(True)
                    while not self._go.wait(PAUSE_POLL_S):
                        pass
                    if not self._cancel.is_set():
                        self.paused_changed.emit(False)
                    last_emit = self._clock()
            status = _ENDED[session.status]
            message = {FINISHED: f"{session.step} steps", CANCELLED: f"at step {session.step}"}.get(
                status, session.message)
        except Exception as exc:  # noqa: BLE001 - reported to the window, never lost
            traceback.print_exc()
            status, message = FAILED, f"{type(exc).__name__}: {exc}"
        self._flush(records, checkpoints)
        if session is not None:
            try:
                session.finish()
                if self.config.dataset == "markov-chains" and self._writer is not None:
                    # the folder the command line would leave: curves.csv (from step 0) and model/
                    write_outputs(session, self._writer.folder)
            except Exception as exc:  # noqa: BLE001 - the run in memory is still good
                traceback.print_exc()
                message += f" (the run folder could not be completed: {exc})"
        self.ended.emit(status, message)

    def _flush(self, records: list[object], checkpoints: list[tuple[int, Weights]]) -> None:
        if records or checkpoints:
            self.batch.emit(list(records), list(checkpoints))
            records.clear()
            checkpoints.clear()
