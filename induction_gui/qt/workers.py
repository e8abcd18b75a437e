"""Long work off the GUI thread: run an engine generator in a worker, report progress, cancel.

The engine expresses long work as a generator that yields ``(done, total)``
and returns its result (STYLE: napari's histogram). :class:`Task` runs one such
generator in a ``QThread``; between yields it checks a cancel flag, so a newer
request cancels an older one within one step. Results and progress are
delivered by queued signals, so slots always run on the GUI thread.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

WorkFactory = Callable[[], Generator[tuple[int, int], None, Any]]


class _Runner(QThread):
    progress = Signal(int, int)  # done, total
    succeeded = Signal(object)  # the generator's return value
    failed = Signal(str)  # one-line message (the traceback goes to stderr)

    def __init__(self, factory: WorkFactory, cancel: threading.Event) -> None:
        super().__init__()
        self._factory = factory
        self._cancel = cancel

    def run(self) -> None:  # runs in the worker thread
        try:
            gen = self._factory()
            while True:
                if self._cancel.is_set():
                    gen.close()
                    return
                try:
                    done, total = next(gen)
                except StopIteration as stop:
                    if not self._cancel.is_set():
                        self.succeeded.emit(stop.value)
                    return
                self.progress.emit(int(done), int(total))
        except Exception as exc:  # noqa: BLE001 - reported to the GUI, never lost
            traceback.print_exc()
            self.failed.emit(f"{type(exc).__name__}: {exc}")


class Task(QObject):
    """One cancellable background job at a time, per task name.

    ``start(factory)`` cancels the job still running (its result is dropped)
    and starts ``factory()``'s generator in a new thread.

    Signals
    -------
    progress(done, total), finished(result), failed(message), busy(bool)
    """

    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)
    busy = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner: _Runner | None = None
        self._cancel: threading.Event | None = None
        self._old: list[_Runner] = []  # cancelled runners still finishing their current step

    @property
    def running(self) -> bool:
        return self._runner is not None and self._runner.isRunning()

    def start(self, factory: WorkFactory) -> None:
        """Cancel the current job (if any) and run ``factory()`` in a worker thread."""
        self.cancel()
        cancel = threading.Event()
        runner = _Runner(factory, cancel)
        runner.progress.connect(self._on_progress)
        runner.succeeded.connect(self._on_succeeded)
        runner.failed.connect(self._on_failed)
        runner.finished.connect(self._on_thread_finished)
        self._runner, self._cancel = runner, cancel
        self.busy.emit(True)
        runner.start()

    def cancel(self) -> None:
        """Ask the running job to stop at its next step; its result will be dropped."""
        if self._runner is not None and self._cancel is not None:
            self._cancel.set()
            if self._runner.isRunning():
                self._old.append(self._runner)
            self._runner = None
            self._cancel = None
            self.busy.emit(False)

    def wait(self, ms: int = 5000) -> bool:
        """Block until every thread of this task has ended (used on close and in tests)."""
        ok = True
        for runner in [*self._old, *([self._runner] if self._runner else [])]:
            ok = runner.wait(ms) and ok
        self._old = [r for r in self._old if r.isRunning()]
        return ok

    def shutdown(self) -> None:
        """Cancel and wait: no thread outlives the window."""
        self.cancel()
        self.wait()

    def _is_current(self) -> bool:
        return self.sender() is self._runner

    def _on_progress(self, done: int, total: int) -> None:
        if self._is_current():
            self.progress.emit(done, total)

    def _on_succeeded(self, result: object) -> None:
        if self._is_current():
            self.finished.emit(result)

    def _on_failed(self, message: str) -> None:
        if self._is_current():
            self.failed.emit(message)

    def _on_thread_finished(self) -> None:
        runner = self.sender()
        if runner is self._runner:
            self._runner, self._cancel = None, None
            self.busy.emit(False)
        if runner in self._old:
            self._old.remove(runner)
        if isinstance(runner, QThread):
            runner.deleteLater()
