"""At most one recompute per frame: the document says "stale", this decides when and where.

Bursts of edits (typing, dragging a slider) emit many ``stale`` events; the
scheduler turns them into one recompute on the next turn of the event loop,
and never more often than once per frame (16 ms). Small models recompute on the
GUI thread (well under a frame); when the last recompute took longer than
:data:`WORKER_THRESHOLD_MS`, the next runs in a worker on a snapshot, with
progress shown, and a newer edit cancels it.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from ..analysis import Analysis, compute_results
from .workers import Task

FRAME_MS = 16
WORKER_THRESHOLD_MS = 12.0  # slower than this, and a keystroke would stutter: go to the worker


class RecomputeScheduler(QObject):
    """Coalesces the document's ``stale`` events into recomputes.

    Signals
    -------
    computed(elapsed_ms, in_worker)
        new results were applied.
    busy(bool)
        a worker recompute started or ended (for the progress indicator).
    """

    computed = Signal(float, bool)
    busy = Signal(bool)

    def __init__(self, analysis: Analysis, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.analysis = analysis
        assert analysis.document is not None, "the scheduler recomputes a live document"
        self.document = analysis.document
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)
        self._last_run = 0.0
        self._last_ms = 0.0
        self.force_sync = False  # tests and benchmarks measure the synchronous path
        self.task = Task(self)
        self.task.finished.connect(self._on_worker_finished)
        self.task.failed.connect(self._on_worker_failed)
        self.task.busy.connect(self.busy)
        self.document.events.stale.connect(self._on_document_stale)

    def detach(self) -> None:
        self.document.events.stale.disconnect(self._on_document_stale)
        self.task.shutdown()

    @property
    def pending(self) -> bool:
        return self._timer.isActive() or self.task.running

    def _on_document_stale(self) -> None:
        if self._timer.isActive():
            return
        since = (time.perf_counter() - self._last_run) * 1e3
        self._timer.start(int(max(0.0, FRAME_MS - since)))

    def flush(self) -> None:
        """Recompute now if anything is pending (tests, export, save)."""
        self._timer.stop()
        if self.analysis.is_stale:
            self.task.cancel()
            self._run_sync()

    def _on_timer(self) -> None:
        self._last_run = time.perf_counter()
        if not self.analysis.is_stale:
            return
        if self.force_sync or self._last_ms < WORKER_THRESHOLD_MS:
            self._run_sync()
        else:
            self._run_in_worker()

    def _run_sync(self) -> None:
        results = self.analysis.recompute()
        self._last_ms = results.elapsed_ms
        self.computed.emit(results.elapsed_ms, False)

    def _run_in_worker(self) -> None:
        weights, tokens, overrides, generation = self.document.snapshot()

        def work():  # runs in the worker thread on copies
            yield 0, 1
            return compute_results(weights, tokens, overrides, generation)

        self.task.start(work)

    def _on_worker_finished(self, results: object) -> None:
        self._last_ms = results.elapsed_ms  # type: ignore[attr-defined]
        if self.analysis.apply_results(results):  # type: ignore[arg-type]
            self.computed.emit(self._last_ms, True)
        elif self.analysis.is_stale and not self._timer.isActive():
            self._timer.start(0)

    def _on_worker_failed(self, message: str) -> None:
        # fall back to the GUI thread, where the document reports the problem itself
        self._last_ms = 0.0
        self._timer.start(0)
