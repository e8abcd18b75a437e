"""Training curves: the loss plateau, the sudden drop, and the heads that cause it.

Four small plots share one x axis (training step): the loss; the loss on
first-occurrence tokens against the loss on repeated tokens (only the repeats
can be predicted by copying, so only their loss drops at the phase change);
the prefix-matching score of every last-layer head (the induction head's
attention signature); and the previous-token score of every layer-0 head (the
head the induction head composes with). When the trainer's ``induction_formed``
test first passes, every plot gets the same dashed line, "induction head forms
(step N)": the phase change of Olsson et al. (2022). A solid cursor line shows
the checkpoint the views are scrubbed to.

The plots are built the first time the widget is shown (four pyqtgraph plots
cost start-up time, and the Training dock starts hidden); records arriving
before that are kept and drawn then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontMetricsF, QShowEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

import pyqtgraph as pg

from ..widgets.plotting import make_plot, qfont, style_plot
from ..widgets.style import line_width

# Okabe–Ito: distinguishable with colour-blindness and on a washed-out projector
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
PHASE_COLOR = "#B00020"  # the phase-change marker
CURSOR_COLOR = "#444444"  # the scrubbed checkpoint
LINE_WIDTH = 3
HEADROOM = 0.4  # of the data's height, kept free above it for the phase-change label
SCORE_TICKS = [[(v, f"{v:.1f}") for v in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]]
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


def _per_head(value: object, layer: int) -> np.ndarray:
    """[head_index] scores of one layer from a record field that is [layer][head] (or already [head])."""
    a = np.asarray(value if value is not None else [], dtype=np.float64)
    if a.ndim == 2:
        return a[layer] if a.shape[0] else np.zeros(0)
    return a.reshape(-1)


def _key(entries: list[tuple[str, str]]) -> str:
    """Rich text naming each line in its colour: ``━ repeated  ━ first occurrence``."""
    return "&nbsp;&nbsp;".join(f'<span style="color:{c}; font-weight:bold">━━</span>&nbsp;{name}' for c, name in entries)


def _number(value: object) -> float:
    return float("nan") if value is None else float(value)


class TrainingCurves(QWidget):
    """Live curves of one training run, the phase-change marker and the scrub cursor.

    Parameters
    ----------
    formed
        ``record -> bool``: the trainer's test that the induction head has formed
        (``model.training_session.induction_formed``); the first record that passes it
        places the phase-change marker.
    """

    def __init__(self, formed: Callable[[object], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._formed = formed
        self._points = 11.0
        self._total_steps = 0
        self.steps: list[int] = []
        self.loss: list[float] = []
        self.loss_first: list[float] = []
        self.loss_repeat: list[float] = []
        self.prefix: list[np.ndarray] = []  # per record: [head_index] of the last layer
        self.previous: list[np.ndarray] = []  # per record: [head_index] of layer 0
        self.formed_at: int | None = None  # step of the phase change, once seen
        self.cursor_step: int | None = None
        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, list[pg.PlotDataItem]] = {}
        self.phase_lines: dict[str, pg.InfiniteLine] = {}
        self.cursor_lines: dict[str, pg.InfiniteLine] = {}
        self.legends: dict[str, QLabel] = {}
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        self._columns = 0
        self._x_right = 0  # the x range's right end, in steps
        self._layers = 2  # the model's n_layers: legend names say which layer a head is in
        self._shown: tuple[str, ...] = tuple(PLOTS)  # which plots are on screen, in PLOTS order
        self.setMinimumHeight(220)

    # -- data ---------------------------------------------------------------------------------
    def clear(self, total_steps: int) -> None:
        """Forget the curves (a new run of ``total_steps`` steps begins)."""
        self._total_steps = int(total_steps)
        for series in (self.steps, self.loss, self.loss_first, self.loss_repeat, self.prefix, self.previous):
            series.clear()
        self.formed_at = None
        self.cursor_step = None
        if self.plots:
            self._rebuild_head_curves()
            for key in self.plots:
                self.phase_lines[key].hide()
                self.cursor_lines[key].hide()
            self._redraw()

    def add_records(self, records: Iterable[object]) -> None:
        """Append step records (``model.training_session.StepRecord``) and redraw once."""
        added = False
        for r in records:
            self.steps.append(int(r.step))
            self.loss.append(_number(r.loss))
            self.loss_first.append(_number(r.loss_first))
            self.loss_repeat.append(_number(r.loss_repeat))
            prefix = _per_head(r.prefix_matching, -1)
            previous = _per_head(r.previous_token, 0)
            self.prefix.append(prefix)
            self.previous.append(previous)
            if self.formed_at is None and self._formed(r):
                self.formed_at = int(r.step)
            added = True
        if added and self.plots:
            if self._head_count_changed():
                self._rebuild_head_curves()
            self._redraw()

    def set_records(self, records: Sequence[object], total_steps: int, formed_at: int | None = None) -> None:
        """Show a finished run: all its records at once, the phase change where the run says it is."""
        self.clear(total_steps)
        self.add_records(records)
        if formed_at is not None:
            self.formed_at = int(formed_at)
            self._redraw()

    def set_cursor(self, step: int | None) -> None:
        """Draw the scrub cursor at ``step`` (None hides it)."""
        self.cursor_step = None if step is None else int(step)
        if self.plots:
            self._place_cursor()

    def set_font_size(self, points: float) -> None:
        self._points = max(11.0, points)
        if self.plots:
            self._style_all()

    def set_shown(self, keys: tuple[str, ...] | None) -> None:
        """Show only these plots (presentation mode: the phase-change pair), or all of them (None).

        Two plots side by side stay readable in the lower half of a 720-row
        projector; four in a two-by-two grid did not.
        """
        shown = tuple(k for k in PLOTS if keys is None or k in keys)
        if shown == self._shown:
            return
        self._shown = shown
        self._columns = 0  # re-arrange
        if self.plots:
            self._arrange()

    @property
    def marker_text(self) -> str:
        """The phase-change label, "" before the induction head has formed."""
        return "" if self.formed_at is None else f"induction head forms (step {self.formed_at})"

    # -- plots ----------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        self.ensure_built()
        super().showEvent(event)

    def ensure_built(self) -> None:
        """Build the plots (first show) and draw what has arrived so far."""
        if self.plots:
            return
        for key, (_title, _y, tip) in PLOTS.items():
            widget = make_plot()
            widget.setToolTip(tip)
            plot = widget.getPlotItem()
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.enableAutoRange(x=False, y=False)  # y is set in _redraw, with room for the label on top
            phase = pg.InfiniteLine(angle=90, pen=pg.mkPen(PHASE_COLOR, width=3, style=Qt.PenStyle.DashLine))
            phase.setZValue(20)
            phase.label = pg.InfLineLabel(phase, "", position=0.97, anchors=[(0, 0), (0, 0)], color=PHASE_COLOR)
            cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen(CURSOR_COLOR, width=2))
            cursor.setZValue(19)
            for line in (phase, cursor):
                line.hide()
                plot.addItem(line, ignoreBounds=True)
            self.plots[key], self.phase_lines[key], self.cursor_lines[key] = widget, phase, cursor
            self.curves[key] = []
            # a key under the plot, never over the curves or the phase-change label
            legend = QLabel()
            legend.setAlignment(Qt.AlignmentFlag.AlignCenter)
            legend.setWordWrap(True)
            legend.setStyleSheet("color: black; background: white;")
            self.legends[key] = legend
        split = self.plots["split"].getPlotItem()
        self.curves["loss"] = [self.plots["loss"].plot(pen=pg.mkPen(PALETTE[0], width=LINE_WIDTH))]
        self.curves["split"] = [
            split.plot(pen=pg.mkPen(PALETTE[1], width=LINE_WIDTH)),
            split.plot(pen=pg.mkPen(PALETTE[0], width=LINE_WIDTH)),
        ]
        self.legends["loss"].setText(_key([(PALETTE[0], "batch loss")]))
        self.legends["split"].setText(_key([(PALETTE[1], "first occurrence"), (PALETTE[0], "repeated")]))
        for key in ("prefix", "previous"):
            self.plots[key].getPlotItem().getAxis("left").setTicks(SCORE_TICKS)
        self._rebuild_head_curves()
        self._style_all()
        self._arrange()
        self._redraw()

    def _head_counts(self) -> tuple[int, int]:
        return (self.prefix[-1].size if self.prefix else 0, self.previous[-1].size if self.previous else 0)

    def _head_count_changed(self) -> bool:
        return self._head_counts() != (len(self.curves["prefix"]), len(self.curves["previous"]))

    def _rebuild_head_curves(self) -> None:
        """One line per head, named like the rest of the app (L1H0)."""
        n_prefix, n_previous = self._head_counts()
        n_layers = self._layers
        for key, count, layer in (("prefix", n_prefix, n_layers - 1), ("previous", n_previous, 0)):
            plot = self.plots[key].getPlotItem()
            for curve in self.curves[key]:
                plot.removeItem(curve)
            colors = [PALETTE[h % len(PALETTE)] for h in range(count)]
            self.curves[key] = [plot.plot(pen=pg.mkPen(c, width=line_width(LINE_WIDTH, self._points)))
                                for c in colors]
            self.legends[key].setText(_key([(c, f"L{layer}H{h}") for h, c in enumerate(colors)]))

    def set_n_layers(self, n_layers: int) -> None:
        """Legend names need the last layer's index (records carry scores, not names)."""
        self._layers = max(1, int(n_layers))
        if self.plots:
            self._rebuild_head_curves()
            self._redraw()

    def _style_all(self) -> None:
        p = self._points
        for key, (title, y_label, _tip) in PLOTS.items():
            plot = self.plots[key].getPlotItem()
            style_plot(plot, p, title, "step", y_label)
            self.phase_lines[key].label.setFont(qfont(p, bold=True))
            self.legends[key].setFont(qfont(p))
            # lines as visible as the text on a projector
            self.phase_lines[key].setPen(pg.mkPen(PHASE_COLOR, width=line_width(3, p), style=Qt.PenStyle.DashLine))
            self.cursor_lines[key].setPen(pg.mkPen(CURSOR_COLOR, width=line_width(2, p)))
            for curve in self.curves[key]:
                self._widen(curve)

    def _widen(self, curve: pg.PlotDataItem) -> None:
        """Give a curve the line width of the current font size, keeping its colour."""
        pen = pg.mkPen(curve.opts["pen"])
        pen.setWidthF(line_width(LINE_WIDTH, self._points))
        curve.setPen(pen)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self.plots:
            self._arrange()
            # the label's words depend on the room beside the line; the view boxes get their size later
            QTimer.singleShot(0, self, lambda: self._place_phase_marker(self._x_right))  # not after deletion

    def _arrange(self) -> None:
        """Four plots in a row when there is room for each to be readable, else two by two (shown ones only)."""
        n = len(self._shown)
        columns = n if n <= 2 else (4 if self.width() >= 1100 else 2)
        if columns == self._columns:
            return
        self._columns = columns
        for key in self.plots:
            for widget in (self.plots[key], self.legends[key]):
                self._grid.removeWidget(widget)
        for i, key in enumerate(self._shown):
            for row, widget in enumerate((self.plots[key], self.legends[key])):
                self._grid.addWidget(widget, 2 * (i // columns) + row, i % columns)
        for key in self.plots:  # only after adding: showing a widget with no parent yet opens a window
            for widget in (self.plots[key], self.legends[key]):
                widget.setVisible(key in self._shown)

    def _redraw(self) -> None:
        if not self.plots:  # not shown yet: the data is kept and drawn when the plots are built
            return
        x = np.asarray(self.steps, dtype=np.float64)  # [record]
        self.curves["loss"][0].setData(x, np.asarray(self.loss), connect="finite")
        self.curves["split"][0].setData(x, np.asarray(self.loss_first), connect="finite")
        self.curves["split"][1].setData(x, np.asarray(self.loss_repeat), connect="finite")
        for key, series in (("prefix", self.prefix), ("previous", self.previous)):
            width = len(self.curves[key])
            rows = [s if s.size == width else np.full(width, np.nan) for s in series]
            y = np.stack(rows) if rows else np.zeros((0, width))  # [record, head_index]
            for h, curve in enumerate(self.curves[key]):
                curve.setData(x, y[:, h], connect="finite")
        right = max(self._total_steps, int(x[-1]) if x.size else 0, 1)
        new_right, self._x_right = right != self._x_right, right
        for key, widget in self.plots.items():
            plot = widget.getPlotItem()
            if new_right:  # the planned run's length: set once a run, not on every batch
                plot.setXRange(0, right, padding=0.02)
            if key in ("prefix", "previous"):
                lo, hi = 0.0, 1.0
            else:
                ys = np.concatenate([c.yData for c in self.curves[key] if c.yData is not None] or [np.zeros(0)])
                ys = ys[np.isfinite(ys)]
                lo, hi = (float(ys.min()), float(ys.max())) if ys.size else (0.0, 1.0)
            span = max(hi - lo, 1e-6)
            want = (lo - 0.06 * span, hi + HEADROOM * span)  # room below for the lowest tick's label
            (y0, y1) = plot.viewRange()[1]
            # a range that still fits is kept: new axis ticks on every batch cost more than the curves
            if not (y0 <= want[0] and want[1] <= y1 and (y1 - y0) <= 1.25 * (want[1] - want[0])):
                plot.setYRange(*want, padding=0)
        self._place_phase_marker(right)
        self._place_cursor()

    def _place_phase_marker(self, right: int) -> None:
        for line in self.phase_lines.values():
            if self.formed_at is None:
                line.hide()
                continue
            line.setPos(self.formed_at)
            # the label sits on the side of the line with room for it, in words short enough to fit there
            side = 1 if self.formed_at > 0.5 * right else 0
            line.label.anchors = [(side, 0), (side, 0)]
            room_steps = self.formed_at if side else right - self.formed_at
            room_px = line.getViewBox().width() * room_steps / right if line.getViewBox() else 0.0
            metrics = QFontMetricsF(line.label.textItem.font())
            step = self.formed_at
            for text in (f"induction head\nforms (step {step})", f"induction\nhead forms\nstep {step}"):
                if max(metrics.horizontalAdvance(part) for part in text.split("\n")) < room_px - 8:
                    break
            if line.label.toPlainText() != text:  # runs on every batch of a live run: relayout only on a change
                line.label.setText(text)
            line.label.updatePosition()
            line.show()

    def _place_cursor(self) -> None:
        for line in self.cursor_lines.values():
            if self.cursor_step is None:
                line.hide()
            else:
                line.setPos(self.cursor_step)
                line.show()
