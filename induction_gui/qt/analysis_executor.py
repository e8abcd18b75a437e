"""The window's executor of slow analysis entries: one cancellable worker thread per job.

The analysis floor is Qt-free and only knows the :class:`~induction_gui.analysis.Executor`
protocol; this runs each job with a :class:`Task` and hands progress and the
value back on the GUI thread, where the analysis memoizes it (or drops it when
a newer edit superseded it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Signal

from .workers import Task


class _QtJob:
    def __init__(self, task: Task, owner: QtExecutor) -> None:
        self.task = task
        self._owner = owner

    def cancel(self) -> None:
        self.task.cancel()
        self._owner._retire(self.task)


class QtExecutor(QObject):
    """Runs slow entries in worker threads.

    Signals
    -------
    busy(bool)
        some slow entry is being computed (for a progress indicator).
    """

    busy = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: list[Task] = []
        self._finishing: list[Task] = []  # cancelled tasks whose thread is still ending its step

    def submit(self, work: Callable[[], Iterator[tuple[int, int]]], *, progress: Callable[[int, int], None],
               done: Callable[[Any], None], failed: Callable[[str], None]) -> _QtJob:
        task = Task(self)
        task.progress.connect(progress)
        task.finished.connect(done)
        task.failed.connect(failed)
        task.finished.connect(lambda _value, t=task: self._retire(t))
        task.failed.connect(lambda _message, t=task: self._retire(t))
        self._tasks.append(task)
        task.start(work)
        self.busy.emit(True)
        return _QtJob(task, self)

    @property
    def running(self) -> bool:
        return any(t.running for t in self._tasks)

    def _retire(self, task: Task) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
            self._finishing.append(task)
        self._finishing = [t for t in self._finishing if t.running or t.wait(0) is False]
        if not self._tasks:
            self.busy.emit(False)

    def wait(self, ms: int = 5000) -> bool:
        """Block until every job has ended (tests, and before the window closes)."""
        return all([t.wait(ms) for t in [*self._tasks, *self._finishing]])

    def shutdown(self) -> None:
        """Cancel every job and wait: no thread outlives the window."""
        for task in [*self._tasks, *self._finishing]:
            task.shutdown()
        self._tasks.clear()
        self._finishing.clear()
