"""Logit attribution and ablation: which heads make the correct next token likely, and which it needs.

An attention-only model has no LayerNorm, so the correct token's logit is an
exact sum of parts: the direct path (embeddings read straight out), each
head's output, each layer's ``b_O`` and ``b_U``. Showing the sum next to the
logit lets a learner check that nothing is hidden. Attribution is correlation
("this head wrote it"); zero-ablating each head is the intervention ("without
this head the loss rises and the induction head stops inducting"), so both are
shown side by side.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

import pyqtgraph as pg

from ...analysis import Analysis, EntryFailed, Pending, Results
from ...model.appearance import Appearance
from .base import View
from ..widgets.heatmap import Heatmap
from ..widgets.plotting import caption, make_plot, qfont, style_heatmap, style_plot, thin_value_labels

LAYER_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")  # heads, by layer
DIRECT_COLOUR, BIAS_COLOUR = "#7f7f7f", "#c7c7c7"
SUM_TOLERANCE = 1e-3  # float32 activations summed in float64: parts agree with the logit to ~1e-5


class AttributionView(View):
    """Direct logit attribution at the focused position, and the effect of zero-ablating each head."""

    title = "Attribution"
    tooltip = ("Logit attribution of the correct next token at the focused position (direct path, each head, "
               "biases), and what zero-ablating each head does to the loss and to the induction scores")
    help_text = ('Which parts of the model produce the correct next token at the focused position: the logit of '
                 'that token split into the direct path, each head and the biases (logit attribution). '
                 'Zero-ablating a head shows what the model loses without it: ablating the induction head should '
                 'raise the loss on the repeat and remove the induction scores.')

    def __init__(self, analysis: Analysis, parent: QWidget | None = None, *,
                 appearance: Appearance | None = None) -> None:
        super().__init__(analysis, parent, appearance=appearance)
        self.heading = caption(bold=True)
        self.attr_plot = make_plot()
        self.sum_label = caption()
        self.loss_plot = make_plot()
        self.induction = Heatmap(signed=True, appearance=self.appearance)
        self.induction.set_value_format(lambda v: f"change of induction score {v:+.3f}")
        self.ablation_label = caption()

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.attr_plot, 1)
        left_layout.addWidget(self.sum_label)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.loss_plot)
        right.addWidget(self.induction)
        right_box = QWidget()
        right_layout = QVBoxLayout(right_box)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(right, 1)
        right_layout.addWidget(self.ablation_label)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right_box)
        split.setSizes([620, 580])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.heading)
        layout.addWidget(split, 1)
        self.induction.clicked.connect(self._on_induction_clicked)

        self.parts: list[tuple[str, float]] = []  # the bars drawn, in order (name, logit contribution)
        self.attribution: object | None = None  # the LogitAttribution shown
        self.position: int | None = None  # the position attributed (predicting token position + 1)
        self.effects: object | None = None  # the AblationEffects shown
        self._induction_cols: list[tuple[int, int]] = []  # later heads shown as heatmap columns

    # -- drawing ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        results = self.analysis.latest_results
        assert results is not None
        self.heading.setFont(qfont(self.font_points + 2, bold=True))
        for label in (self.sum_label, self.ablation_label):
            label.setFont(qfont(self.font_points))
        self._draw_attribution(results)
        self._draw_ablation(results)

    def _draw_attribution(self, results: Results) -> None:
        plot = self.attr_plot.getPlotItem()
        plot.clear()
        vocab = self.document.scenario.vocab
        tokens = results.tokens  # [pos]
        n = tokens.size
        if n < 2:
            self.attribution, self.position, self.parts = None, None, []
            self.heading.setText("Logit attribution needs at least two tokens (a position and its next token).")
            self.sum_label.setText("")
            return
        focus = self.focus(results).query_pos
        pos = min(focus, n - 2)  # the last position has no next token to attribute
        w = self.document.scenario.weights
        attr = self.ask("logit_attribution", position=int(pos))
        if isinstance(attr, EntryFailed):  # e.g. a model whose outputs are not next tokens
            self.attribution, self.position, self.parts = None, None, []
            self.heading.setText(f"Logit attribution is {attr}.")
            self.sum_label.setText("")
            return
        self.attribution, self.position = attr, pos
        target = vocab[tokens[pos + 1]]
        moved = "" if pos == focus else f"  (position {focus} is the last: it has no next token)"
        self.heading.setText(
            f"Logit of {target} at position {pos} (token {vocab[tokens[pos]]}; {target} is the actual next token)"
            f"{moved}"
        )
        cfg = w.config
        parts: list[tuple[str, float, str]] = [("direct", attr.direct, DIRECT_COLOUR)]
        for layer in range(cfg.n_layers):
            colour = LAYER_COLOURS[layer % len(LAYER_COLOURS)]
            parts += [(f"L{layer}H{h}", float(attr.heads[layer, h]), colour) for h in range(cfg.n_heads)]
        parts += [(f"b_O\nL{layer}", float(attr.b_O[layer]), BIAS_COLOUR) for layer in range(cfg.n_layers)]
        parts.append(("b_U", attr.b_U, BIAS_COLOUR))
        self.parts = [(name, value) for name, value, _ in parts]
        x = np.arange(len(parts) + 1)
        heights = [v for _, v, _ in parts] + [attr.logit]
        brushes = [pg.mkBrush(c) for _, _, c in parts] + [pg.mkBrush("#d62728")]
        plot.addItem(pg.BarGraphItem(x=x, height=heights, width=0.7, brushes=brushes, pen=self.pen("k")))
        plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=self.pen("k")))
        plot.addItem(pg.InfiniteLine(pos=len(parts) - 0.5, angle=90,
                                     pen=self.pen("#555555", style=Qt.PenStyle.DashLine)))
        value_labels = []
        for xi, h in zip(x, heights):
            text = pg.TextItem(self._bar_value(h), color="k", anchor=(0.5, 1.0 if h >= 0 else 0.0))
            text.setFont(qfont(self.font_points))
            text.setPos(float(xi), float(h))
            plot.addItem(text)
            value_labels.append(text)
        names = [name for name, _ in self.parts] + ["= logit"]
        if self.presenting:  # "L0\nH1": projector-sized names side by side overlapped
            names = [n.replace("H", "\nH") if n.startswith("L") else n for n in names]
        title = (f"Contributions to the logit of {target}" if self.presenting  # the heading names the position
                 else f"Contributions to the logit of {target} at position {pos}")
        style_plot(plot, self.font_points, title, None, "logit contribution")
        plot.getAxis("bottom").setTicks([[(float(i), s) for i, s in enumerate(names)]])
        plot.getAxis("bottom").setStyle(hideOverlappingLabels=False)  # "direct" and "= logit" reach the edges
        plot.getAxis("bottom").setHeight(int(3.2 * self.font_points) + 10)  # two-line tick labels
        lo, hi = min(0.0, *heights), max(0.0, *heights)
        pad = 0.15 * (hi - lo or 1.0)
        plot.setYRange(lo - pad, hi + pad, padding=0)
        # room at both ends for the first and last names and the value over the last bar
        plot.setXRange(-0.9, len(parts) + 0.9, padding=0)
        thin_value_labels(plot, value_labels, heights)  # narrow plot: the largest values keep their labels
        total = attr.total
        diff = total - attr.logit
        ok = "✓ parts add up" if abs(diff) <= SUM_TOLERANCE * max(1.0, abs(attr.logit)) else "✗ parts do NOT add up"
        self.sum_label.setText(
            f"<b>Sum check: direct {attr.direct:+.3f} + heads {float(attr.heads.sum()):+.3f} + b_O "
            f"{float(attr.b_O.sum()):+.3f} + b_U {attr.b_U:+.3f} = {total:+.4f}; logit of {target} from the residual "
            f"stream = {attr.logit:+.4f} ({ok}, difference {diff:+.1e}).</b>"
            + ("" if self.presenting else  # the teacher explains it; the projector needs the rows
               f" Each part is u · (its output) with u = W_U[:, {target}]; direct = u · (embed + pos_embed). "
               "No LayerNorm, so the sum is exact.")
        )

    def _bar_value(self, value: float) -> str:
        """The label over a bar: two decimals, or one (and a bare 0) where projector text would overlap."""
        if not self.presenting:
            return f"{value:+.2f}"
        return "0" if abs(value) < 0.05 else f"{value:+.1f}"

    def _draw_ablation(self, results: Results) -> None:
        doc = self.document
        s = doc.scenario
        cfg = s.weights.config
        # one forward pass per head: a slow entry, computed in a worker; a newer edit cancels it
        effects = self.ask("ablation_effects", mode="zero")
        plot = self.loss_plot.getPlotItem()
        plot.clear()
        if isinstance(effects, (Pending, EntryFailed)):
            self.effects = None
            style_plot(plot, self.font_points, f"Zero-ablation: {effects}", "ablated head", "Δ mean loss")
            self.ablation_label.setText(f"Ablation effects: {effects}" if isinstance(effects, EntryFailed) else
                                        "Ablating each head in turn (one forward pass per head): computing…")
            return
        self.effects = effects
        heads = [(l, h) for l in range(cfg.n_layers) for h in range(cfg.n_heads)]
        names = [f"L{l}H{h}" for l, h in heads]
        change = effects.loss_change.reshape(-1)  # [layer * head_index]
        colours = [pg.mkBrush(LAYER_COLOURS[l % len(LAYER_COLOURS)]) for l, _ in heads]
        plot.addItem(pg.BarGraphItem(x=np.arange(len(heads)), height=change, width=0.7, brushes=colours,
                                     pen=self.pen("k")))
        plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=self.pen("k")))
        value_labels = []
        for i, v in enumerate(change):
            text = pg.TextItem(f"{v:+.2f}" if self.presenting else f"{v:+.3f}", color="k", anchor=(0.5, 1.0 if v >= 0 else 0.0))
            text.setFont(qfont(self.font_points))
            text.setPos(float(i), float(v))
            plot.addItem(text)
            value_labels.append(text)
        style_plot(plot, self.font_points,
                   "Zero-ablation: Δ mean loss (nats)" if self.presenting
                   else "Zero-ablate a head: change in mean loss (nats)", "ablated head", "Δ mean loss")
        plot.getAxis("bottom").setTicks([[(float(i), s) for i, s in enumerate(names)]])
        lo, hi = min(0.0, float(change.min())), max(0.0, float(change.max()))
        pad = 0.2 * (hi - lo or 1.0)
        plot.setYRange(lo - pad, hi + pad, padding=0)
        thin_value_labels(plot, value_labels, change)
        plot.setXRange(-0.6, len(heads) - 0.4, padding=0)

        # columns: every head from layer 1 on (the induction-head candidates); rows: every ablated head
        later = [(l, h) for l, h in heads if l >= 1] or heads
        self._induction_cols = later
        m = np.stack([effects.induction_change[:, :, l, h].reshape(-1) for l, h in later], axis=1)  # [ablated, later]
        cols = [f"L{l}H{h}" for l, h in later]
        self.induction.set_data(m, row_labels=names, col_labels=cols, levels=(-1.0, 1.0),
                                what="induction-score changes")
        style_heatmap(self.induction, self.font_points,
                      "Δ induction score" if self.presenting else "Change of each later head's induction score",
                      "head scored", "ablated head")
        sel = doc.selection
        focus = f"L{sel.layer}H{sel.head}"
        lines = [f"Zero ablation sets a head's output z to 0; base mean loss {effects.base_loss:.3f} nats. "
                 f"Induction score variant: {effects.induction_variant}."]
        if sel.layer >= 1:
            col = later.index((sel.layer, sel.head)) if (sel.layer, sel.head) in later else None
            if col is not None:
                worst = int(np.argmin(m[:, col]))
                lines.append(f"Focused head {focus} (induction score {effects.base_induction[sel.layer, sel.head]:.3f}):"
                             f" ablating <b>{names[worst]}</b> changes it most, by <b>{m[worst, col]:+.3f}</b>.")
        self.ablation_label.setText(" ".join(lines))

    # -- interaction -------------------------------------------------------------------------------
    def _on_induction_clicked(self, row: int, col: int) -> None:
        layer, head = divmod(row, self.document.scenario.weights.config.n_heads)
        self.document.set_selection(layer=layer, head=head)

    def matrices(self) -> dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]]:
        out: dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]] = {}
        if self.parts:
            out["logit_attribution"] = (np.array([[v for _, v in self.parts]]), [f"position {self.position}"],
                                        [n.replace("\n", " ") for n, _ in self.parts])
        if self.effects is not None:
            cfg = self.document.scenario.weights.config
            names = [f"L{l}H{h}" for l in range(cfg.n_layers) for h in range(cfg.n_heads)]
            out["ablation_loss_change"] = (self.effects.loss_change.reshape(-1, 1), names, ["Δ mean loss"])
            out["ablation_induction_change"] = (self.induction.data, names,
                                                [f"L{l}H{h}" for l, h in self._induction_cols])
        return out
