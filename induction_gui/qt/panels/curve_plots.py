"""What every set of training curves in the Training dock shares: titled plots on one step axis, marks, a cursor.

The dock shows one of two sets of curves, chosen by the run's dataset: the
induction dataset's (:mod:`.training_curves`: loss, first vs repeated tokens,
the induction head's scores) and the in-context Markov chains' (:mod:`.markov_curves`:
held-out loss over its Bayes-optimal floor, the KL to each strategy, the
statistical induction head's scores). Both are a grid of small plots sharing
the x axis (training step) with the same look on a projector, one line per
head in the head-score plots, dashed vertical marks where the run changed
phase (labels placed by :mod:`.curve_marks`)
and a solid cursor at the checkpoint the views are scrubbed to. This base
class owns that; a subclass declares its plots and draws its own series.

The plots are built the first time the widget is shown (pyqtgraph plots cost
start-up time, and the Training dock starts hidden); records arriving before
that are kept and drawn then.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontMetricsF, QShowEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

import pyqtgraph as pg

from ..widgets.plotting import make_plot, qfont, style_plot
from ..widgets.style import line_width
from .curve_marks import place_marks

# Okabe–Ito: distinguishable with colour-blindness and on a washed-out projector
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
PHASE_COLOR = "#B00020"  # the phase-change marks
CURSOR_COLOR = "#444444"  # the scrubbed checkpoint
LINE_WIDTH = 3
TICK_MARGIN_PX = 6  # kept under the data, so the lowest tick's label is not cut by the axis' end
MAX_TEXT_SHARE = 0.55  # of a plot's height the labels above and below the data may take together
SCORE_TICKS = [[(v, f"{v:.1f}") for v in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]]
FEW_SCORE_TICKS = [[(v, f"{v:.1f}") for v in (0.0, 0.5, 1.0)]]  # a score axis too low for six labels
TICK_ROOM = 1.5  # a tick label's heights of axis per tick, below which the score axis gets the few
# below this height two rows of plots leave each a strip, and four in a row of a narrow widget have no
# room for their words (the Training dock under the views of a 1280x720 screen has about 660x200 px for
# its curves): the two plots of the phase change are shown then, readable, until the dock is raised
TWO_ROWS_MIN_HEIGHT = 330


def per_head(value: object, layer: int) -> np.ndarray:
    """[head_index] scores of one layer from a record field that is [layer][head] (or already [head])."""
    a = np.asarray(value if value is not None else [], dtype=np.float64)
    if a.ndim == 2:
        return a[layer] if a.shape[0] else np.zeros(0)
    return a.reshape(-1)


def color_key(entries: Sequence[tuple[str, str]], mark: str = "━━") -> str:
    """Rich text naming each line (or shade) in its colour: ``━ repeated  ━ first occurrence``."""
    # a breakable space between entries (a narrow plot's key wraps there), never inside one
    return "&nbsp; ".join(f'<span style="color:{c}; font-weight:bold">{mark}</span>&nbsp;{name}'
                               for c, name in entries)


def number(value: object) -> float:
    """A record's float field, NaN where it was not measured (drawn as a gap)."""
    return float("nan") if value is None else float(value)


