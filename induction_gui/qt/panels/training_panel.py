"""The Training dock: train the toy model, watch the phase change, scrub back through checkpoints.

A learner presses Start and sees the loss sit on a plateau, then drop
suddenly as an induction head forms (Olsson et al. 2022). Training runs in a
:class:`~.training_worker.TrainingWorker` thread; records arrive in batches and
are applied here, on the GUI thread. Every kept checkpoint is in memory and
in a run folder (a temporary one unless the learner saves it), so the step
slider can load any of them into the document and every view (attention,
circuits, metrics) shows the model at that step. A long run keeps the
session's bounded, evenly thinned set of records and checkpoints (the same
rule, applied here to the same items). A finished run folder opens without
retraining.

The dock is assembled from its parts: :mod:`.training_settings`,
:mod:`.training_controls`, :mod:`.run_curves` (the induction or the Markov curves), :mod:`.checkpoint_scrubber`,
:mod:`.checkpoint_loading` (how a checkpoint reaches the document) and
:mod:`.training_run_files` (opening and saving run folders). The
training loop itself is the command line's: :mod:`...model.training_session`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QKeyEvent, QUndoStack
from PySide6.QtWidgets import (
    QLabel,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...model.document import Document
from ...model.events import Change, ModelReplaced
from ...model.markov_run import read_start
from ...model.scenario import Scenario, Weights
from ...model.training_run import RunWriter, TrainingRun, TrainingRunError
from ...model.thinning import Thinned
from ...model.training_session import StepRecord, TrainConfig, TrainingConfigError, induction_formed
from ...model.training_session import add_record, checkpoint_series, record_series  # the session's thinning
from .checkpoint_loading import CheckpointLoading
from .checkpoint_scrubber import CheckpointScrubber
from .training_controls import TrainingControls
from .markov_curves import MarkovCurves
from .run_curves import RunCurves
from .training_curves import TrainingCurves
from .training_run_files import RunFolders
from .training_settings import ERROR_STYLE, TrainingSettings
from .training_worker import CANCELLED, DIVERGED, FINISHED, TrainingWorker


class TrainingPanel(CheckpointLoading, RunFolders, QWidget):
    """Settings, Start / Pause / Resume / Cancel, live curves and a checkpoint slider.

    Parameters
    ----------
    document
        the open document; checkpoints are loaded into it.
    undo_stack
        the window's stack. Scrubbing never pushes on it; loading another
        model clears it, because commands recorded on other weights would undo
        into the wrong model.

    Attributes
    ----------
    confirm_replace
        ``() -> bool``: may the document's scenario be replaced (the window asks
        to save unsaved work)? Called before the first checkpoint is loaded.
    replace_scenario
        ``(Scenario) -> None``: open the training scenario (the window's own
        ``replace``, which also resets its title and compare pin).
    show_error
        ``(title, message) -> None``: a modal error (tests replace it).
    """

    def __init__(self, document: Document, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.undo_stack = undo_stack
        self.confirm_replace: Callable[[], bool] = lambda: True
        self.replace_scenario: Callable[[Scenario], None] = self._replace_scenario
        self.show_error: Callable[[str, str], None] = lambda title, message: QMessageBox.critical(self, title, message)

        self.config: TrainConfig | None = None  # of the run shown (training or opened)
        # the kept records and checkpoints, thinned by the session's rule (bounded on a run of any length)
        self.records: Thinned[StepRecord] = record_series()
        self._kept_checkpoints: Thinned[int] = checkpoint_series(TrainConfig())
        self.checkpoints: dict[int, Weights] = {}  # step -> weights, in memory (an opened run fills it on demand)
        self.checkpoint_steps: list[int] = []
        self.run_folder: Path | None = None  # where the shown run is on disk
        self.status = ""  # "", "training", "paused", or how the last run ended
        self.loaded_step: int | None = None  # the checkpoint the document shows
        self._run: TrainingRun | None = None  # an opened run (checkpoints read lazily)
        self._worker: TrainingWorker | None = None
        self._temp_folders: list[Path] = []
        self._shown: Scenario | None = None  # the scenario object our first load created
        self._last_follow = 0.0

        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Space starts and pauses while the panel has focus
        self._setup_ui()
        document.events.scenario.connect(self._on_scenario_changed)
        self._update_buttons()

    # -- construction -----------------------------------------------------------------------------
    def _setup_ui(self) -> None:
        self.settings = TrainingSettings()
        # the settings' widgets, under the names the rest of the dock (and its tests) use
        self.preset_combo = self.settings.preset_combo
        self.spins = self.settings.spins
        self.validation_label = self.settings.validation_label

        self.controls = TrainingControls()
        c = self.controls  # its widgets, under the names the rest of the dock (and its tests) use
        self.start_button, self.pause_button, self.resume_button = c.start_button, c.pause_button, c.resume_button
        self.cancel_button, self.open_button, self.save_button = c.cancel_button, c.open_button, c.save_button
        self.progress = c.progress
        self.status_label = QLabel("Press Start to train. Watch for the plateau, then the phase change.")
        self.status_label.setWordWrap(True)
        self.status_label.setToolTip(
            "Plateau: the loss stalls while the model only knows which tokens are common. Phase change: an "
            "induction head forms (a previous-token head in layer 0 feeds a prefix-matching head in the last "
            "layer) and the loss on repeated tokens drops suddenly."
        )

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(4, 4, 4, 4)
        left_layout.addWidget(self.settings)
        left_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumWidth(260)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.run_curves = RunCurves(induction_formed)  # the shown run's dataset picks the set (self.curves)
        self.scrubber = CheckpointScrubber()
        self.slider = self.scrubber.slider
        self.step_spin = self.scrubber.step_spin
        self.checkpoint_label = self.scrubber.label

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 4, 4, 4)
        right_layout.addWidget(self.controls)
        right_layout.addWidget(self.run_curves, 1)
        right_layout.addWidget(self.scrubber)
        right_layout.addWidget(self.status_label)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(right)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.settings.changed.connect(self._update_buttons)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self.open_run_dialog)
        self.save_button.clicked.connect(self.save_run_dialog)
        self.scrubber.step_requested.connect(self.load_checkpoint)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """Short enough that the views above keep most of the window's height, tall enough for the curves."""
        return QSize(1200, 360)

    def set_font_size(self, points: float) -> None:
        """Projector-size text reaches the curves too (View ▸ Larger Text)."""
        self.run_curves.set_font_size(points)

    def set_compact(self, compact: bool) -> None:
        """Presentation mode: the phase-change curves and the checkpoint slider; settings and controls hidden.

        In front of a class the run is already there (the bundled pre-trained
        run); what matters is the drop of the repeat loss, the rise of the
        prefix-matching score and scrubbing across it.
        """
        self.splitter.widget(0).setVisible(not compact)
        # the run's controls and status line: the curves' own phase-change label says what matters
        for widget in (*self.controls.widgets, self.status_label):
            widget.setVisible(not compact)
        self.run_curves.set_compact(compact)

    def detach(self) -> None:
        """Stop training and wait for the thread; delete temporary run folders (no thread outlives the panel)."""
        self.document.events.scenario.disconnect(self._on_scenario_changed)
        self.scrubber.stop()
        worker = self._worker
        if worker is not None:
            worker.cancel()
            worker.wait()
            self._on_worker_ended(CANCELLED, "the window closed")
        for folder in self._temp_folders:
            shutil.rmtree(folder, ignore_errors=True)
        self._temp_folders.clear()

    # -- settings ---------------------------------------------------------------------------------
    def settings_config(self) -> TrainConfig:
        """The preset with the edited hyperparameters (raises TrainingConfigError naming the first bad field)."""
        return self.settings.config()

    @property
    def settings_valid(self) -> bool:
        return self.settings.valid

    # -- training -----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A worker exists (training or paused)."""
        return self._worker is not None

    def start(self) -> bool:
        """Train a new model from the settings; False if the settings are invalid or a run is going."""
        if self.running:
            return False
        try:
            config = self.settings_config()
        except TrainingConfigError as exc:
            self.settings.show_problem(str(exc))
            return False
        writer, note = self._temporary_writer(config)
        self._show_run(config, [], None)
        self._run = None
        self.run_folder = None if writer is None else writer.folder
        worker = TrainingWorker(config, writer)
        worker.initial_curves.connect(self._on_initial_curves)
        worker.batch.connect(self._on_batch_received)
        worker.paused_changed.connect(self._on_paused_changed)
        worker.ended.connect(self._on_worker_ended)
        self._worker = worker
        self.status = "training"
        self.progress.restart(0)
        self.status_label.setText("Training… the loss first sits on a plateau." + note)
        self._update_progress(0)
        self._update_buttons()
        worker.start()
        return True

    def _temporary_writer(self, config: TrainConfig) -> tuple[RunWriter | None, str]:
        """A run folder in the temporary directory (Save Run… copies it); without one, training still works."""
        try:
            root = Path(tempfile.mkdtemp(prefix="induction-run-"))
            self._temp_folders.append(root)
            return RunWriter(root / "run", config), ""
        except (OSError, TrainingRunError) as exc:
            return None, f" (checkpoints are kept in memory only: {exc})"

    def pause(self) -> None:
        if self._worker is not None and self.status == "training":
            self._worker.pause()
            self.status = "paused"
            self._update_buttons()

    def resume(self) -> None:
        if self._worker is not None and self.status == "paused":
            self._worker.resume()
            self.status = "training"
            self.progress.restart(self._done_steps())
            self._update_buttons()

    def cancel(self) -> None:
        """Stop after the current step; the records and checkpoints so far stay."""
        if self._worker is not None:
            self._worker.cancel()
            self.cancel_button.setEnabled(False)

    def toggle(self) -> None:
        """Space: start, pause or resume, whichever the run is ready for."""
        if self.status == "training":
            self.pause()
        elif self.status == "paused":
            self.resume()
        else:
            self.start()

    def wait(self, ms: int = 30_000) -> bool:
        """Block until the training thread has ended (tests, closing)."""
        return self._worker is None or self._worker.wait(ms)

    def _done_steps(self) -> int:
        return self.records[-1].step if self.records else 0

    @property
    def curves(self) -> TrainingCurves | MarkovCurves:
        """The curves of the shown run's dataset."""
        return self.run_curves.current

    def _on_initial_curves(self, start: StepRecord | None) -> None:
        if self.sender() is self._worker:  # the untrained model's held-out record: a Markov run's step 0
            self.run_curves.set_start(start)

    def _on_batch_received(self, records: list[StepRecord], checkpoints: list[tuple[int, Weights]]) -> None:
        if self.sender() is not self._worker:
            return  # a batch queued by a run that has since been replaced
        thinned = False
        for record in records:
            thinned = bool(add_record(self.records, record)) or thinned
        if thinned:  # some points left the curves: draw the kept ones (a few hundred times in a million steps)
            assert self.config is not None
            self.curves.set_records(self.records, self.config.steps, self.curves.formed_at)
        else:
            self.curves.add_records(records)
        for step, weights in checkpoints:
            self.checkpoints[step] = weights
            self.checkpoint_steps.append(step)
            for old in self._kept_checkpoints.add(step):  # as the session let it go
                self.checkpoints.pop(old, None)
                self.checkpoint_steps.remove(old)
        if checkpoints:
            self._update_slider_range(follow=True)
        self._update_progress(self._done_steps())
        self._update_phase_text()

    def _on_paused_changed(self, paused: bool) -> None:
        if paused and self._worker is not None:
            self.status_label.setText(f"Paused at step {self._done_steps()}. Scrub the checkpoints, then Resume.")

    def _on_worker_ended(self, status: str, message: str) -> None:
        worker = self._worker
        if worker is None or (self.sender() is not None and self.sender() is not worker):
            return
        worker.wait()  # the thread is past its last line: this returns at once
        worker.deleteLater()
        self._worker = None
        self.status = status
        heading = {FINISHED: "Finished", CANCELLED: "Cancelled", DIVERGED: "Diverged (try a smaller learning rate)"}
        self.status_label.setText(f"{heading.get(status, 'Failed')}: {message}. {self._phase_text()}".strip())
        self.status_label.setStyleSheet("" if status in (FINISHED, CANCELLED) else ERROR_STYLE)
        self._update_progress(self._done_steps(), ended=True)
        self._update_buttons()

    def _on_scenario_changed(self, change: Change) -> None:
        """Another scenario was opened: the views no longer show a checkpoint, so nothing may say they do."""
        if isinstance(change, ModelReplaced) and self.loaded_step is not None and not self._shows_run():
            self.loaded_step, self._shown = None, None
            self.curves.set_cursor(None)
            self._update_slider_range(follow=False)

    def _update_progress(self, done: int, ended: bool = False) -> None:
        total = self.config.steps if self.config is not None else 1
        self.progress.show_steps(done, total, estimate=not ended and self.status == "training")

    def _phase_text(self) -> str:
        return self.run_curves.phase_text(bool(self.records))

    def _update_phase_text(self) -> None:
        if self.status == "training":
            self.status_label.setStyleSheet("")
            self.status_label.setText(f"Training… {self._phase_text()}")

    def _update_buttons(self) -> None:
        idle = self._worker is None
        self.controls.update_state(status=self.status, idle=idle, can_start=self.settings_valid,
                                   has_folder=self.run_folder is not None)
        self.settings.set_editable(idle)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() == Qt.Key.Key_Space and not event.modifiers():
            self.toggle()
            event.accept()
            return
        super().keyPressEvent(event)

    # -- the run shown ------------------------------------------------------------------------------------
    def _show_run(self, config: TrainConfig, records: list[StepRecord], formed_at: int | None) -> None:
        """Reset curves, checkpoints and slider for a run (new or opened)."""
        self.config = config
        self.records = record_series()
        for record in records:
            add_record(self.records, record)
        self._kept_checkpoints = checkpoint_series(config)
        self.checkpoints = {}
        self.checkpoint_steps = []
        self.loaded_step = None
        self._shown = None
        self.run_curves.use(config)
        self.curves.set_n_layers(config.n_layers)
        self.curves.set_records(self.records, config.steps, formed_at)
        self.status_label.setStyleSheet("")
        self._update_slider_range(follow=False)

    def open_run(self, folder: Path | str) -> bool:
        """Open a saved run (:class:`.training_run_files.RunFolders`); a Markov run's curves start at step 0."""
        if not super().open_run(folder):
            return False
        self.run_curves.set_start(read_start(folder))
        return True
