"""The Training dock: train the toy model, watch the phase change, scrub back through checkpoints.

A learner presses Start and sees the loss sit on a plateau, then drop
suddenly as an induction head forms (Olsson et al. 2022). Training runs in a
:class:`~.training_worker.TrainingWorker` thread; records arrive in batches and
are applied here, on the GUI thread. Every checkpoint is kept in memory and
written to a run folder (a temporary one unless the learner saves it), so the
step slider can load any of them into the document and every view (attention,
circuits, metrics) shows the model at that step. A finished run folder opens
without retraining.

Scrubbing is navigation, not editing: it pushes nothing on the undo stack.
The first load replaces the document's scenario (asking to save unsaved work
first, through :attr:`TrainingPanel.confirm_replace`); later loads only swap
weights with :meth:`Document.set_model_state`, one event and one recompute.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSignalBlocker, QSize, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...engine.training import PRESETS, StepRecord, TrainConfig, TrainingConfigError, induction_formed
from ...engine.training_data import tiled_blocks
from ...engine.weights import Weights
from ...model.document import Document
from ...model.scenario import Scenario
from ...model.training_run import RunWriter, TrainingRun, TrainingRunError, build_scenario
from .training_curves import PHASE_CHANGE_PLOTS, TrainingCurves
from .training_worker import CANCELLED, DIVERGED, FINISHED, TrainingWorker

SCRUB_INTERVAL_MS = 16  # slider drags load at most one checkpoint per frame
FOLLOW_INTERVAL_S = 0.5  # while training, the views follow the newest checkpoint at most this often
ETA_WINDOW_S = 5.0  # the speed behind the ETA is measured over this much recent time
ERROR_STYLE = "color: #b00020;"

# spin box key -> (TrainConfig field, label, tooltip)
HYPERPARAMETERS: dict[str, tuple[str, str, str]] = {
    "steps": ("steps", "Steps", "Adam steps of the whole run. The phase change usually comes after a plateau."),
    "lr": ("lr", "Learning rate", "Adam's step size. Smaller makes the plateau longer (slow motion); too large "
           "and the loss diverges."),
    "seed": ("seed", "Seed", "Fixes the initial weights and every batch: the same seed gives the same run."),
    "d_model": ("d_model", "d_model", "Width of the residual stream, where heads read and write."),
    "n_heads": ("n_heads", "Heads per layer", "Attention heads in each of the layers. The induction circuit needs "
                "a previous-token head in layer 0 and an induction head in the last layer."),
    "batch": ("batch_size", "Batch size", "Sequences per Adam step: [BOS, block, block …] with random blocks."),
}


def sample_sequence(config: TrainConfig) -> np.ndarray:
    """``[BOS, r, r]``: one block of the training distribution, shown twice, for the views.

    Drawn by the trainer's own generator from the run's seed, with a block
    length the model trained on (the middle of the range, or the period). One
    repeat is enough to see the induction stripe, and half the tokens of a
    full training row keep every view quick to redraw while scrubbing.

    Returns
    -------
    np.ndarray
        int64 [pos] with ``pos = 1 + 2 L ≤ n_ctx``.
    """
    if config.dataset == "fixed-period":
        length = config.effective_period
    else:
        length = (config.min_block + config.max_block) // 2
    length = max(1, min(length, config.d_vocab - 1, (config.n_ctx - 1) // 2))
    batch = tiled_blocks(np.array([length]), 1 + 2 * length, config.d_vocab, np.random.default_rng(config.seed))
    return batch.tokens[0].astype(np.int64)  # [pos]


class TrainingPanel(QWidget):
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
        self.records: list[StepRecord] = []
        self.checkpoints: dict[int, Weights] = {}  # step -> weights, in memory (an opened run fills it on demand)
        self.checkpoint_steps: list[int] = []
        self.run_folder: Path | None = None  # where the shown run is on disk
        self.status = ""  # "", "training", "paused", or how the last run ended
        self.loaded_step: int | None = None  # the checkpoint the document shows
        self._run: TrainingRun | None = None  # an opened run (checkpoints read lazily)
        self._worker: TrainingWorker | None = None
        self._temp_folders: list[Path] = []
        self._shown: Scenario | None = None  # the scenario object our first load created
        self._speed: deque[tuple[float, int]] = deque()  # (wall time, step) for the ETA
        self._last_follow = 0.0
        self._pending_index: int | None = None
        self._scrub_timer = QTimer(self)
        self._scrub_timer.setSingleShot(True)
        self._scrub_timer.timeout.connect(self._on_scrub_timer)

        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Space starts and pauses while the panel has focus
        self._setup_ui()
        self._on_settings_changed()
        self._update_buttons()

    # -- construction -----------------------------------------------------------------------------
    def _setup_ui(self) -> None:
        self.preset_combo = QComboBox()
        for name in PRESETS:
            self.preset_combo.addItem(name)
        self.preset_combo.setToolTip(
            "Start from a preset: default (the phase change in a few hundred steps), slow-motion (a long "
            "plateau to talk over), tiny (fast), fixed-period (the counter-example: no induction head forms)."
        )
        self.spins: dict[str, QSpinBox | QDoubleSpinBox] = {}
        for key, (_field, _label, tip) in HYPERPARAMETERS.items():
            if key == "lr":
                spin: QSpinBox | QDoubleSpinBox = QDoubleSpinBox()
                spin.setDecimals(5)
                spin.setRange(0.0, 10.0)
                spin.setSingleStep(0.0005)
            else:
                spin = QSpinBox()
                spin.setRange(0, 1_000_000)
            spin.setToolTip(tip)
            spin.setKeyboardTracking(False)
            self.spins[key] = spin
        self.validation_label = QLabel("")
        self.validation_label.setWordWrap(True)
        self.validation_label.setStyleSheet(ERROR_STYLE)
        self.validation_label.setToolTip("What is wrong with the settings; Start is disabled until it is fixed.")

        form = QFormLayout()
        form.addRow("Preset", self.preset_combo)
        for key, (_field, label, _tip) in HYPERPARAMETERS.items():
            form.addRow(label, self.spins[key])
        settings = QGroupBox("Settings")
        settings_layout = QVBoxLayout(settings)
        settings_layout.addLayout(form)
        settings_layout.addWidget(self.validation_label)

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
        controls = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.resume_button, self.cancel_button):
            controls.addWidget(button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("not started")
        self.progress.setToolTip("Steps done of the run, and the estimated time left.")
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
        left_layout.addWidget(settings)
        left_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumWidth(260)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.curves = TrainingCurves(induction_formed)
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
        self.checkpoint_label = QLabel("no checkpoints yet")
        self.checkpoint_label.setToolTip("The checkpoint the views show, and its loss.")
        scrub = QHBoxLayout()
        scrub_title = QLabel("Checkpoint")
        scrub_title.setBuddy(self.slider)
        scrub.addWidget(scrub_title)
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.step_spin)
        scrub.addWidget(self.checkpoint_label)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 4, 4, 4)
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.open_button)
        controls.addWidget(self.save_button)
        right_layout.addLayout(controls)
        right_layout.addWidget(self.curves, 1)
        right_layout.addLayout(scrub)
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

        self._fill_settings(PRESETS[self.preset_combo.currentText()])
        self.preset_combo.currentTextChanged.connect(self._on_preset_changed)
        for spin in self.spins.values():
            spin.valueChanged.connect(self._on_settings_changed)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self.open_run_dialog)
        self.save_button.clicked.connect(self.save_run_dialog)
        self.slider.valueChanged.connect(self._on_slider_changed)
        self.step_spin.valueChanged.connect(self._on_step_spin_changed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """Short enough that the views above keep most of the window's height, tall enough for the curves."""
        return QSize(1200, 360)

    def set_font_size(self, points: float) -> None:
        """Projector-size text reaches the curves too (View ▸ Larger Text)."""
        self.curves.set_font_size(points)

    def set_compact(self, compact: bool) -> None:
        """Presentation mode: the phase-change curves and the checkpoint slider; settings and controls hidden.

        In front of a class the run is already there (the bundled pre-trained
        run); what matters is the drop of the repeat loss, the rise of the
        prefix-matching score and scrubbing across it.
        """
        self.splitter.widget(0).setVisible(not compact)
        # the run's controls and status line: the curves' own phase-change label says what matters
        for widget in (self.start_button, self.pause_button, self.resume_button, self.cancel_button,
                       self.progress, self.open_button, self.save_button, self.status_label):
            widget.setVisible(not compact)
        self.curves.set_shown(PHASE_CHANGE_PLOTS if compact else None)

    def detach(self) -> None:
        """Stop training and wait for the thread; delete temporary run folders (no thread outlives the panel)."""
        self._scrub_timer.stop()
        worker = self._worker
        if worker is not None:
            worker.cancel()
            worker.wait()
            self._on_worker_ended(CANCELLED, "the window closed")
        for folder in self._temp_folders:
            shutil.rmtree(folder, ignore_errors=True)
        self._temp_folders.clear()

    # -- settings ---------------------------------------------------------------------------------
    def _fill_settings(self, config: TrainConfig) -> None:
        for key, (field, _label, _tip) in HYPERPARAMETERS.items():
            blocker = QSignalBlocker(self.spins[key])
            self.spins[key].setValue(getattr(config, field))
            del blocker

    def _on_preset_changed(self, name: str) -> None:
        self._fill_settings(PRESETS[name])
        self._on_settings_changed()

    def settings_config(self) -> TrainConfig:
        """The preset with the edited hyperparameters.

        Raises
        ------
        TrainingConfigError
            naming the first bad field.
        """
        changes = {}
        for key, (field, _label, _tip) in HYPERPARAMETERS.items():
            value = self.spins[key].value()
            changes[field] = float(value) if key == "lr" else int(value)
        config = dataclasses.replace(PRESETS[self.preset_combo.currentText()], **changes)
        config.validate()
        return config

    def _on_settings_changed(self) -> None:
        try:
            self.settings_config()
        except TrainingConfigError as exc:
            self.validation_label.setText(str(exc))
            self.validation_label.show()
        else:
            self.validation_label.setText("")
            self.validation_label.hide()
        self._update_buttons()

    @property
    def settings_valid(self) -> bool:
        return not self.validation_label.text()

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
            self.validation_label.setText(str(exc))
            return False
        writer, note = self._temporary_writer(config)
        self._show_run(config, [], None)
        self._run = None
        self.run_folder = None if writer is None else writer.folder
        worker = TrainingWorker(config, writer)
        worker.batch.connect(self._on_batch_received)
        worker.paused_changed.connect(self._on_paused_changed)
        worker.ended.connect(self._on_worker_ended)
        self._worker = worker
        self.status = "training"
        self._speed.clear()
        self._speed.append((time.monotonic(), 0))
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
            self._speed.clear()
            self._speed.append((time.monotonic(), self._done_steps()))
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

    def _on_batch_received(self, records: list[StepRecord], checkpoints: list[tuple[int, Weights]]) -> None:
        if self.sender() is not self._worker:
            return  # a batch queued by a run that has since been replaced
        self.records.extend(records)
        self.curves.add_records(records)
        for step, weights in checkpoints:
            self.checkpoints[step] = weights
            self.checkpoint_steps.append(step)
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

    def _update_progress(self, done: int, ended: bool = False) -> None:
        total = self.config.steps if self.config is not None else 1
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, total))
        now = time.monotonic()
        self._speed.append((now, done))
        while len(self._speed) > 2 and now - self._speed[0][0] > ETA_WINDOW_S:
            self._speed.popleft()
        eta = ""
        if not ended and self.status == "training" and len(self._speed) >= 2:
            (t0, s0), (t1, s1) = self._speed[0], self._speed[-1]
            if s1 > s0 and t1 > t0:
                left = (total - done) * (t1 - t0) / (s1 - s0)
                eta = f" · ETA {int(left // 60)}:{int(left % 60):02d}"
        self.progress.setFormat(f"step {done} / {total}{eta}")

    def _phase_text(self) -> str:
        formed = self.curves.formed_at
        if formed is not None:
            return (f"Phase change at step {formed}: an induction head formed, and the loss on repeated "
                    "tokens dropped.")
        return "No induction head yet (plateau)." if self.records else ""

    def _update_phase_text(self) -> None:
        if self.status == "training":
            self.status_label.setStyleSheet("")
            self.status_label.setText(f"Training… {self._phase_text()}")

    def _update_buttons(self) -> None:
        idle = self._worker is None
        self.start_button.setEnabled(idle and self.settings_valid)
        self.pause_button.setEnabled(self.status == "training")
        self.resume_button.setEnabled(self.status == "paused")
        self.cancel_button.setEnabled(not idle)
        self.open_button.setEnabled(idle)
        self.save_button.setEnabled(idle and self.run_folder is not None)
        self.preset_combo.setEnabled(idle)
        for spin in self.spins.values():
            spin.setEnabled(idle)

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
        self.records = list(records)
        self.checkpoints = {}
        self.checkpoint_steps = []
        self.loaded_step = None
        self._shown = None
        self.curves.set_n_layers(config.n_layers)
        self.curves.set_records(self.records, config.steps, formed_at)
        self.status_label.setStyleSheet("")
        self._update_slider_range(follow=False)

    def _update_slider_range(self, follow: bool) -> None:
        n = len(self.checkpoint_steps)
        at_end = self.slider.value() >= self.slider.maximum()
        with QSignalBlocker(self.slider), QSignalBlocker(self.step_spin):
            self.slider.setRange(0, max(n - 1, 0))
            self.step_spin.setRange(0, self.checkpoint_steps[-1] if n else 0)
            self.step_spin.setSingleStep(self.config.checkpoint_every if self.config else 1)
            if follow and at_end and n:
                self.slider.setValue(n - 1)
                self.step_spin.setValue(self.checkpoint_steps[-1])
        self.slider.setEnabled(n > 0)
        self.step_spin.setEnabled(n > 0)
        if n and self.loaded_step is None:
            self.checkpoint_label.setText(f"{n} checkpoints: drag to load one")
        elif not n:
            self.checkpoint_label.setText("no checkpoints yet")
        # the views follow a live run once the learner has loaded one of its checkpoints
        if follow and at_end and n and self._shows_run() and time.monotonic() - self._last_follow > FOLLOW_INTERVAL_S:
            self._last_follow = time.monotonic()
            self.load_checkpoint(self.checkpoint_steps[-1])

    # -- scrubbing -------------------------------------------------------------------------------------
    def _on_slider_changed(self, index: int) -> None:
        if 0 <= index < len(self.checkpoint_steps):
            with QSignalBlocker(self.step_spin):
                self.step_spin.setValue(self.checkpoint_steps[index])
        self._pending_index = index
        if not self._scrub_timer.isActive():
            self._scrub_timer.start(SCRUB_INTERVAL_MS)

    def _on_step_spin_changed(self, step: int) -> None:
        earlier = [i for i, s in enumerate(self.checkpoint_steps) if s <= step]
        if earlier:
            self.slider.setValue(earlier[-1])  # loads through _on_slider_changed

    def _on_scrub_timer(self) -> None:
        index, self._pending_index = self._pending_index, None
        if index is not None and 0 <= index < len(self.checkpoint_steps):
            self.load_checkpoint(self.checkpoint_steps[index])

    def checkpoint_weights(self, step: int) -> Weights:
        """The weights saved at ``step`` (read from an opened run's folder on first use)."""
        if step not in self.checkpoints:
            if self._run is None:
                raise KeyError(f"no checkpoint at step {step}")
            self.checkpoints[step] = self._run.load_checkpoint(step)
        return self.checkpoints[step]

    def _shows_run(self) -> bool:
        """The document still shows the scenario our first load made (not a file opened since)."""
        return self._shown is not None and self.document.scenario is self._shown

    def load_checkpoint(self, step: int) -> bool:
        """Show the model at checkpoint ``step`` in every view; pushes no undo command.

        The first load opens a training scenario (the run's vocabulary, a
        sequence from its training distribution, the best prefix-matching head
        in focus); later loads swap only the weights. A copy is loaded, so an
        edit in the Weights panel never changes the stored checkpoint.
        """
        if self.config is None:
            return False
        try:
            weights = self.checkpoint_weights(step).copy()
        except (KeyError, TrainingRunError) as exc:
            self.show_error("Cannot load the checkpoint", str(exc))
            return False
        if self._shows_run():
            s = self.document.scenario
            if self.undo_stack.count():
                self.undo_stack.clear()  # its commands were recorded on the previous checkpoint's weights
            self.document.set_model_state(s.vocab, weights, s.tokens, s.bos)
        else:
            if not self.confirm_replace():
                return False
            name = self.run_folder.name if self._run is not None and self.run_folder else "training run"
            scenario = build_scenario(self.config, weights, step=step, name=name, status=self.status or "running",
                                      formed_at=self.curves.formed_at,
                                      records=[r for r in self.records if r.step <= step])
            scenario.tokens = sample_sequence(self.config)
            scenario.view["query_pos"] = scenario.tokens.size - 1
            scenario.validate()
            self.replace_scenario(scenario)
            self._shown = self.document.scenario
        self.loaded_step = step
        self.curves.set_cursor(step)
        record = self._record_at(step)
        loss = f", loss {record.loss:.3f}" if record is not None else ""
        self.checkpoint_label.setText(f"views show step {step}{loss}")
        if step in self.checkpoint_steps:
            index = self.checkpoint_steps.index(step)
            if self.slider.value() != index:
                with QSignalBlocker(self.slider), QSignalBlocker(self.step_spin):
                    self.slider.setValue(index)
                    self.step_spin.setValue(step)
        return True

    def _record_at(self, step: int) -> StepRecord | None:
        """The record of the step that produced checkpoint ``step`` (step 0, the initial weights, has none)."""
        for record in reversed(self.records):
            if record.step <= step:
                return record if record.step == step else None
        return None

    def _replace_scenario(self, scenario: Scenario) -> None:
        """Open the training scenario without a window: its history starts empty."""
        self.document.replace_scenario(scenario, None)
        self.undo_stack.clear()
        self.undo_stack.setClean()

    # -- run folders ------------------------------------------------------------------------------------
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
        self._fill_settings(run.config)
        self._on_settings_changed()
        self._show_run(run.config, run.records, run.formed_at)
        self._run = run
        self.run_folder = Path(folder)
        self.status = run.status
        self.checkpoint_steps = list(run.checkpoint_steps)
        self._update_slider_range(follow=False)
        if self.checkpoint_steps:
            # the handle at the end of the run, so scrubbing back to before the phase change is a drag left;
            # nothing is loaded: the views keep what they show until the learner drags
            with QSignalBlocker(self.slider), QSignalBlocker(self.step_spin):
                self.slider.setValue(len(self.checkpoint_steps) - 1)
                self.step_spin.setValue(self.checkpoint_steps[-1])
        self._speed.clear()
        self._update_progress(self._done_steps(), ended=True)
        self.status_label.setText(f"Opened {self.run_folder.name} ({run.status}, {len(run.records)} steps, "
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