class CurvePlots(QWidget):
    """A grid of titled step-axis plots with per-head score lines, phase marks and a scrub cursor.

    Subclasses set :attr:`PLOTS` (key -> title, y label, tooltip) and
    :attr:`HEAD_PLOTS` (key -> the layer whose heads it shows, -1 for the last,
    and the record field), add their own curves in :meth:`_build_curves` and
    draw them in :meth:`_redraw`.
    """

    PLOTS: dict[str, tuple[str, str, str]] = {}
    HEAD_PLOTS: dict[str, tuple[int, str]] = {}  # plot key -> (layer, record field of [layer][head] scores)
    MARKS: tuple[str, ...] = ()  # the names of the phase marks every plot carries
    PHASE_CHANGE_PLOTS: tuple[str, ...] = ()  # the pair a projector (or a cramped dock) shows
    # show only that pair when the widget is low and narrow (the induction curves keep their four on the
    # desk at any size, as the window's layout tests expect; the Markov curves opt in)
    PAIR_WHEN_CRAMPED = False

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._points = 11.0
        self._total_steps = 0
        self.steps: list[int] = []  # every record's step: the x of the per-step series
        self.heads: dict[str, list[np.ndarray]] = {key: [] for key in self.HEAD_PLOTS}  # per record: [head_index]
        self.cursor_step: int | None = None
        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, list[pg.PlotDataItem]] = {}
        self.marks: dict[str, dict[str, pg.InfiniteLine]] = {name: {} for name in self.MARKS}  # mark -> plot key
        self.cursor_lines: dict[str, pg.InfiniteLine] = {}
        self.legends: dict[str, QLabel] = {}
        self._score_ticks: dict[str, list] = {}  # head plot key -> the tick set on its score axis
        self._refit_pending = False
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        self._arrangement: tuple[tuple[str, ...], int] = ((), 0)  # (plots on screen, columns)
        self._x_right = 0  # the x range's right end, in steps
        self._layers = 2  # the model's n_layers: legend names say which layer a head is in
        self._shown: tuple[str, ...] = tuple(self.PLOTS)  # which plots are on screen, in PLOTS order
        self.setMinimumHeight(220)

    # -- data -------------------------------------------------------------------------------------
    def _clear_series(self, total_steps: int) -> None:
        """Forget the steps, head scores and cursor (a subclass clears its own series, then redraws)."""
        self._total_steps = int(total_steps)
        self.steps.clear()
        for series in self.heads.values():
            series.clear()
        self.cursor_step = None
        if self.plots:
            self._rebuild_head_curves()

    def _add_heads(self, record: object) -> None:
        self.steps.append(int(record.step))  # type: ignore[attr-defined]
        for key, (layer, field) in self.HEAD_PLOTS.items():
            self.heads[key].append(per_head(getattr(record, field), layer))

    def _after_adding(self) -> None:
        if self.plots:
            if self._head_count_changed():
                self._rebuild_head_curves()
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
        shown = tuple(k for k in self.PLOTS if keys is None or k in keys)
        if shown == self._shown:
            return
        self._shown = shown
        self._arrangement = ((), 0)  # re-arrange
        if self.plots:
            self._arrange()

    def set_n_layers(self, n_layers: int) -> None:
        """Legend names need the last layer's index (records carry scores, not names)."""
        self._layers = max(1, int(n_layers))
        if self.plots:
            self._rebuild_head_curves()
            self._style_all()  # a title may name the last layer
            self._redraw()

    # -- plots --------------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        self.ensure_built()
        super().showEvent(event)

    def ensure_built(self) -> None:
        """Build the plots (first show) and draw what has arrived so far."""
        if self.plots:
            return
        for key, (_title, _y, tip) in self.PLOTS.items():
            widget = make_plot()
            widget.setToolTip(tip)
            plot = widget.getPlotItem()
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.enableAutoRange(x=False, y=False)  # y is set in _redraw, with room for the labels on top
            plot.getViewBox().sigResized.connect(self._schedule_refit)
            for name in self.MARKS:
                mark = pg.InfiniteLine(angle=90, pen=pg.mkPen(PHASE_COLOR, width=3, style=Qt.PenStyle.DashLine))
                mark.setZValue(20)
                mark.label = pg.InfLineLabel(mark, "", position=0.97, anchors=[(0, 0), (0, 0)], color=PHASE_COLOR)
                mark.hide()
                plot.addItem(mark, ignoreBounds=True)
                self.marks[name][key] = mark
            cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen(CURSOR_COLOR, width=2))
            cursor.setZValue(19)
            cursor.hide()
            plot.addItem(cursor, ignoreBounds=True)
            self.plots[key], self.cursor_lines[key] = widget, cursor
            self.curves[key] = []
            # a key under the plot, never over the curves or the phase-change labels
            legend = QLabel()
            legend.setAlignment(Qt.AlignmentFlag.AlignCenter)
            legend.setWordWrap(True)
            legend.setStyleSheet("color: black; background: white;")
            self.legends[key] = legend
        self._build_curves()
        self._rebuild_head_curves()
        self._style_all()
        self._arrange()
        self._redraw()

    def _build_curves(self) -> None:
        """Add the subclass's own curves and keys (the head plots' lines are made here)."""

    def _title(self, key: str) -> str:
        """A plot's title (a subclass may name the model's last layer in it)."""
        return self.PLOTS[key][0]

    def _head_counts(self) -> list[int]:
        return [series[-1].size if series else 0 for series in self.heads.values()]

    def _head_count_changed(self) -> bool:
        return self._head_counts() != [len(self.curves[key]) for key in self.HEAD_PLOTS]

    def _rebuild_head_curves(self) -> None:
        """One line per head, named like the rest of the app (L1H0)."""
        for (key, (layer, _field)), count in zip(self.HEAD_PLOTS.items(), self._head_counts(), strict=True):
            layer = layer % self._layers
            plot = self.plots[key].getPlotItem()
            for curve in self.curves[key]:
                plot.removeItem(curve)
            colors = [PALETTE[h % len(PALETTE)] for h in range(count)]
            self.curves[key] = [plot.plot(pen=pg.mkPen(c, width=line_width(LINE_WIDTH, self._points)))
                                for c in colors]
            self.legends[key].setText(color_key([(c, f"L{layer}H{h}") for h, c in enumerate(colors)]))

    def _style_all(self) -> None:
        p = self._points
        for key, (_title, y_label, _tip) in self.PLOTS.items():
            plot = self.plots[key].getPlotItem()
            style_plot(plot, p, self._title(key), "step", y_label)
            self.legends[key].setFont(qfont(p))
            # a key keeps a line of text when the dock is low (the plot gives up the height, not the key)
            self.legends[key].setMinimumHeight(QFontMetricsF(qfont(p)).height() + 4)
            # lines as visible as the text on a projector
            for marks in self.marks.values():
                marks[key].label.setFont(qfont(p, bold=True))
                marks[key].setPen(pg.mkPen(PHASE_COLOR, width=line_width(3, p), style=Qt.PenStyle.DashLine))
            self.cursor_lines[key].setPen(pg.mkPen(CURSOR_COLOR, width=line_width(2, p)))
            for curve in self.curves[key]:
                pen = pg.mkPen(curve.opts["pen"])  # the curve's colour (and dash), at the font's line width
                pen.setWidthF(line_width(LINE_WIDTH, p))
                curve.setPen(pen)
        self._fit_titles()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self.plots:
            self._arrange()
            self._schedule_refit()

    def _schedule_refit(self) -> None:
        """Redraw once the plots have their sizes: the labels' words, the room kept for them and the ticks
        depend on them. A plot is resized by the grid (a new arrangement) as well as with the widget, and
        four plots resize at once: one redraw for all (the receiver-bound timer never fires after deletion)."""
        if not self._refit_pending:
            self._refit_pending = True
            QTimer.singleShot(0, self, self._refit)

    def _refit(self) -> None:
        self._refit_pending = False
        self._redraw()

    def _arrange(self) -> None:
        """Four plots in a row when wide, else two by two, else (low and narrow) the phase-change pair."""
        on_screen = self._shown
        cramped = (self.PAIR_WHEN_CRAMPED and len(on_screen) > 2
                   and self.width() < 1100 and self.height() < TWO_ROWS_MIN_HEIGHT)
        if cramped:
            on_screen = tuple(k for k in on_screen if k in self.PHASE_CHANGE_PLOTS) or on_screen
        n = len(on_screen)
        columns = n if n <= 2 or self.width() >= 1100 else 2
        QTimer.singleShot(0, self, self._fit_titles)  # once the plots have their new widths
        if (on_screen, columns) == self._arrangement:
            return
        self._arrangement = (on_screen, columns)
        for key in self.plots:
            for widget in (self.plots[key], self.legends[key]):
                self._grid.removeWidget(widget)
        for column in range(4):
            self._grid.setColumnStretch(column, 1 if column < columns else 0)  # equal widths, whatever the keys
        for i, key in enumerate(on_screen):
            # the keys on top in a cramped dock: one squeezed below its minimum loses its bottom edge
            pair = (self.legends[key], self.plots[key]) if cramped else (self.plots[key], self.legends[key])
            for row, widget in enumerate(pair):
                self._grid.addWidget(widget, 2 * (i // columns) + row, i % columns)
        for key in self.plots:  # only after adding: showing a widget with no parent yet opens a window
            for widget in (self.plots[key], self.legends[key]):
                widget.setVisible(key in on_screen)

    def _fit_titles(self) -> None:
        """A title wider than its plot goes on two lines (at its comma, else its middle space) rather than cut.

        The width is the grid column's (the plots get theirs from the layout later).
        """
        metrics = QFontMetricsF(qfont(self._points + 1))
        columns = max(1, self._arrangement[1])
        width = (self.width() - self._grid.spacing() * (columns - 1)) / columns
        for key, widget in self.plots.items():
            title = self._title(key)
            if metrics.horizontalAdvance(title) > width - 16:
                if ", " in title:
                    title = title.replace(", ", ",<br>", 1)
                elif " " in title:
                    spaces = [i for i, ch in enumerate(title) if ch == " "]
                    cut = min(spaces, key=lambda i: abs(i - len(title) / 2))
                    title = title[:cut] + "<br>" + title[cut + 1:]
            plot = widget.getPlotItem()
            if plot.titleLabel.text != title:
                plot.setTitle(title, color="#000000", size=f"{self._points + 1:.0f}pt")

    # -- drawing ------------------------------------------------------------------------------------
    def _redraw(self) -> None:
        """Draw every series (a subclass draws its own, then calls :meth:`_draw_heads` and :meth:`_frame`)."""
        raise NotImplementedError

    def _draw_heads(self) -> None:
        x = np.asarray(self.steps, dtype=np.float64)  # [record]
        for key, series in self.heads.items():
            width = len(self.curves[key])
            rows = [s if s.size == width else np.full(width, np.nan) for s in series]
            y = np.stack(rows) if rows else np.zeros((0, width))  # [record, head_index]
            for h, curve in enumerate(self.curves[key]):
                curve.setData(x, y[:, h], connect="finite")

    def _frame(self, last_step: int, y_spans: dict[str, tuple[float, float, float]]) -> None:
        """Set the x range to the run's length and each plot's y range; place the marks and the cursor.

        ``y_spans`` maps a plot key to (lowest, highest, pixels to keep under the
        data); head plots are scores in [0, 1]. Above the data the range keeps
        room for two lines of a phase mark's label, in pixels of the plot as it
        is now (a low plot gives a larger share of its height). A y range that
        still fits is kept: new axis ticks on every batch cost more than the curves.
        """
        right = max(self._total_steps, last_step, 1)
        new_right, self._x_right = right != self._x_right, right
        for key, widget in self.plots.items():
            plot = widget.getPlotItem()
            if new_right:  # the planned run's length: set once a run, not on every batch
                plot.setXRange(0, right, padding=0.02)
            lo, hi, below_px = (0.0, 1.0, TICK_MARGIN_PX) if key in self.HEAD_PLOTS else y_spans[key]
            top, bottom = self._text_shares(plot, below_px)
            total = max(hi - lo, 1e-6) / (1.0 - top - bottom)  # the range whose middle share is the data
            want = (lo - bottom * total, hi + top * total)
            (y0, y1) = plot.viewRange()[1]
            if not (y0 <= want[0] and want[1] <= y1 and (y1 - y0) <= 1.25 * (want[1] - want[0])):
                plot.setYRange(*want, padding=0)
        self._place_marks()
        self._fit_score_ticks()
        self._place_cursor()

    def _text_shares(self, plot: pg.PlotItem, below_px: float) -> tuple[float, float]:
        """(above, below): the shares of the plot's height kept free of data for the mark labels and under it."""
        height = plot.getViewBox().height()
        height = height if height > 0 else 200.0  # not laid out yet: a plausible plot, refitted when it is
        above_px = (2 * QFontMetricsF(qfont(self._points, bold=True)).height() + 10) if self.MARKS else TICK_MARGIN_PX
        above, below = above_px / height, below_px / height
        scale = min(1.0, MAX_TEXT_SHARE / (above + below))  # a very low plot: the data keeps some height
        return above * scale, below * scale

    def _mark_steps(self) -> dict[str, tuple[int, tuple[str, ...]]]:
        """Each shown mark: name -> (step, label texts from longest to shortest)."""
        return {}

    def _place_marks(self) -> None:
        place_marks(self.marks, self._mark_steps(), self._x_right)

    def _fit_score_ticks(self) -> None:
        """Six score ticks where the axis has room for them, three where six would touch."""
        for key in self.HEAD_PLOTS:
            plot = self.plots[key].getPlotItem()
            axis = plot.getAxis("left")
            top, bottom = self._text_shares(plot, TICK_MARGIN_PX)
            room = plot.getViewBox().height() * (1 - top - bottom)  # [0, 1] takes this much of the axis
            label = QFontMetricsF(qfont(self._points)).height()
            ticks = SCORE_TICKS if room >= len(SCORE_TICKS[0]) * TICK_ROOM * label else FEW_SCORE_TICKS
            if self._score_ticks.get(key) is not ticks:  # new ticks relayout the axis: only on a change
                self._score_ticks[key] = ticks
                axis.setTicks(ticks)

    def _place_cursor(self) -> None:
        for line in self.cursor_lines.values():
            if self.cursor_step is None:
                line.hide()
            else:
                line.setPos(self.cursor_step)
                line.show()
