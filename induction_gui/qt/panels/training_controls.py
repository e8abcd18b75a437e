"""The Training dock's control row: Start, Pause, Resume, Cancel, the progress bar, Open Run… and Save Run…."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from .run_progress import RunProgress


class TrainingControls(QWidget):
    """The buttons that drive a run and the bar that shows how far it is; the dock connects them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Train a new model from these settings (Space while this panel has focus).")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Stop stepping; the run keeps its place (Space).")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Go on from where the run was paused (Space).")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("End the run here; its checkpoints stay and can still be scrubbed.")
        self.open_button = QPushButton("Open Run…")
        self.open_button.setToolTip("Open a saved training run folder (history.json and checkpoints/) "
                                    "to look at its curves and checkpoints without retraining.")
        self.save_button = QPushButton("Save Run…")
        self.save_button.setToolTip("Copy this run's folder (history and every checkpoint) to a folder you choose.")
        self.progress = RunProgress()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for button in (self.start_button, self.pause_button, self.resume_button, self.cancel_button):
            row.addWidget(button)
        row.addWidget(self.progress, 1)
        row.addWidget(self.open_button)
        row.addWidget(self.save_button)

    @property
    def widgets(self) -> tuple[QWidget, ...]:
        """Every control, in the row's order."""
        return (self.start_button, self.pause_button, self.resume_button, self.cancel_button, self.progress,
                self.open_button, self.save_button)

    def update_state(self, *, status: str, idle: bool, can_start: bool, has_folder: bool) -> None:
        """Enable what the run's state allows: ``status`` is "training", "paused" or how the last run ended."""
        self.start_button.setEnabled(idle and can_start)
        self.pause_button.setEnabled(status == "training")
        self.resume_button.setEnabled(status == "paused")
        self.cancel_button.setEnabled(not idle)
        self.open_button.setEnabled(idle)
        self.save_button.setEnabled(idle and has_folder)
