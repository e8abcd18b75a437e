"""The Training dock's progress bar: steps done of the run, and the time left at the recent speed."""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtWidgets import QProgressBar, QWidget

ETA_WINDOW_S = 5.0  # the speed behind the ETA is measured over this much recent time


class RunProgress(QProgressBar):
    """``step 120 / 600 · ETA 0:42``: the speed is measured over the last :data:`ETA_WINDOW_S` seconds."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._speed: deque[tuple[float, int]] = deque()  # (wall time, step) for the ETA
        self.setRange(0, 1)
        self.setValue(0)
        self.setTextVisible(True)
        self.setFormat("not started")
        self.setToolTip("Steps done of the run, and the estimated time left.")

    def restart(self, done: int) -> None:
        """Measure the speed afresh from ``done`` steps (a start or a resume: the pause is not speed)."""
        self._speed.clear()
        self._speed.append((time.monotonic(), done))

    def show_steps(self, done: int, total: int, *, estimate: bool) -> None:
        """``done`` of ``total`` steps, with the time left if ``estimate`` (a run that is training)."""
        self.setRange(0, max(total, 1))
        self.setValue(min(done, total))
        now = time.monotonic()
        self._speed.append((now, done))
        while len(self._speed) > 2 and now - self._speed[0][0] > ETA_WINDOW_S:
            self._speed.popleft()
        eta = ""
        if estimate and len(self._speed) >= 2:
            (t0, s0), (t1, s1) = self._speed[0], self._speed[-1]
            if s1 > s0 and t1 > t0:
                left = (total - done) * (t1 - t0) / (s1 - s0)
                eta = f" · ETA {int(left // 60)}:{int(left % 60):02d}"
        self.setFormat(f"step {done} / {total}{eta}")
