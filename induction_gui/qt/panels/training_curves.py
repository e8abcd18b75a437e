"""Training curves of an induction run: the loss plateau, the sudden drop, and the heads that cause it.

Four small plots share one x axis (training step): the loss; the loss on
first-occurrence tokens against the loss on repeated tokens (only the repeats
can be predicted by copying, so only their loss drops at the phase change);
the prefix-matching score of every last-layer head (the induction head's
attention signature); and the previous-token score of every layer-0 head (the
head the induction head composes with). When the trainer's ``induction_formed``
test first passes, every plot gets the same dashed line, "induction head forms
(step N)": the phase change of Olsson et al. (2022). A solid cursor line shows
the checkpoint the views are scrubbed to. The grid, marks and cursor are
:class:`~.curve_plots.CurvePlots`'; a markov-chains run shows :mod:`.markov_curves` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from .curve_plots import LINE_WIDTH, PALETTE, TICK_MARGIN_PX, CurvePlots, color_key, number

# the projector's pair: the loss that drops at the phase change and the score that rises with it
PHASE_CHANGE_PLOTS = ("split", "prefix")

# plot key -> (title, y label, tooltip in the lecture's terms)
PLOTS: dict[str, tuple[str, str, str]] = {
    "loss": ("Training loss", "loss (nats)",
             "Cross-entropy on the training batch. It sits on a plateau, then drops suddenly when the "
             "induction head forms: the phase change."),
    "split": ("First vs repeated tokens", "loss (nats)",
              "Loss on tokens seen for the first time (unpredictable) against tokens that repeat an earlier "
              "block (predictable by copying). Only the repeat loss drops at the phase change."),
    "prefix": ("Prefix matching, last layer", "score",
               "Prefix-matching score per last-layer head: how much a head attends from a token to the token "
               "after that token's previous occurrence. High means an induction head."),
    "previous": ("Previous-token, layer 0", "score",
                 "Previous-token score per layer-0 head: how much a head attends to the position just before. "
                 "The induction head reads what a previous-token head writes (K-composition)."),
}


class TrainingCurves(CurvePlots):
    """Live curves of one induction training run, the phase-change marker and the scrub cursor.

    Parameters
    ----------
    formed
        ``record -> bool``: the trainer's test that the induction head has formed
        (``model.training_session.induction_formed``); the first record that passes it
        places the phase-change marker.
    """

    PLOTS = PLOTS
    HEAD_PLOTS = {"prefix": (-1, "prefix_matching"), "previous": (0, "previous_token")}
    MARKS = ("induction",)
    PHASE_CHANGE_PLOTS = PHASE_CHANGE_PLOTS

    def __init__(self, formed: Callable[[object], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._formed = formed
        self.loss: list[float] = []
        self.loss_first: list[float] = []
        self.loss_repeat: list[float] = []
        self.formed_at: int | None = None  # step of the phase change, once seen

    @property
    def prefix(self) -> list[np.ndarray]:
        """Per record: [head_index] prefix-matching scores of the last layer."""
        return self.heads["prefix"]

    @property
    def previous(self) -> list[np.ndarray]:
        """Per record: [head_index] previous-token scores of layer 0."""
        return self.heads["previous"]

    @property
    def phase_lines(self) -> dict[str, pg.InfiniteLine]:
        """Plot key -> its "induction head forms" line."""
        return self.marks["induction"]

    # -- data ---------------------------------------------------------------------------------
    def clear(self, total_steps: int) -> None:
        """Forget the curves (a new run of ``total_steps`` steps begins)."""
        self._clear_series(total_steps)
        for series in (self.loss, self.loss_first, self.loss_repeat):
            series.clear()
        self.formed_at = None
        if self.plots:
            self._redraw()

    def add_records(self, records: Iterable[object]) -> None:
        """Append step records (``model.training_session.StepRecord``) and redraw once."""
        added = False
        for r in records:
            self._add_heads(r)
            self.loss.append(number(r.loss))
            self.loss_first.append(number(r.loss_first))
            self.loss_repeat.append(number(r.loss_repeat))
            if self.formed_at is None and self._formed(r):
                self.formed_at = int(r.step)
            added = True
        if added:
            self._after_adding()

    def set_records(self, records: Sequence[object], total_steps: int, formed_at: int | None = None) -> None:
        """Show a finished run: all its records at once, the phase change where the run says it is."""
        self.clear(total_steps)
        self.add_records(records)
        if formed_at is not None:
            self.formed_at = int(formed_at)
            if self.plots:
                self._redraw()

    @property
    def marker_text(self) -> str:
        """The phase-change label, "" before the induction head has formed."""
        return "" if self.formed_at is None else f"induction head forms (step {self.formed_at})"

    # -- plots ----------------------------------------------------------------------------------
    def _build_curves(self) -> None:
        split = self.plots["split"].getPlotItem()
        self.curves["loss"] = [self.plots["loss"].plot(pen=pg.mkPen(PALETTE[0], width=LINE_WIDTH))]
        self.curves["split"] = [
            split.plot(pen=pg.mkPen(PALETTE[1], width=LINE_WIDTH)),
            split.plot(pen=pg.mkPen(PALETTE[0], width=LINE_WIDTH)),
        ]
        self.legends["loss"].setText(color_key([(PALETTE[0], "batch loss")]))
        self.legends["split"].setText(color_key([(PALETTE[1], "first occurrence"), (PALETTE[0], "repeated")]))

    def _redraw(self) -> None:
        if not self.plots:  # not shown yet: the data is kept and drawn when the plots are built
            return
        x = np.asarray(self.steps, dtype=np.float64)  # [record]
        self.curves["loss"][0].setData(x, np.asarray(self.loss), connect="finite")
        self.curves["split"][0].setData(x, np.asarray(self.loss_first), connect="finite")
        self.curves["split"][1].setData(x, np.asarray(self.loss_repeat), connect="finite")
        self._draw_heads()
        spans = {key: (*_finite_span(self.curves[key]), TICK_MARGIN_PX) for key in ("loss", "split")}
        self._frame(int(x[-1]) if x.size else 0, spans)

    def _mark_steps(self) -> dict[str, tuple[int, tuple[str, ...]]]:
        if self.formed_at is None:
            return {}
        step = self.formed_at
        return {"induction": (step, (f"induction head\nforms (step {step})", f"induction\nhead forms\nstep {step}"))}


def _finite_span(curves: Sequence[pg.PlotDataItem]) -> tuple[float, float]:
    """(lowest, highest) finite y of these curves, (0, 1) when they have none yet."""
    ys = np.concatenate([c.yData for c in curves if c.yData is not None] or [np.zeros(0)])
    ys = ys[np.isfinite(ys)]
    return (float(ys.min()), float(ys.max())) if ys.size else (0.0, 1.0)
