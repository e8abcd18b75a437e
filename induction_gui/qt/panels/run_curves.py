"""The Training dock's curves for the run shown: the induction set or the Markov set, by the run's dataset.

An induction run's story is one phase change (the loss drops when the
induction head forms, :mod:`.training_curves`); a markov-chains run's is
Figure 1 of Edelman et al. (2024), uniform → unigram → bigram
(:mod:`.markov_curves`). Both sets live in one stack; showing a run brings its
set to the front and empties the other, so no old run's curves hide behind it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QStackedWidget, QWidget

from ...model.training_session import StepRecord, TrainConfig
from . import markov_curves, training_curves
from .markov_curves import MarkovCurves
from .training_curves import TrainingCurves

MARKOV_DATASET = "markov-chains"


class RunCurves(QStackedWidget):
    """Both sets of curves, the one of the shown run's dataset in front.

    Parameters
    ----------
    formed
        ``record -> bool``, the trainer's induction-head test (for the induction curves' marker).
    """

    def __init__(self, formed: Callable[[object], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.induction = TrainingCurves(formed)
        self.markov = MarkovCurves()
        for curves in (self.induction, self.markov):
            self.addWidget(curves)

    @property
    def current(self) -> TrainingCurves | MarkovCurves:
        """The set in front: the one the dock adds records, the cursor and the phase text to."""
        return self.markov if self.currentWidget() is self.markov else self.induction

    @property
    def is_markov(self) -> bool:
        return self.current is self.markov

    def use(self, config: TrainConfig) -> None:
        """Bring the set of ``config``'s dataset to the front (a run is about to be shown)."""
        markov = config.dataset == MARKOV_DATASET
        front, other = (self.markov, self.induction) if markov else (self.induction, self.markov)
        other.clear(0)  # hidden: no old run's curves kept behind it
        self.markov.set_start(None)  # a new run's comes from its worker, an opened one's from its folder
        self.setCurrentWidget(front)

    def set_start(self, record: StepRecord | None) -> None:
        """The untrained model's held-out record, for a Markov run's curves (others have none)."""
        if self.is_markov:
            self.markov.set_start(record)

    def set_font_size(self, points: float) -> None:
        for curves in (self.induction, self.markov):
            curves.set_font_size(points)

    def set_compact(self, compact: bool) -> None:
        """Presentation mode: each set's phase-change pair only."""
        self.induction.set_shown(training_curves.PHASE_CHANGE_PLOTS if compact else None)
        self.markov.set_shown(markov_curves.PHASE_CHANGE_PLOTS if compact else None)

    def phase_text(self, has_records: bool) -> str:
        """The status line's sentence on where the run is: its phases, or whether the induction head formed."""
        if self.is_markov:
            phases = self.markov.phases
            if not phases:
                return "Nearest the uniform strategy so far." if has_records else ""
            # one line under the curves of a 1280-wide window: the plots' marks and tooltips say the rest
            said = ", ".join(f"{name} from step {step}" for name, step in phases.items())
            return f"Phases: {said}."
        formed = self.induction.formed_at
        if formed is not None:
            return (f"Phase change at step {formed}: an induction head formed, and the loss on repeated "
                    "tokens dropped.")
        return "No induction head yet (plateau)." if has_records else ""
