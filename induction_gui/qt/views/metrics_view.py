"""The metrics dashboard: every head's scores, each with the exact variant it uses.

A learner compares numbers across heads and across edits, so every number here
is labelled with its definition: the detector variant (``mul``/``abs``,
``exclude_bos``) in a caption and in each column's header tooltip, the
composition score next to a baseline sampled for the same d_model and d_head
(computed in a worker, never a hard-coded number), and the ICL score with the
exact loss indices it compares. The wording comes from
:mod:`induction_gui.model.labels`, as ``metrics.json``'s does, so the window and
the export agree.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import pyqtgraph as pg

from ...analysis import COMPOSITION_MODES, Analysis, EntryFailed, Pending, Results
from ...analysis.report import BASELINE_SAMPLES
from ...model import labels
from ...model.appearance import Appearance
from ...model.events import Change
from ..widgets.fitting import FlowRow
from ..widgets.heatmap import Heatmap
from ..widgets.plotting import caption, qfont, style_heatmap, tint_cell
from .base import View
from .predictions_view import DELTA_ROLE, VALUE_ROLE

DETECTOR_COLUMNS = (  # (pattern of labels.DETECTOR_DESCRIPTIONS, column name)
    ("previous_token_head", "previous-token"),
    ("duplicate_token_head", "duplicate-token"),
    ("induction_head", "induction"),
)
STRIPE, COPY_OV, COPY_FULL, TOP1 = "induction stripe", "copying (OV)", "copying (full OV)", "full-OV top-1"
COLUMNS = tuple(c[1] for c in DETECTOR_COLUMNS) + (STRIPE, COPY_OV, COPY_FULL, TOP1)
STRIPE_COL = len(DETECTOR_COLUMNS)
HIGHLIGHT = QColor("#fff3b0")  # the focused head's row


def _two_lines(name: str) -> str:
    """A column name broken once (at a space, else after a hyphen), so columns stay narrow."""
    if " " in name:
        return name.replace(" ", "\n", 1)
    return name.replace("-", "-\n", 1)


class MetricsView(View):
    """Per-head score table, composition scores against a sampled baseline, and the ICL score."""

    title = "Metrics"
    tooltip = ("Dashboard: previous-token, duplicate-token and induction scores of every head (variant stated), "
               "copying scores, K-composition against a random baseline, and the in-context-learning score")
    help_text = ('The scores that say which heads form the induction circuit: previous-token, duplicate-token and '
                 'induction scores of every head (how much of its attention goes to the diagonal each pattern '
                 'predicts), copying scores from the OV circuit, K-composition compared with a random baseline, '
                 'and the in-context-learning score (loss late in the sequence minus loss early on).')

    def __init__(self, analysis: Analysis, parent: QWidget | None = None, *,
                 appearance: Appearance | None = None) -> None:
        super().__init__(analysis, parent, appearance=appearance)
        self.baseline_samples = BASELINE_SAMPLES  # same count as metrics.json, so both show the same baseline
        self.baseline: object | None = None  # the CompositionBaseline shown, once sampled
        self._baseline_key: tuple[int, int, int, int] | None = None  # (d_model, d_head, seed, samples) asked for
        self._composition: tuple[np.ndarray, list[str], list[str]] | None = None  # [earlier, later] shown
        self.icl_value: float | None = None  # the ICL score shown
        self._cell_texts: list[pg.TextItem] = []  # numbers printed on the composition heatmap

        # controls and caption
        self.measure_combo = QComboBox()
        self.measure_combo.addItem("mul: Σ A·D / Σ A", "mul")
        self.measure_combo.addItem("abs: 1 − Σ|A − D| / n", "abs")
        self.measure_combo.setToolTip("error_measure of the TransformerLens head detector")
        self.exclude_bos = QCheckBox("exclude_bos (ignore attention to position 0)")
        self.exclude_bos.setToolTip("zero column 0 of the pattern before scoring: a head resting on BOS when "
                                    "nothing matches is not penalised. One setting for the whole window: the "
                                    "Attention and Circuits views and the heads grid score with it too.")
        self.exclude_bos.setChecked(self.document.exclude_bos)
        self.variant_caption = caption()

        # per-head table
        self.table = QTableWidget(0, len(COLUMNS))
        # two-line headers keep the columns narrow enough for a projector-size font
        self.table.setHorizontalHeaderLabels([_two_lines(c) for c in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.cellClicked.connect(self._on_table_cell_clicked)

        # composition
        self.mode_combo = QComboBox()
        for mode in COMPOSITION_MODES:
            self.mode_combo.addItem(f"{mode}-composition", mode)
        self.mode_combo.setCurrentIndex(COMPOSITION_MODES.index("K"))
        self.composition = Heatmap(signed=False, appearance=self.appearance)
        self.composition.set_value_format(lambda v: f"composition score {v:.3f}")
        self.composition.clicked.connect(self._on_composition_clicked)
        self.baseline_label = caption()
        self.progress = QProgressBar()
        self.progress.setFormat("sampling baseline %v / %m")
        self.progress.hide()
        self.composition_caption = caption()
        self.icl_label = caption()

        # the baseline is a slow analysis entry: sampled in a worker, its progress shown here
        analysis.events.progress.connect(self._on_entry_progress)

        # the measure and the check box wrap onto two rows when the centre is narrow (a 1280 px screen)
        controls = FlowRow()
        controls.add(QLabel("Detector measure:"), self.measure_combo)
        controls.add(self.exclude_bos)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(controls)
        top_layout.addWidget(self.variant_caption)
        top_layout.addWidget(self.table, 1)
        top_layout.addWidget(self.icl_label)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(6, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Composition:"))
        row.addWidget(self.mode_combo, 1)
        side_layout.addLayout(row)
        side_layout.addWidget(self.baseline_label)
        side_layout.addWidget(self.progress)
        side_layout.addWidget(self.composition_caption)
        side_layout.addStretch(1)
        side.setMaximumWidth(430)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.composition)
        bottom.addWidget(side)
        bottom.setSizes([700, 430])

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setSizes([330, 470])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)

        self.measure_combo.currentIndexChanged.connect(self._on_variant_changed)
        self.exclude_bos.toggled.connect(self._on_exclude_bos_toggled)
        self.mode_combo.currentIndexChanged.connect(self._on_variant_changed)

    def detach(self) -> None:
        """Stop following the document and the baseline's progress."""
        self.analysis.events.progress.disconnect(self._on_entry_progress)
        super().detach()

    # -- state -----------------------------------------------------------------------------------
    @property
    def measure(self) -> str:
        return str(self.measure_combo.currentData())

    @property
    def composition_mode(self) -> str:
        return str(self.mode_combo.currentData())

    def cell(self, layer: int, head: int, column: str) -> QTableWidgetItem:
        """The table item of one head and one column name of :data:`COLUMNS`."""
        cfg = self.document.scenario.weights.config
        item = self.table.item(layer * cfg.n_heads + head, COLUMNS.index(column))
        assert item is not None
        return item

    # -- drawing ---------------------------------------------------------------------------------------
    def refresh(self) -> None:
        results = self.analysis.latest_results
        assert results is not None
        self._apply_fonts()
        self._fill_table(results)
        self._draw_composition()
        self._show_icl(results)
        self._ensure_baseline()

    def _apply_fonts(self) -> None:
        pts = self.font_points
        for widget in self.findChildren(QWidget):
            if isinstance(widget, (QLabel, QCheckBox, QComboBox, QProgressBar)):
                widget.setFont(qfont(pts))
        self.table.setFont(qfont(pts))
        self.table.horizontalHeader().setFont(qfont(pts, bold=True))
        self.table.verticalHeader().setFont(qfont(pts, bold=True))

    def _columns(self, analysis: Analysis) -> list[np.ndarray | None]:
        """[n_layers, n_heads] per column of the table (None where it does not apply)."""
        excl = self.document.exclude_bos
        cols: list[np.ndarray | None] = [
            analysis.get("detector", pattern=p, measure=self.measure, exclude_bos=excl) for p, _ in DETECTOR_COLUMNS
        ]
        cols.append(analysis.get("stripes").get("induction"))  # [layer, head_index], None unless [BOS, r, r]
        cols.append(analysis.get("copying_scores.ov"))
        # vocabulary-sized: a worker computes them for a large model; "—" until then
        for name in ("copying_scores.full_ov", "ov_top1"):
            value = self.ask(name) if analysis is self.analysis else analysis.get(name)
            cols.append(None if isinstance(value, (Pending, EntryFailed)) else value)
        return cols

    def _n_block(self, results: Results) -> int | None:
        return self.ask("repeated_block")

    def _fill_table(self, results: Results) -> None:
        cfg = self.document.scenario.weights.config
        excl = self.document.exclude_bos
        cols = self._columns(self.analysis)
        pinned_cols = self._pinned_columns(results)
        n_block = self._n_block(results)
        tips = [labels.detector(p, self.measure, excl).tooltip() for p, _ in DETECTOR_COLUMNS]
        tips += [
            labels.stripe_induction(n_block).tooltip() if n_block is not None
            else "only defined on [BOS, r1..rN, r1..rN]: this sequence is not one",
            labels.COPYING_OV.tooltip(),
            labels.COPYING_FULL_OV.tooltip(),
            labels.FULL_OV_TOP1.tooltip(),
        ]
        for col, tip in enumerate(tips):
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        self.table.setColumnHidden(STRIPE_COL, n_block is None)
        sel = self.document.selection
        self.table.setRowCount(cfg.n_layers * cfg.n_heads)
        self.table.setVerticalHeaderLabels([f"L{l}H{h}" for l in range(cfg.n_layers) for h in range(cfg.n_heads)])
        for layer in range(cfg.n_layers):
            for head in range(cfg.n_heads):
                r = layer * cfg.n_heads + head
                for c, values in enumerate(cols):
                    item = QTableWidgetItem()
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    if values is None:
                        item.setText("—")
                        item.setData(VALUE_ROLE, None)
                    else:
                        v = float(values[layer, head])
                        item.setData(VALUE_ROLE, v)
                        text = f"{v:.3f}"
                        other = pinned_cols[c] if pinned_cols is not None else None
                        if other is not None and other.shape == values.shape:
                            d = v - float(other[layer, head])
                            item.setData(DELTA_ROLE, d)
                            text += f"  (Δ {d if abs(d) >= 5e-4 else 0.0:+.3f})"  # no "−0.000"
                            if abs(d) > 5e-4:
                                tint_cell(item, "#cfe3ff" if d > 0 else "#ffd6cc")
                        item.setText(text)
                        item.setToolTip(f"L{layer}H{head} {COLUMNS[c]} = {v:.6g}\n{tips[c]}")
                    if (layer, head) == (sel.layer, sel.head) and item.background().style() == Qt.BrushStyle.NoBrush:
                        tint_cell(item, HIGHLIGHT)
                    self.table.setItem(r, c, item)
        compare = " Cells show the value now and (Δ) its change since the pinned state." if pinned_cols else ""
        self.variant_caption.setText(
            f"Detector scores use <b>{labels.detector_variant('&lt;pattern&gt;', self.measure, excl)}</b>; "
            f"hover a column header for its exact definition.{compare}"
        )

    def _pinned_columns(self, results: Results) -> list[np.ndarray | None] | None:
        """The pinned state's columns; weight-only columns are None when its weights are unknown."""
        pinned = self.analysis.pinned
        if pinned is None or not self.analysis.comparable(results):
            return None
        cols = self._columns(pinned)  # the pinned state's own analysis: its weights, its sequence
        if pinned.state().config != self.document.scenario.weights.config:
            cols[STRIPE_COL + 1:] = [None] * (len(cols) - STRIPE_COL - 1)
        return cols

    def _draw_composition(self) -> None:
        weights = self.document.scenario.weights
        cfg = weights.config
        mode = self.composition_mode
        if cfg.n_layers < 2:
            self._composition = None
            self.composition.set_data(np.zeros((1, 1)), row_labels=[""], col_labels=[""])
            style_heatmap(self.composition, self.font_points, "Composition needs two layers", "", "")
            self.composition_caption.setText("This model has one layer: no head can read another head's output.")
            return
        scores = self.ask("composition_scores", mode=mode)  # [l1, h1, l2, h2]
        H = cfg.n_heads
        early = scores[:-1, :, 1:, :].reshape((cfg.n_layers - 1) * H, (cfg.n_layers - 1) * H)  # [earlier, later]
        rows = [f"L{l}H{h}" for l in range(cfg.n_layers - 1) for h in range(H)]
        cols = [f"L{l}H{h}" for l in range(1, cfg.n_layers) for h in range(H)]
        self.composition.set_data(early, row_labels=rows, col_labels=cols, levels=(0.0, 1.0),
                                  what="composition scores")
        style_heatmap(self.composition, self.font_points, f"{mode}-composition score", "later head",
                      "earlier head (writes)")
        self._composition = (early, rows, cols)
        self._write_cell_values(early)
        i, j = np.unravel_index(int(np.argmax(early)), early.shape)
        self.composition_caption.setText(
            f"{mode}-composition: how much a later head's {'query' if mode == 'Q' else 'key' if mode == 'K' else 'value'}"
            f" reads what an earlier head writes. {labels.COMPOSITION_FORMULA}, with L = W_OV of the earlier head "
            f"and R = {'W_QK' if mode == 'Q' else 'W_QKᵀ' if mode == 'K' else 'W_OV'} of the later one. "
            + ("Zero where the first head is not in an earlier layer. " if cfg.n_layers > 2 else "")
            + f"Strongest pair: <b>{rows[i]} → {cols[j]} = {early[i, j]:.3f}</b>."
        )

    def _write_cell_values(self, matrix: np.ndarray) -> None:
        """Print each score in its cell when there are few enough to read from the back of a room."""
        for item in self._cell_texts:
            self.composition.plot.removeItem(item)
        self._cell_texts = []
        rows, cols = matrix.shape
        if rows * cols > 64:
            return
        for i in range(rows):
            for j in range(cols):
                v = float(matrix[i, j])
                text = pg.TextItem(f"{v:.3f}", color="k" if v > 0.6 else "w", anchor=(0.5, 0.5))
                text.setFont(qfont(self.font_points + 1, bold=True))
                text.setPos(j + 0.5, i + 0.5)
                self.composition.plot.addItem(text)
                self._cell_texts.append(text)

    def _show_icl(self, results: Results) -> None:
        if results.tokens.size < 3:
            self.icl_label.setText("ICL score: needs at least 3 tokens.")
            self.icl_value = None
            return
        icl = self.ask("icl")
        if isinstance(icl, (Pending, EntryFailed)):  # a large model's loss comes from a worker
            self.icl_label.setText(f"ICL score: {icl}")
            self.icl_value = None
            return
        self.icl_value = icl.value
        text = f"<b>ICL score = {icl.value:+.3f} nats</b> ({icl.variant_label}; more negative = more in-context learning)"
        p = self.analysis.pinned.get("icl") if self.analysis.pinned is not None else None
        if p is not None:
            if (p.early_index, p.late_index) == (icl.early_index, icl.late_index):
                text += f" · pinned {p.value:+.3f}, Δ {icl.value - p.value:+.3f}"
        self.icl_label.setText(text)

    # -- baseline (a slow analysis entry) -------------------------------------------------------
    def _ensure_baseline(self) -> None:
        """Show the baseline for this d_model, d_head and seed; the analysis samples it once, in a worker."""
        cfg = self.document.scenario.weights.config
        if cfg.n_layers < 2:
            self.baseline_label.setText("")
            self.progress.hide()
            return
        key = (cfg.d_model, cfg.d_head, int(self.document.scenario.seed), int(self.baseline_samples))
        self._baseline_key = key
        d_model, d_head, seed, n = key
        value = self.ask("composition_baseline", d_model=d_model, d_head=d_head, n_samples=n, seed=seed)
        if isinstance(value, Pending):
            self.baseline = None
            self.progress.setRange(0, value.total or n)
            self.progress.setValue(value.done)
            self.progress.show()
        elif isinstance(value, EntryFailed):
            self.baseline = None
            self.progress.hide()
            self.baseline_label.setText(f"Random baseline could not be sampled: {value.message}")
            return
        else:
            self.baseline = value
            self.progress.hide()
        self._show_baseline()

    def _show_baseline(self) -> None:
        if self._baseline_key is None:
            return
        d_model, d_head, seed, n = self._baseline_key
        if self.baseline is None:
            self.baseline_label.setText(f"Random baseline: sampling {n} pairs of random heads "
                                        f"(d_model {d_model}, d_head {d_head})…")
            return
        b = self.baseline
        strongest = ""
        early = self._composition[0] if self._composition is not None else None
        if early is not None and early.size and b.std > 0:
            z = (float(early.max()) - b.mean) / b.std
            strongest = f"<br>Strongest pair is {z:+.1f} std from the baseline mean."
        self.baseline_label.setText(
            f"<b>Random baseline = {b.mean:.3f} ± {b.std:.3f}</b> (mean ± std of {n} random rank-d_head products, "
            f"d_model {d_model}, d_head {d_head}, seed {seed}).{strongest}"
        )

    def _on_entry_progress(self, name: str, pending: Pending) -> None:
        if name == "composition_baseline" and self.baseline is None:
            self.progress.setRange(0, pending.total)
            self.progress.setValue(pending.done)

    # -- interaction -------------------------------------------------------------------------------
    def _on_variant_changed(self, *args: object) -> None:
        self.update_if_visible()

    def _on_exclude_bos_toggled(self, on: bool) -> None:
        """The checkbox edits the document's one setting; every view (this one too) redraws from it."""
        self.document.set_exclude_bos(on)

    def _on_scenario_setting_changed(self, change: Change) -> None:
        """Follow the document's exclude_bos (another scenario opened, a setting restored) in the checkbox."""
        if self.exclude_bos.isChecked() != self.document.exclude_bos:
            with QSignalBlocker(self.exclude_bos):
                self.exclude_bos.setChecked(self.document.exclude_bos)
            self.update_if_visible()
        super()._on_scenario_setting_changed(change)

    def _on_table_cell_clicked(self, row: int, col: int) -> None:
        layer, head = divmod(row, self.document.scenario.weights.config.n_heads)
        self.document.set_selection(layer=layer, head=head)

    def _on_composition_clicked(self, row: int, col: int) -> None:
        later = col + self.document.scenario.weights.config.n_heads  # columns start at layer 1
        layer, head = divmod(later, self.document.scenario.weights.config.n_heads)
        self.document.set_selection(layer=layer, head=head)

    def matrices(self) -> dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]]:
        results = self.analysis.latest_results
        if results is None:
            return {}
        cfg = self.document.scenario.weights.config
        heads = [f"L{l}H{h}" for l in range(cfg.n_layers) for h in range(cfg.n_heads)]
        cols = self._columns(self.analysis)
        names = [n for n, c in zip(COLUMNS, cols) if c is not None]
        table = np.stack([c.reshape(-1) for c in cols if c is not None], axis=1)  # [head, column]
        out = {"head_scores": (table, heads, names)}
        if self._composition is not None:
            early, rows, cols_ = self._composition
            out[f"{self.composition_mode}_composition"] = (early, rows, cols_)
        return out
