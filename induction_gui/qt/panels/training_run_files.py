"""Opening and saving a training run folder: the Training dock's side of run files.

A finished (or interrupted) run folder opens without retraining: its curves,
its checkpoints (read from disk when first scrubbed to) and its settings.
Saving copies the run's temporary folder where the learner chooses.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QLabel

from ...model.training_run import TrainingRun, TrainingRunError
from .checkpoint_scrubber import CheckpointScrubber
from .run_progress import RunProgress
from .training_settings import TrainingSettings


class RunFolders:
    """Open and save run folders, for :class:`~.training_panel.TrainingPanel` (a mixin, like
    :class:`~.checkpoint_loading.CheckpointLoading`: the dock owns the state, this class the behaviour)."""

    settings: TrainingSettings
    scrubber: CheckpointScrubber
    progress: RunProgress
    status_label: QLabel
    show_error: Callable[[str, str], None]
    run_folder: Path | None
    status: str
    checkpoint_steps: list[int]

    def open_run(self, folder: Path | str) -> bool:
        """Show a saved run's curves and checkpoints without retraining; a broken folder changes nothing."""
        if self.running:
            self.show_error("Cannot open the training run", "A run is training: cancel it first.")
            return False
        try:
            run = TrainingRun.open(folder)
        except (TrainingRunError, OSError) as exc:
            self.show_error("Cannot open the training run", str(exc))
            return False
        self.settings.show_config(run.config)
        self.settings.check()
        self._show_run(run.config, run.records, run.formed_at)
        self._run = run
        self.run_folder = Path(folder)
        self.status = run.status
        self.checkpoint_steps = list(run.checkpoint_steps)
        self._update_slider_range(follow=False)
        if self.checkpoint_steps:
            # the handle at the end of the run, so scrubbing back to before the phase change is a drag left;
            # nothing is loaded: the views keep what they show until the learner drags
            self.scrubber.show_step(self.checkpoint_steps[-1])
        self.progress.restart(self._done_steps())
        self._update_progress(self._done_steps(), ended=True)
        steps = run.records[-1].step if run.records else 0  # a long run keeps a thinned set of records
        self.status_label.setText(f"Opened {self.run_folder.name} ({run.status}, {steps} steps, "
                                  f"{len(run.checkpoint_steps)} checkpoints). {self._phase_text()}")
        self._update_buttons()
        return True

    def open_run_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open training run folder")
        if folder:
            self.open_run(Path(folder))

    def save_run_to(self, folder: Path | str) -> bool:
        """Copy the run folder (history and checkpoints) to ``folder``, which must not exist yet."""
        if self.run_folder is None or self.running:
            return False
        try:
            shutil.copytree(self.run_folder, folder)
        except OSError as exc:
            self.show_error("Cannot save the training run", f"{folder}: {exc}")
            return False
        self.status_label.setText(f"Saved the run to {folder}.")
        return True

    def save_run_dialog(self) -> None:
        folder, _ = QFileDialog.getSaveFileName(self, "Save training run as folder", "training-run")
        if folder:
            self.save_run_to(Path(folder))
