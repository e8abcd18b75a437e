"""Showing a run's checkpoints in the document: the Training dock's side of scrubbing.

Scrubbing is navigation, not editing: it pushes nothing on the undo stack.
The first load replaces the document's scenario (asking to save unsaved work
first, through ``confirm_replace``); later loads only swap weights with
:meth:`Document.set_model_state`, one event and one recompute. While a run
trains, the views follow its newest checkpoint once the learner has loaded one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QLabel

from ...model.document import Document
from ...model.scenario import Scenario, Weights
from ...model.training_run import TrainingRun, TrainingRunError, build_scenario
from ...model.training_session import StepRecord, TrainConfig
from .checkpoint_scrubber import CheckpointScrubber
from .training_curves import TrainingCurves

FOLLOW_INTERVAL_S = 0.5  # while training, the views follow the newest checkpoint at most this often


class CheckpointLoading:
    """Loading checkpoints into the document, for :class:`~.training_panel.TrainingPanel`.

    A mixin: the dock owns the state below and this class the behaviour, so
    the dock's file stays about training and run folders.
    """

    document: Document
    undo_stack: QUndoStack
    confirm_replace: Callable[[], bool]
    replace_scenario: Callable[[Scenario], None]
    show_error: Callable[[str, str], None]
    config: TrainConfig | None  # of the run shown
    records: list[StepRecord]
    checkpoints: dict[int, Weights]  # step -> weights, in memory (an opened run fills it on demand)
    checkpoint_steps: list[int]
    run_folder: Path | None
    status: str
    loaded_step: int | None  # the checkpoint the document shows
    curves: TrainingCurves
    scrubber: CheckpointScrubber
    checkpoint_label: QLabel
    _run: TrainingRun | None  # an opened run (checkpoints read lazily)
    _shown: Scenario | None  # the scenario object our first load created
    _last_follow: float

    def _update_slider_range(self, follow: bool) -> None:
        n = len(self.checkpoint_steps)
        at_end = self.scrubber.set_steps(self.checkpoint_steps, self.config.checkpoint_every if self.config else 1,
                                         follow=follow)
        if n and self.loaded_step is None:
            self.checkpoint_label.setText(f"{n} checkpoints: drag to load one")
        elif not n:
            self.checkpoint_label.setText("no checkpoints yet")
        # the views follow a live run once the learner has loaded one of its checkpoints
        if at_end and self._shows_run() and time.monotonic() - self._last_follow > FOLLOW_INTERVAL_S:
            self._last_follow = time.monotonic()
            self.load_checkpoint(self.checkpoint_steps[-1])

    # -- loading -------------------------------------------------------------------------------------
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
            # one repeat of the block shows the induction stripe, and redraws quickly while scrubbing
            scenario = build_scenario(self.config, weights, step=step, name=name, status=self.status or "running",
                                      formed_at=self.curves.formed_at,
                                      records=[r for r in self.records if r.step <= step], blocks=2)
            self.replace_scenario(scenario)
            self._shown = self.document.scenario
        self.loaded_step = step
        self.curves.set_cursor(step)
        record = self._record_at(step)
        loss = f", loss {record.loss:.3f}" if record is not None else ""
        self.checkpoint_label.setText(f"views show step {step}{loss}")
        self.scrubber.show_step(step)
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

