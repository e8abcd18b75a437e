"""Training curves of a markov-chains run: Figure 1 of Edelman et al. (2024), live.

A transformer trained on sequences from random Markov chains (a new chain
for every sequence, so the transitions must be learned in context) passes
through phases: it first predicts every state as equally likely (the uniform
strategy), then as often as it has appeared so far (the in-context unigram),
and at last from the transitions counted so far (the in-context bigram), the
one a statistical induction head implements. Four plots share the step axis:

- the loss on a fixed held-out batch, above its floor, the loss of the
  Bayes-optimal bigram estimate (a dashed line: no model can go below it);
- KL(strategy ‖ model) to each of the three strategies (log axis: the
  interesting part is how small the bigram's KL gets), the background shaded
  by the nearest strategy over each stretch of steps;
- the previous-token score of every layer-0 head and the statistical
  induction score of every last-layer head: the two heads that implement the
  bigram strategy together, and the plateau at the unigram ends when they form.

Dashed vertical marks, "unigram phase (step N)" and "bigram phase (step M)",
sit where :func:`~induction_gui.model.training_session.phase_changes` says the
run changed phase. The held-out curves are measured every ``eval_every`` steps,
and once on the untrained model (step 0, :meth:`MarkovCurves.set_start`); the
head scores on every step's batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontMetricsF
from PySide6.QtWidgets import QWidget

from ...model.training_session import StepRecord, phase_changes
from ..widgets.style import line_width
from .curve_marks import fitting_text
from .curve_plots import LINE_WIDTH, TICK_MARGIN_PX, CurvePlots, color_key, number

STRATEGIES = ("uniform", "unigram", "bigram")
# a line and a light shade per strategy (Okabe–Ito), the floor in the bigram's colour (it is the bigram's loss)
STRATEGY_COLORS = {"uniform": "#E69F00", "unigram": "#009E73", "bigram": "#0072B2"}
SHADE_ALPHA = 45  # of 255: light enough that the lines over it keep their contrast on a projector
LOSS_COLOR = "#000000"
KL_FLOOR = 1e-3  # nats: a KL at or below it is drawn there (a log axis has no zero)
KL_TICKS = [[(float(np.log10(v)), f"{v:g}") for v in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)]]
FLOOR_TEXTS = ("Bayes-optimal bigram (floor)", "Bayes floor", "floor")  # one line: the room under it is one
# the projector's (and a low dock's) pair, Figure 1's: the loss over its Bayes floor, and the strategy the model is
# nearest (the heads' scores show in the heads grid, and in the curves when the dock is raised)
PHASE_CHANGE_PLOTS = ("heldout", "kl")

# plot key -> (title, y label, tooltip in the lecture's terms)
PLOTS: dict[str, tuple[str, str, str]] = {
    "heldout": ("Held-out loss", "loss (nats)",
                "Next-state cross-entropy on a fixed batch of fresh chains the model never trains on. The "
                "dashed floor is the loss of the Bayes-optimal bigram estimate, which counts the transitions "
                "seen so far in the context: no model can do better on average."),
    "kl": ("KL(strategy ‖ model)", "KL (nats)",
           "How far the model's predictions are from each strategy on the held-out batch: uniform (every "
           "state equally likely), unigram (states as often as they appeared so far), bigram (transitions "
           "counted so far). The shading shows the nearest: uniform, then a plateau at unigram, then bigram."),
    "previous": ("Previous-token, layer 0", "score",
                 "Previous-token score per layer-0 head: how much a head attends to the position just before. "
                 "It writes each position's previous state, which the statistical induction head reads."),
    "statistical": ("Statistical induction, last layer", "score",
                    "Statistical-induction score per last-layer head: attention from a state to every earlier "
                    "position whose previous state is the same one. Averaging what those positions hold counts "
                    "the transitions out of the current state: the bigram strategy."),
}


def nearest_runs(records: Sequence[StepRecord]) -> list[tuple[int, int, str]]:
    """(first step, end step, strategy) of each stretch of evaluated records nearest the same strategy.

    A stretch ends where the next one begins (the phase mark's step) and the
    last one at the last evaluated step: between evaluations the nearest
    strategy is not known, so it is drawn as the one measured before.
    """
    runs: list[tuple[int, int, str]] = []
    for record in records:
        step, nearest = int(record.step), str(record.nearest)
        if runs and runs[-1][2] == nearest:
            runs[-1] = (runs[-1][0], step, nearest)
        else:
            if runs:
                runs[-1] = (runs[-1][0], step, runs[-1][2])
            runs.append((step, step, nearest))
    return runs


class MarkovCurves(CurvePlots):
    """Live curves of one markov-chains run: held-out loss over its floor, KLs to the strategies, the two heads."""

    PLOTS = PLOTS
    HEAD_PLOTS = {"previous": (0, "previous_token"), "statistical": (-1, "prefix_matching")}
    MARKS = ("unigram", "bigram")
    PHASE_CHANGE_PLOTS = PHASE_CHANGE_PLOTS
    PAIR_WHEN_CRAMPED = True

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start: StepRecord | None = None  # the untrained model's held-out curves (step 0)
        self.evaluated: list[StepRecord] = []  # the records measured on the held-out batch, in step order
        self.formed_at: int | None = None  # kept for the dock (the induction test); not drawn here
        self.phases: dict[str, int] = {}  # "unigram"/"bigram" -> step, as phase_changes finds them
        self.regions: list[pg.LinearRegionItem] = []  # the KL plot's shading, one per nearest_runs stretch
        self.region_runs: list[tuple[int, int, str]] = []
        self.floor_line: pg.InfiniteLine | None = None

    # -- data ---------------------------------------------------------------------------------
    @property
    def held_out(self) -> list[StepRecord]:
        """The step-0 record (when known), then the evaluated ones: what the held-out plots draw."""
        return ([self.start] if self.start is not None else []) + self.evaluated

    @property
    def bayes_loss(self) -> float | None:
        """The floor: the same on every evaluation (the held-out batch is fixed), None before the first."""
        values = [r.bayes_loss for r in self.held_out if r.bayes_loss is not None]
        return float(values[-1]) if values else None

    @property
    def marker_texts(self) -> list[str]:
        """The phase marks' labels, in step order ([] while the model is nearest uniform)."""
        return [f"{name} phase (step {step})" for name, step in sorted(self.phases.items(), key=lambda p: p[1])]

    def clear(self, total_steps: int) -> None:
        """Forget the run's records (a new run begins, or a thinned run is redrawn); the step-0 record stays."""
        self._clear_series(total_steps)
        self.evaluated.clear()
        self.formed_at = None
        self.phases = {}
        if self.plots:
            self._redraw()

    def set_start(self, record: StepRecord | None) -> None:
        """The untrained model's held-out record (``trainer.initial_curves``), or None for a run without one."""
        self.start = record if record is not None and record.nearest is not None else None
        self.phases = phase_changes(self.held_out)
        if self.plots:
            self._redraw()

    def add_records(self, records: Iterable[StepRecord]) -> None:
        """Append step records and redraw once."""
        added = False
        for r in records:
            self._add_heads(r)
            if r.nearest is not None:
                self.evaluated.append(r)
            added = True
        if added:
            self.phases = phase_changes(self.held_out)
            self._after_adding()

    def set_records(self, records: Sequence[StepRecord], total_steps: int, formed_at: int | None = None) -> None:
        """Show a run's records at once (opened, or thinned while training)."""
        self.clear(total_steps)
        self.add_records(records)
        self.formed_at = formed_at

    # -- plots ----------------------------------------------------------------------------------
    def _title(self, key: str) -> str:
        if key == "statistical":
            return f"Statistical induction, layer {self._layers - 1}"
        return super()._title(key)

    def _build_curves(self) -> None:
        heldout = self.plots["heldout"].getPlotItem()
        self.curves["heldout"] = [heldout.plot(pen=pg.mkPen(LOSS_COLOR, width=LINE_WIDTH), symbol="o", symbolSize=5,
                                               symbolBrush=LOSS_COLOR, symbolPen=None)]
        floor = pg.InfiniteLine(angle=0, pen=self._floor_pen())
        # under the line, where no curve goes (the held-out loss stays above its floor); room is kept there
        floor.label = pg.InfLineLabel(floor, FLOOR_TEXTS[0], position=0.02, anchors=[(0, 0), (0, 0)],
                                      color=STRATEGY_COLORS["bigram"])
        floor.setZValue(15)
        floor.hide()
        heldout.addItem(floor, ignoreBounds=True)
        self.floor_line = floor
        self.legends["heldout"].setText(color_key([(LOSS_COLOR, "held-out loss")]) + "&nbsp; " + color_key(
            [(STRATEGY_COLORS["bigram"], "Bayes floor")], mark="╍╍"))
        self.legends["heldout"].setToolTip(PLOTS["heldout"][2])
        kl = self.plots["kl"].getPlotItem()
        kl.setLogMode(x=False, y=True)
        kl.getAxis("left").setTicks(KL_TICKS)
        kl.getAxis("left").enableAutoSIPrefix(False)  # the ticks name the values (0.01, not "1 (x0.01)")
        self.curves["kl"] = [kl.plot(pen=pg.mkPen(STRATEGY_COLORS[s], width=LINE_WIDTH)) for s in STRATEGIES]
        self.legends["kl"].setText(color_key([(STRATEGY_COLORS[s], s) for s in STRATEGIES]))
        self.legends["kl"].setToolTip("The lines: KL to each strategy. The shade behind them: the nearest one.")

    def _floor_pen(self) -> pg.QtGui.QPen:
        return pg.mkPen(STRATEGY_COLORS["bigram"], width=line_width(2, self._points), style=Qt.PenStyle.DashLine)

    def _style_all(self) -> None:
        super()._style_all()
        if self.floor_line is not None:
            self.floor_line.setPen(self._floor_pen())
            self.floor_line.label.setFont(self.legends["heldout"].font())

    def _redraw(self) -> None:
        if not self.plots:  # not shown yet: the data is kept and drawn when the plots are built
            return
        held = self.held_out
        x = np.asarray([r.step for r in held], dtype=np.float64)  # [evaluation]
        loss = np.asarray([number(r.heldout_loss) for r in held])  # [evaluation]
        self.curves["heldout"][0].setData(x, loss, connect="finite")
        # [strategy, evaluation]; a non-finite KL (a diverged model) stays a gap, not the floor
        kls = np.asarray([[number(getattr(r, f"kl_{s}")) for r in held] for s in STRATEGIES]).reshape(3, -1)
        shown = np.where(np.isfinite(kls), np.maximum(kls, KL_FLOOR), np.nan)
        for curve, y in zip(self.curves["kl"], shown, strict=True):
            curve.setData(x, y, connect="finite")
        self._draw_heads()
        self._shade(held)
        bayes = self.bayes_loss
        ys = loss[np.isfinite(loss)]
        lows = [float(ys.min())] if ys.size else []
        highs = [float(ys.max())] if ys.size else []
        assert self.floor_line is not None  # built with the plots
        self.floor_line.setVisible(bayes is not None)  # no floor before the first evaluation (or after a clear)
        if bayes is not None:
            self.floor_line.setPos(bayes)
            lows.append(bayes)
            highs.append(bayes)
        under = self._room_under_floor() if bayes is not None else TICK_MARGIN_PX
        heldout_span = (min(lows), max(highs), under) if lows else (0.0, 1.0, TICK_MARGIN_PX)
        finite = shown[np.isfinite(shown)]
        log_span = (float(np.log10(finite.min())), float(np.log10(finite.max()))) if finite.size else (-2.0, 0.0)
        last = max(int(x[-1]) if x.size else 0, self.steps[-1] if self.steps else 0)
        # the ranges, then the marks and the floor's label (their words depend on the room the ranges leave)
        self._frame(last, {"heldout": heldout_span, "kl": (*log_span, TICK_MARGIN_PX)})

    def _room_under_floor(self) -> float:
        """Pixels to keep under the floor line for its one-line label."""
        assert self.floor_line is not None
        return QFontMetricsF(self.floor_line.label.textItem.font()).height() + 8

    def _shade(self, held: Sequence[StepRecord]) -> None:
        """The KL plot's background: one light region per stretch of the same nearest strategy (rebuilt on change)."""
        runs = nearest_runs(held)
        if runs == self.region_runs:
            return
        plot = self.plots["kl"].getPlotItem()
        for region in self.regions:
            plot.removeItem(region)
        self.regions = []
        for first, end, strategy in runs:
            color = QColor(STRATEGY_COLORS.get(strategy, "#888888"))
            color.setAlpha(SHADE_ALPHA)
            region = pg.LinearRegionItem((first, end), movable=False, brush=color, pen=pg.mkPen(None))
            region.setZValue(-10)  # behind the grid's lines and the curves
            region.strategy = strategy
            plot.addItem(region, ignoreBounds=True)
            self.regions.append(region)
        self.region_runs = runs

    def _fit_floor_label(self) -> None:
        """The floor's label in words that fit under the line, in the plot's width and the room left below.

        A plot too low for a line of text under the floor keeps the line alone
        (the key under the plot names it).
        """
        line = self.floor_line
        box = line.getViewBox() if line is not None else None
        if line is None or box is None:
            return
        metrics = QFontMetricsF(line.label.textItem.font())
        width = box.width() * (1 - 0.02) - 12  # from 2 % in; the view box clips what passes its edge
        (y0, y1) = box.viewRange()[1]
        below = box.height() * (line.value() - y0) / (y1 - y0) if y1 > y0 else 0.0  # px under the line
        text = fitting_text(FLOOR_TEXTS, line.label.textItem.font(), width) if below >= metrics.height() + 2 else ""
        if line.label.toPlainText() != text:
            line.label.setText(text)

    def _place_marks(self) -> None:
        super()._place_marks()
        self._fit_floor_label()

    def _mark_steps(self) -> dict[str, tuple[int, tuple[str, ...]]]:
        return {name: (step, (f"{name} phase\n(step {step})", f"{name}\nstep {step}", f"{name}\n{step}", f"{step}"))
                for name, step in self.phases.items()}
