"""Residual stream and predictions: what the model predicts at each position, and how wrong it is.

The lecture's claim is that an induction head makes the *repeat* of a random
block predictable. This view shows that claim three ways: the top-3 next
tokens per position (is the actual next token among them?), the logits the
residual stream produces [pos × vocab], and the per-token loss with the first
occurrence and the repeat of a ``[BOS, r, r]`` sequence shaded and averaged.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import pyqtgraph as pg

from ...model.labels import loss_first_half
from ...analysis import Analysis, EntryFailed, Pending, Results
from ...model.appearance import Appearance
from .base import View
from ..widgets.heatmap import Heatmap
from ..widgets.plotting import caption, fit_position_ticks, make_plot, qfont, style_heatmap, style_plot, tint_cell

TOP_K = 3
VALUE_ROLE = Qt.ItemDataRole.UserRole  # the number behind a table cell, for tests and export
DELTA_ROLE = Qt.ItemDataRole.UserRole + 1  # its difference from the pinned state (compare mode)
GOOD = QColor("#c8e6c9")  # light green: correct prediction
BAD = QColor("#ffcdd2")  # light red: wrong prediction
FIRST_BRUSH = (255, 183, 77, 60)  # first occurrence: translucent orange
REPEAT_BRUSH = (102, 187, 106, 60)  # repeat: translucent green


# -- the view -------------------------------------------------------------------------------------


# px (desk, projector): on a projector the training curves may share the height
LOSS_PLOT_MIN_HEIGHT = (180, 140)  # 240 left the summary below it no room at 1280x720 (drawn over the plot)

class PredictionsView(View):
    """Top-3 next-token predictions, the logits heatmap and the per-token loss split by repeat."""

    title = "Predictions"
    tooltip = ("Residual stream → predictions: the top-3 next tokens at every position, the logits, and the loss "
               "on the first occurrence vs the repeat of a repeated sequence")
    help_text = ('What the model predicts: the residual stream read out through the unembedding W_U gives logits '
                 'for the next token at every position. The table shows the top-3 next tokens per position, and '
                 'the loss compares the first occurrence of a repeated sequence (unpredictable) with its repeat '
                 '(predictable once an induction head copies from the earlier occurrence).')

    COLUMNS = ("pos", "token", "actual next", "top-1  p", "top-2  p", "top-3  p", "correct?")

    def __init__(self, analysis: Analysis, parent: QWidget | None = None, *,
                 appearance: Appearance | None = None) -> None:
        super().__init__(analysis, parent, appearance=appearance)
        self._table_points: float | None = None  # font size the table was last set to
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # sized once per fill: ResizeToContents re-measures the whole table on every cell set (≈1 s at 64 tokens)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        tips = (
            "position i in the sequence",
            "the token at position i",
            "token i+1: what the prediction at position i is scored against",
            "most probable next token and its probability (softmax of the logits)",
            "second most probable next token",
            "third most probable next token",
            "✓ if the most probable token is the actual next token; = if it only ties with it",
        )
        for col, tip in enumerate(tips):
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        self.table.cellClicked.connect(self._on_table_cell_clicked)

        self.logits = Heatmap(signed=True, appearance=self.appearance)
        self.logits.set_value_format(lambda v: f"logit {v:+.3f}")
        self.logits.clicked.connect(self._on_logits_clicked)
        self._next_marker = pg.ScatterPlotItem(symbol="s", size=10, pen=pg.mkPen("k", width=2), brush=None)
        self._next_marker.setZValue(5)
        self.logits.plot.addItem(self._next_marker)

        self.loss_plot = make_plot()
        self.loss_plot.setMinimumHeight(LOSS_PLOT_MIN_HEIGHT[0])
        self.summary = caption()

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.logits)
        loss_box = QWidget()
        loss_layout = QVBoxLayout(loss_box)
        loss_layout.setContentsMargins(0, 0, 0, 0)
        loss_layout.addWidget(self.loss_plot, 1)
        loss_layout.addWidget(self.summary)
        right.addWidget(loss_box)
        right.setSizes([380, 420])

        self.heading = caption(bold=True)
        self.heading.setText(self.HEADING)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.heading)
        left_layout.addWidget(self.table, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([560, 640])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)

        self.first_loss: float | None = None  # mean loss on the first occurrence (None: not [BOS, r, r])
        self.repeat_loss: float | None = None  # mean loss on the repeat
        self.pinned_curve: np.ndarray | None = None  # [pos - 1] loss of the pinned state, when drawn

    # -- drawing --------------------------------------------------------------------------------
    def apply_presentation(self, on: bool) -> None:
        self.loss_plot.setMinimumHeight(LOSS_PLOT_MIN_HEIGHT[on])

    HEADING = "Top-3 next-token predictions (softmax of the logits at each position)"

    def refresh(self) -> None:
        results = self.analysis.latest_results
        assert results is not None
        # a large model's logits come from a worker after the attention views have drawn
        asked = (self.ask("logits"), self.ask("top_k", k=TOP_K), self.ask("loss_halves"), self.ask("logit_columns"))
        waiting = next((v for v in asked if isinstance(v, (Pending, EntryFailed))), None)
        if waiting is not None:
            self._show_waiting(str(waiting))
            return
        self.heading.setText(self.HEADING)
        self._fill_table(results)
        self._draw_logits(results)
        self._draw_loss(results)
        self._show_selection()

    def _show_waiting(self, message: str) -> None:
        """The logits are not there yet: say so where they will be drawn."""
        self.heading.setText(f"Top-3 next-token predictions: {message}")
        self.table.setRowCount(0)
        self.logits.set_data(np.zeros((1, 1), np.float32), row_labels=[""], col_labels=[""], what="logits")
        style_heatmap(self.logits, self.font_points, f"Logits: {message}", "next token", "position : token")
        self._next_marker.setData(x=[], y=[])
        self.loss_plot.getPlotItem().clear()
        self.summary.setText(f"Loss per position: {message}")

    def _fill_table(self, results: Results) -> None:
        vocab = self.document.scenario.vocab
        tokens = results.tokens  # [pos]
        best = self.ask("top_k", k=TOP_K)  # [pos, k]
        n = tokens.size
        if self._table_points != self.font_points:  # setting a font re-lays the table out: only on change
            self._table_points = self.font_points
            self.table.setFont(qfont(self.font_points))
            self.table.horizontalHeader().setFont(qfont(self.font_points, bold=True))
            self.heading.setFont(qfont(self.font_points + 1, bold=True))
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(n)
        for i in range(n):
            nxt = int(tokens[i + 1]) if i + 1 < n else None
            cells: list[QTableWidgetItem] = [
                self._item(str(i), i),
                self._item(vocab[tokens[i]], int(tokens[i])),
                self._item(vocab[nxt] if nxt is not None else "— (end)", nxt),
            ]
            for t in best[i]:
                p = float(results.probs[i, t])
                item = self._item(f"{vocab[t]}  {p:.3f}", (int(t), p))
                if nxt is not None and t == nxt:
                    tint_cell(item, GOOD)
                cells.append(item)
            if nxt is None:
                mark = self._item("—", None)
            else:
                correct = bool(best[i, 0] == nxt)
                # a uniform prediction ranks tokens by id: call a tie a tie, not a lucky or unlucky guess
                tied = not correct and results.probs[i, nxt] >= results.probs[i, best[i, 0]] - 1e-9
                mark = self._item("✓ correct" if correct else ("= tied" if tied else "✗ wrong"), correct)
                tint_cell(mark, GOOD if correct else BAD)
            cells.append(mark)
            for col, item in enumerate(cells):
                self.table.setItem(i, col, item)
        self.table.resizeColumnsToContents()
        self.table.setUpdatesEnabled(True)

    @staticmethod
    def _item(text: str, value: object) -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        item.setData(VALUE_ROLE, value)
        return item

    def _draw_logits(self, results: Results) -> None:
        vocab = self.document.scenario.vocab
        rows = self.token_labels(results)
        columns = self.ask("logit_columns")  # None: every token; else [n] ids (a large vocabulary)
        n = results.tokens.size
        nxt = results.tokens[1:]  # [pos - 1]
        if columns is None:
            shown, labels, x = results.logits, list(vocab), nxt  # [pos, d_vocab]
            what = ""
        else:
            shown = results.logits[:, columns]  # [pos, n]
            labels = [vocab[t] for t in columns]
            x = np.searchsorted(columns, nxt)  # every next token is a column: the sequence's tokens are
            what = f" — {columns.size} of {len(vocab):,} tokens: the sequence's and the top-1 predictions"
        self.logits.set_data(shown, row_labels=rows, col_labels=labels, what="logits")
        style_heatmap(self.logits, self.font_points,
                      ("Logits (□ = actual next)" if self.presenting
                       else "Logits from the residual stream (□ = actual next token)") + what,
                      "next token", "position : token")
        self._next_marker.setData(x=x + 0.5, y=np.arange(n - 1) + 0.5)

    def _draw_loss(self, results: Results) -> None:
        plot = self.loss_plot.getPlotItem()
        plot.clear()
        loss = results.loss  # [pos - 1]
        x = np.arange(loss.size)  # loss column i = the prediction made at position i
        n_block = self.ask("repeated_block")
        finite = loss[np.isfinite(loss)]  # [≤ pos - 1] an overflowing weight makes NaN losses: scale to the rest
        top = float(min(max(finite.max() if finite.size else 1.0, 1e-6), 1e300)) * 1.25
        self.first_loss = self.repeat_loss = None
        text: list[str] = []
        halves = self.ask("loss_halves")
        if halves is not None:
            self.first_loss, self.repeat_loss = halves.first, halves.repeat
            for lo, hi, brush, name, mean in (
                (0, n_block, FIRST_BRUSH, "first occurrence", halves.first),
                (n_block, 2 * n_block, REPEAT_BRUSH, "repeat", halves.repeat),
            ):
                region = pg.LinearRegionItem(values=(lo - 0.5, hi - 0.5), movable=False, brush=brush,
                                             pen=pg.mkPen(None))
                region.setZValue(-10)
                plot.addItem(region)
                label = pg.TextItem(f"{name}\nmean {mean:.3f}", color="k", anchor=(0.5, 0))
                label.setFont(qfont(self.font_points, bold=True))
                label.setPos((lo + hi - 1) / 2, top * 1.4)
                plot.addItem(label)
                plot.plot([lo - 0.4, hi - 0.6], [mean, mean], pen=self.pen("k", width=2, style=Qt.PenStyle.DashLine))
            if self.presenting:  # the numbers and their columns; the teacher gives the why
                text.append(f"<b>Mean loss: first occurrence {halves.first:.3f}, repeat {halves.repeat:.3f} nats</b> "
                            f"(columns 0..{n_block - 1} / {n_block}..{2 * n_block - 1}).")
            else:
                text.append(
                    f"<b>Mean loss, first occurrence = {halves.first:.3f} nats</b> "
                    f"({loss_first_half(n_block).variant}: predicting r1..r{n_block} the first time, "
                    "unpredictable). "
                    f"<b>Mean loss, repeat = {halves.repeat:.3f} nats</b> (columns {n_block}..{2 * n_block - 1}: "
                    f"predictable by induction)."
                )
        else:
            text.append(f"<b>Mean loss = {float(loss.mean()) if loss.size else float('nan'):.3f} nats</b> "
                        "(the sequence is not [BOS, r, r], so there is no first-occurrence / repeat split).")
        bars = pg.BarGraphItem(x=x, height=loss, width=0.7, brush=pg.mkBrush("#1f77b4"), pen=self.pen("k"),
                               name="loss (current)")
        plot.addItem(bars)
        self.pinned_curve = None
        pinned = self.pinned_results
        if pinned is not None and pinned.loss.shape == loss.shape:
            self.pinned_curve = pinned.loss
            plot.plot(x, pinned.loss, pen=self.pen("#d62728", width=3, style=Qt.PenStyle.DashLine),
                      symbol="o", symbolBrush="#d62728", symbolPen="k", symbolSize=9, name="loss (pinned)")
            hp = self.analysis.pinned.get("loss_halves") if self.analysis.pinned is not None else None
            if hp is not None:
                text.append(f"Pinned (red dashed line): first occurrence {hp.first:.3f}, repeat {hp.repeat:.3f} nats.")
            else:
                text.append(f"Pinned (red dashed line): mean loss {float(pinned.loss.mean()):.3f} nats.")
        elif pinned is not None:
            text.append("Pinned state has another sequence length: its loss curve cannot be overlaid.")
        if not self.presenting:
            text.append("Loss at position i = cross-entropy of the prediction at i for token i+1 (natural log).")
        self.summary.setText(" ".join(text))
        self.summary.setFont(qfont(self.font_points))
        labels = [str(i) for i in range(loss.size)]
        style_plot(plot, self.font_points, "Loss per position (bars: current)",
                   "position i (predicting token i+1)", "loss (nats)")
        fit_position_ticks(plot, labels, max_ticks=32)  # thinned to the plot's width: labels never overlap
        plot.setXRange(-0.6, max(loss.size, 1) - 0.4, padding=0)
        plot.setYRange(0, top * 1.45, padding=0)

    def _show_selection(self) -> None:
        results = self.analysis.latest_results
        if results is None:
            return
        pos = self.focus(results).query_pos
        self.table.selectRow(pos)
        self.logits.highlight_row(pos)

    def _on_selection_changed(self, selection: object) -> None:
        if self.isVisible() and not self._out_of_date:
            self._show_selection()  # a new focus needs no redraw of the numbers
        else:
            super()._on_selection_changed(selection)  # type: ignore[arg-type]

    # -- interaction ------------------------------------------------------------------------------
    def _on_table_cell_clicked(self, row: int, col: int) -> None:
        self.document.set_selection(query_pos=row)

    def _on_logits_clicked(self, row: int, col: int) -> None:
        self.document.set_selection(query_pos=row)

    def matrices(self) -> dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]]:
        results = self.analysis.latest_results
        if results is None:
            return {}
        rows = self.token_labels(results)
        vocab = list(self.document.scenario.vocab)
        return {
            "logits": (results.logits, rows, vocab),
            "probabilities": (results.probs, rows, vocab),
            "loss_per_position": (results.loss[:, None], rows[:-1], ["loss (nats)"]),
        }
