"""The copied representation: what the focused head writes into the residual stream, and which token it boosts.

The lecture's second question about a head is "what does it move?". Its
output at each position is the attention-weighted sum of value vectors
(``hook_z``, [pos, d_head]) mapped by W_O into the residual stream
(``hook_result``, [pos, d_model]). Read through the unembedding (``result · W_U``)
it becomes a push on each token's logit: an induction head that attends to B
boosts B. This view shows both, with the attended source token named beside
the token the head boosts most, so the learner sees the copy happen.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QButtonGroup, QLabel, QRadioButton, QSplitter, QVBoxLayout, QWidget

import pyqtgraph as pg

from ...analysis import Analysis, Results
from ...model.appearance import Appearance
from ..widgets.fitting import FlowRow
from ..widgets.heatmap import TEXT_COLOR, Heatmap
from ..widgets.labels import plain_label, set_label_points, show_warnings, warning_label
from ..widgets.style import mark_explanation
from .base import View

MAX_BARS = 16  # more tokens than this: the 8 most boosted and the 8 most suppressed
MAX_COLUMN_TICKS = 12  # component numbers labelled along the heatmap's bottom axis
NEGLIGIBLE = 0.05  # a logit push smaller than this is "nothing" in the sentence (logits are O(1..20) here)
BOOST_BRUSH = "#c0392b"  # red = raises the logit, as on the diverging map
SUPPRESS_BRUSH = "#2e6db4"  # blue = lowers it
# (desk, projector) names of the two activations the heatmap can show
SHOW_Z_TEXT = ("z (hook_z, d_head)", "z")
SHOW_RESULT_TEXT = ("result (hook_result = z · W_O, d_model)", "result = z · W_O")
SOURCE_COLOR, SOURCE_WIDTH = "#f0a000", 4  # the attended source token's bar outline


class CopyingView(View):
    """The focused head's output at every position, and its effect on the logits at the focused query."""

    title = "Copied representation"
    short_title = "Copied"  # on a crowded tab bar (a projector beside the lesson)
    tooltip = ("What the focused head copies: its output z (and W_O·z, the result it adds to the residual stream) "
               "at every position, and at the focused query which tokens that output boosts (result · W_U).")
    help_text = ("What the focused head copies. The head's output z = A·V is the attention-weighted average of the "
                 'value vectors, that is the copied representations of the attended tokens; W_O·z is what the head '
                 'adds to the residual stream. At the focused query, the bars show which tokens that output pushes '
                 'up when read out through W_U: a copying head boosts the token it attended to.')

    def __init__(self, analysis: Analysis, parent: QWidget | None = None, *,
                 appearance: Appearance | None = None) -> None:
        super().__init__(analysis, parent, appearance=appearance)
        self._labels: list[str] = []
        self._matrix = np.zeros((1, 1), dtype=np.float32)  # [pos, d_head] or [pos, d_model], what the heatmap shows
        self._logit_effect = np.zeros(1, dtype=np.float32)  # [d_vocab] at the focused query
        self._applied: tuple[str, float, bool] | None = None
        self._text_items: list[pg.TextItem] = []  # value labels at the bar ends, reused

        self.heading = plain_label()
        self.summary = plain_label()
        self.warnings = warning_label()

        self.show_z = QRadioButton(SHOW_Z_TEXT[0])
        self.show_z.setToolTip("The attention-weighted sum of the value vectors, before W_O: d_head numbers per position.")
        self.show_result = QRadioButton(SHOW_RESULT_TEXT[0])
        self.show_result.setToolTip("What the head adds to the residual stream at each position: d_model numbers.")
        self.show_z.setChecked(True)
        self._which = QButtonGroup(self)
        self._which.addButton(self.show_z)
        self._which.addButton(self.show_result)
        self._which.buttonToggled.connect(self._on_shown_activation_changed)
        choice = FlowRow()  # the two choices wrap onto two rows when the centre is narrow
        self.show_label = QLabel("Show:")
        choice.add(self.show_label, self.show_z)
        choice.add(self.show_result)

        self.heatmap = Heatmap(signed=True, x_label="component of z (d_head)", y_label="position (query)",
                               appearance=self.appearance)
        self.heatmap.set_cell_describer(self._describe_cell)
        self.heatmap.set_hint("Hover a cell to read its value · click a row to focus that query position")
        self.heatmap.clicked.connect(self._on_cell_clicked)
        mark_explanation(self.heatmap.readout)

        self.bars_title = plain_label()  # a QLabel, not the plot title: it wraps instead of widening the plot
        self.bars_title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.bars_title.setStyleSheet("background: white; color: black;")
        self.bars_widget = pg.GraphicsLayoutWidget()
        self.bars_widget.setBackground("w")
        self.bars_plot = self.bars_widget.addPlot()
        self.bars_plot.setMenuEnabled(False)
        self.bars_plot.setMouseEnabled(x=False, y=False)
        self.bars_plot.hideButtons()
        self.bars_plot.invertY(True)  # biggest boost on top
        self._bar_extent: tuple[float, bool, int] | None = None  # longest bar, any negative, bars: for the range
        self.bars_plot.vb.sigResized.connect(self._fit_bar_range)
        self.bars_plot.showGrid(x=True, alpha=0.25)
        for name in ("left", "bottom"):
            self.bars_plot.getAxis(name).setTextPen(TEXT_COLOR)
            self.bars_plot.getAxis(name).setPen(TEXT_COLOR)
        self.bars_plot.setLabel("bottom", "logit change (result · W_U)")
        self.bars_plot.setLabel("left", "token")
        self.bars = pg.BarGraphItem(x0=[0.0], y=[0.0], height=0.7, width=[0.0], brushes=[BOOST_BRUSH], pen=None)
        self.source_bar = pg.BarGraphItem(x0=[0.0], y=[0.0], height=0.8, width=[0.0], brush=None,
                                       pen=pg.mkPen(SOURCE_COLOR, width=SOURCE_WIDTH))
        self.bars_plot.addItem(self.bars)
        self.bars_plot.addItem(self.source_bar)
        self.bars_plot.addItem(pg.InfiniteLine(pos=0.0, angle=90, pen=pg.mkPen(TEXT_COLOR, width=1)))

        bars_pane = QWidget()
        bars_layout = QVBoxLayout(bars_pane)
        bars_layout.setContentsMargins(0, 0, 0, 0)
        bars_layout.setSpacing(0)
        bars_layout.addWidget(self.bars_title)
        bars_layout.addWidget(self.bars_widget, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.heatmap)
        splitter.addWidget(bars_pane)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.heading)
        layout.addWidget(self.summary)
        layout.addWidget(self.warnings)
        layout.addWidget(choice)
        layout.addWidget(splitter, 1)
        self.setToolTip(self.tooltip)

    # -- data --------------------------------------------------------------------------------------
    def _head_result(self, results: Results, layer: int, head: int) -> np.ndarray:
        """[pos, d_model] the head's output in the residual stream (the analysis's ``head_output``)."""
        return self.ask("head_output", layer=layer, head=head)

    def logit_effect(self, results: Results, layer: int, head: int, query_pos: int) -> np.ndarray:
        """[d_vocab] direct effect of the head's output at ``query_pos`` on each logit: ``result[q] · W_U``."""
        return self.ask("head_logit_effect", layer=layer, head=head, query_pos=query_pos)

    # -- drawing -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        results = self.analysis.latest_results
        assert results is not None
        sel = self.focus(results)
        layer, head, q = sel.layer, sel.head, sel.query_pos
        self._apply_appearance()
        self._labels = self.token_labels(results)
        head_name = f"L{layer}H{head}"

        if self.show_z.isChecked():
            self._matrix = np.asarray(results.cache["z", layer][0, :, head], dtype=np.float32)  # [pos, d_head]
            self.heatmap.set_axis_labels("component of z (d_head)", "position (query)")
            what = f"z values of {head_name}"
        else:
            self._matrix = np.asarray(self._head_result(results, layer, head), dtype=np.float32)  # [pos, d_model]
            self.heatmap.set_axis_labels("residual stream direction (d_model)", "position (query)")
            what = f"result values of {head_name}"
        n_cols = self._matrix.shape[1]
        step = max(1, int(np.ceil(n_cols / MAX_COLUMN_TICKS)))
        cols = [str(i) if i % step == 0 else "" for i in range(n_cols)]  # every step-th: digits must not touch
        self.heatmap.set_data(self._matrix, row_labels=self._labels, col_labels=cols, what=what)
        self.heatmap.highlight_row(q)

        self._logit_effect = np.asarray(self.logit_effect(results, layer, head, q), dtype=np.float64)  # [d_vocab]
        pattern_row = results.pattern(layer, head)[q]  # [key_pos]
        source = int(np.nanargmax(pattern_row)) if np.isfinite(pattern_row).any() else -1
        self.heading.setText(f"Copied representation — layer {layer} head {head} (L{layer}H{head}), "
                             f"focused query {self._labels[q]}")
        self.summary.setText(self._sentence(head_name, q, source, pattern_row))
        self._draw_bars(source, results)
        warnings = list(results.warnings)
        if not np.isfinite(self._logit_effect).all():
            warnings.append("the logit effect at the focused query is not finite")
        show_warnings(self.warnings, warnings)

    def _source_token(self, results: Results, source: int) -> int:
        return int(results.tokens[source]) if source >= 0 else -1

    def _sentence(self, head_name: str, q: int, source: int, pattern_row: np.ndarray) -> str:
        """The lecture's reading: where the head looks, what it boosts, and whether that is a copy."""
        results = self.analysis.latest_results
        assert results is not None
        vocab = self.document.scenario.vocab
        effect = self._logit_effect
        if source < 0 or not np.isfinite(effect).all():
            return f"At query {self._labels[q]}, {head_name}'s output is not a finite number: see the warning."
        looks = f"At query {self._labels[q]}, {head_name} attends mostly to {self._labels[source]} " \
                f"(weight {pattern_row[source]:.2f})"
        top = int(np.argmax(effect))
        if abs(effect).max() < NEGLIGIBLE:
            return (f"{looks}; its output moves no logit by more than {NEGLIGIBLE:g}: it writes to a part of the "
                    f"residual stream the unembedding does not read (a later head can use it).")
        src_tok = self._source_token(results, source)
        boosts = f"boosts {vocab[top]} by {effect[top]:+.1f}"
        if top == src_tok:
            return (f"{looks}; its output {boosts}. The head copies the attended token {vocab[top]} "
                    f"into the residual stream.")
        return (f"{looks}; its output {boosts} most, and the attended token {vocab[src_tok]} by "
                f"{effect[src_tok]:+.1f}: it does not simply copy the attended token.")

    def _draw_bars(self, source: int, results: Results) -> None:
        vocab = self.document.scenario.vocab
        effect = np.nan_to_num(self._logit_effect)  # [d_vocab]
        order = np.argsort(-effect, kind="stable")  # [d_vocab] most boosted first
        if order.size > MAX_BARS:
            order = np.concatenate([order[: MAX_BARS // 2], order[-(MAX_BARS // 2):]])  # [MAX_BARS]
        values = effect[order]  # [bars]
        y = np.arange(order.size, dtype=float)  # [bars] one row per token, top to bottom
        brushes = [BOOST_BRUSH if v >= 0 else SUPPRESS_BRUSH for v in values]
        self.bars.setOpts(x0=np.zeros_like(values), y=y, width=values, height=0.7, brushes=brushes)
        src_tok = self._source_token(results, source)
        hits = np.flatnonzero(order == src_tok)
        if hits.size:
            i = int(hits[0])
            self.source_bar.setOpts(x0=[min(0.0, values[i])], y=[y[i]], width=[max(abs(values[i]), 1e-9)], height=0.85,
                                    pen=self.pen(SOURCE_COLOR, SOURCE_WIDTH))
            self.source_bar.show()
        else:
            self.source_bar.hide()
        ticks = []
        for i, t in enumerate(order):
            label = vocab[int(t)]
            if int(t) == src_tok:
                label += " (attended)"
            ticks.append((float(y[i]), label))
        self.bars_plot.getAxis("left").setTicks([ticks])
        self._label_bars(values, y)
        finite = values[np.isfinite(values)]  # [bars] an overflowing weight makes inf: the axis spans the rest
        span = min(float(np.abs(finite).max()), 1e300) if finite.size else 1.0  # 1e300: span × room stays finite
        self._bar_extent = (span, bool(finite.size and finite.min() < 0), int(order.size))
        self._fit_bar_range()
        sel = self.focus(results)
        self.bars_title.setText(f"Logits the output of L{sel.layer}H{sel.head} at query {self._labels[sel.query_pos]} "
                                f"raises (red) and lowers (blue); outlined: the attended token")

    def _fit_bar_range(self, *_: object) -> None:
        """X range with room beside the longest bar for its value label, in pixels of the plot as it is now.

        A fixed fraction of the range was too little on a narrow plot (a 1280 px
        screen): the label of the longest bar ran off the canvas. Runs again when
        the plot is resized.
        """
        if self._bar_extent is None:
            return
        span, negative, n = self._bar_extent
        span = span if span >= NEGLIGIBLE else 1.0  # all (near) zero: a unit axis, not a magnified rounding error
        font = QFont()
        font.setPointSizeF(self.font_points)
        label_px = QFontMetricsF(font).horizontalAdvance("+00.0") + 14  # the text item's margins
        width = max(self.bars_plot.vb.width(), 1.0)
        f = min(label_px / width, 0.3)  # share of the plot's width a label needs
        # room r (in spans) beside a bar of length span: r / (left + 1 + r) >= f, from 0 to the right
        left = 0.05
        room = 2 * f / (1 - 2 * f) if negative else f * (1 + left) / (1 - f)  # negative: r / (2 + 2r) >= f
        room = 1.0 + max(room, 0.1)
        self.bars_plot.setRange(xRange=(-span * room if negative else -span * left, span * room),
                                yRange=(-0.6, n - 0.4), padding=0)

    def _label_bars(self, values: np.ndarray, y: np.ndarray) -> None:
        """Value labels at the bar ends for bars that are not negligible (reusing the text items)."""
        font = QFont()
        font.setPointSizeF(self.font_points)
        while len(self._text_items) < values.size:
            item = pg.TextItem(color=TEXT_COLOR)
            self.bars_plot.addItem(item)
            self._text_items.append(item)
        for i, item in enumerate(self._text_items):
            if i < values.size and abs(values[i]) >= NEGLIGIBLE:
                v = float(values[i])
                item.setText(f"{v:+.1f}")
                item.setFont(font)
                item.setAnchor((0, 0.5) if v >= 0 else (1, 0.5))
                item.setPos(v, y[i])
                item.show()
            else:
                item.hide()

    def _apply_appearance(self) -> None:
        wanted = (self.colormap_name, self.font_points, self.presenting)
        if wanted == self._applied:
            return
        self._applied = wanted
        points = self.font_points
        self.heatmap.set_font_size(points)
        font = QFont()
        font.setPointSizeF(points)
        for name in ("left", "bottom"):
            axis = self.bars_plot.getAxis(name)
            axis.setTickFont(font)
            axis.label.setFont(font)
        set_label_points(self.heading, self.heading_points, bold=True)
        set_label_points(self.summary, points)
        set_label_points(self.bars_title, points)
        set_label_points(self.warnings, points, bold=True)
        for button in (self.show_label, self.show_z, self.show_result):
            set_label_points(button, points)  # type: ignore[arg-type]

    def apply_presentation(self, on: bool) -> None:
        """Short choice names: the long ones made the view wider than a 1280-pixel projector leaves it."""
        self.show_z.setText(SHOW_Z_TEXT[on])
        self.show_result.setText(SHOW_RESULT_TEXT[on])

    # -- read-out and interaction -------------------------------------------------------------
    def _describe_cell(self, row: int, col: int) -> str:
        name = "z" if self.show_z.isChecked() else "result"
        return f"position {self._labels[row]}, {name} component {col}: {float(self._matrix[row, col]):+.3f}"

    def _on_cell_clicked(self, row: int, col: int) -> None:
        """A click on a row focuses that query position."""
        self.document.set_selection(query_pos=row)

    def _on_shown_activation_changed(self, *_: object) -> None:
        self.update_if_visible()

    # -- export --------------------------------------------------------------------------------------
    def matrices(self) -> dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]]:
        results = self.analysis.latest_results
        if results is None:
            return {}
        sel = self.focus(results)
        layer, head, q = sel.layer, sel.head, sel.query_pos
        labels = self.token_labels(results)
        z = results.cache["z", layer][0, :, head]  # [pos, d_head]
        result = self._head_result(results, layer, head)  # [pos, d_model]
        effect = self.logit_effect(results, layer, head, q)[None, :]  # [1, d_vocab]
        name = f"L{layer}H{head}"
        return {
            f"z of {name} (hook_z, rows position, columns d_head)": (z, labels, [str(i) for i in range(z.shape[1])]),
            f"result of {name} (hook_result, rows position, columns d_model)": (
                result, labels, [str(i) for i in range(result.shape[1])]),
            f"logit change from {name} at query {labels[q]} (result · W_U)": (
                effect, [labels[q]], list(self.document.scenario.vocab)),
        }
