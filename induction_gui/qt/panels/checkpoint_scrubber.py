"""The checkpoint row of the Training dock: a slider over the checkpoints, the step, and what the views show.

Dragging asks for a checkpoint at most once a frame (:data:`SCRUB_INTERVAL_MS`):
loading one recomputes every view, and a drag across a long run must not
queue hundreds of loads. The dock decides what a request loads.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSpinBox, QWidget

SCRUB_INTERVAL_MS = 16  # slider drags load at most one checkpoint per frame


class CheckpointScrubber(QWidget):
    """Slider, step box and label over a list of checkpoint steps.

    Signals
    -------
    step_requested(int)
        the learner chose the checkpoint of this step (throttled while dragging).
    """

    step_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steps: list[int] = []
        self._pending_index: int | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setMinimumWidth(160)  # a handle to drag even when the label beside it is long
        self.slider.setEnabled(False)
        self.slider.setToolTip(
            "Scrub through the checkpoints: the model at that step is loaded into every view, so you can "
            "watch the attention patterns before, during and after the phase change. Not an edit: no undo entry."
        )
        self.step_spin = QSpinBox()
        self.step_spin.setRange(0, 0)
        self.step_spin.setEnabled(False)
        self.step_spin.setPrefix("step ")
        self.step_spin.setKeyboardTracking(False)
        self.step_spin.setToolTip("The step to show; the nearest checkpoint at or before it is loaded.")
        self.label = QLabel("no checkpoints yet")
        self.label.setToolTip("The checkpoint the views show, and its loss.")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Checkpoint")
        title.setBuddy(self.slider)
        row.addWidget(title)
        row.addWidget(self.slider, 1)
        row.addWidget(self.step_spin)
        row.addWidget(self.label)

        self.slider.valueChanged.connect(self._on_slider_changed)
        self.step_spin.valueChanged.connect(self._on_step_spin_changed)

    def set_steps(self, steps: list[int], single_step: int, *, follow: bool) -> bool:
        """Offer ``steps``; with ``follow`` a handle at the end stays at the end. True if it moved there."""
        self.steps = steps
        n = len(steps)
        at_end = self.slider.value() >= self.slider.maximum()
        moved = follow and at_end and n > 0
        with QSignalBlocker(self.slider), QSignalBlocker(self.step_spin):
            self.slider.setRange(0, max(n - 1, 0))
            self.step_spin.setRange(0, steps[-1] if n else 0)
            self.step_spin.setSingleStep(single_step)
            if moved:
                self.slider.setValue(n - 1)
                self.step_spin.setValue(steps[-1])
        self.slider.setEnabled(n > 0)
        self.step_spin.setEnabled(n > 0)
        return moved

    def show_step(self, step: int) -> None:
        """Put the handle on checkpoint ``step`` without requesting it."""
        if step in self.steps:
            index = self.steps.index(step)
            if self.slider.value() != index:
                with QSignalBlocker(self.slider), QSignalBlocker(self.step_spin):
                    self.slider.setValue(index)
                    self.step_spin.setValue(step)

    def stop(self) -> None:
        """Drop a request still waiting for its frame."""
        self._timer.stop()

    def _on_slider_changed(self, index: int) -> None:
        if 0 <= index < len(self.steps):
            with QSignalBlocker(self.step_spin):
                self.step_spin.setValue(self.steps[index])
        self._pending_index = index
        if not self._timer.isActive():
            self._timer.start(SCRUB_INTERVAL_MS)

    def _on_step_spin_changed(self, step: int) -> None:
        earlier = [i for i, s in enumerate(self.steps) if s <= step]
        if earlier:
            self.slider.setValue(earlier[-1])  # requests through _on_slider_changed

    def _on_timer(self) -> None:
        index, self._pending_index = self._pending_index, None
        if index is not None and 0 <= index < len(self.steps):
            self.step_requested.emit(self.steps[index])
