"""Counting: what the model predicts at one position of a Markov-chain sequence, beside what counting gives.

A statistical induction head predicts the next state of an in-context Markov
chain by counting the transitions out of the current state seen so far. At the
focused (or hovered) position this view draws, for every possible next state,
three bars: the model's probability, the in-context unigram estimate and the
in-context bigram estimate, with the counts each estimate comes from written
under the plot; beside them, the true transition matrix of the chain and the
bigram estimate of every row from the transitions counted up to that position.
Every number comes from the analysis's ``markov_counting`` entry; a sequence
that is not over the chain's states gets that entry's refusal, in words.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QSplitter, QVBoxLayout, QWidget

import pyqtgraph as pg

from ...analysis import Analysis, EntryFailed, Pending
from ...analysis.analysis import NotDefinedHere
from ...analysis.entries.markov import DEFAULT_ALPHA, Counting, CountingAt, chain_param
from ...model.appearance import Appearance
from ...model.events import Change, SettingsChanged
from ...model.markov_chain import VIEW_KEY, stored_chain
from ..widgets.plotting import caption, make_plot, qfont, style_plot, thin_value_labels
from ..widgets.style import mark_explanation
from .base import View
from .markov_matrices import TransitionMap
from .markov_strip import SequenceStrip

# Okabe–Ito, as the training curves: distinguishable with colour-blindness and on a washed-out projector
SERIES = (("model", "#0072B2"), ("unigram", "#E69F00"), ("bigram", "#009E73"))
ACTUAL_BAND = (120, 120, 120, 60)  # behind the actual next state's bars: grey, see-through
ACTUAL_KEY = "#C8C8C8"  # the band's colour on the window's background, for the key
ALPHA_RANGE = (0.05, 20.0)  # the Markov editor's range for a random chain's α
BAR_WIDTH = 0.26  # of one state's slot; three bars side by side leave a gap between states
WORDY_STATES = 4  # up to this many states each count is a sentence ("A→B: 5 of 12 times after A")
HEADROOM = 1.18  # the y range above 1: room for the value labels over a bar at 1


class MarkovView(View):
    """The model's next-state distribution against the in-context unigram and bigram estimates, with the counts."""

    title = "Counting"
    follows_hover = True
    tooltip = ("Statistical induction: at the focused position of a Markov-chain sequence, the model's next-state "
               "probabilities beside the in-context unigram and bigram estimates and the counts they come from, "
               "with the true transition matrix and the bigram estimate of every row.")
    help_text = (
        "Counting: a model trained on in-context Markov chains cannot know the chain in advance; it can only "
        "count. At the focused position (hover a cell of the sequence strip under the heading, click it or a token "
        "in the sequence panel to focus it) "
        "three bars per possible next state compare the model's probability with two counting strategies: the "
        "in-context unigram estimate (c_j + α) / (n + kα), from how often each state occurred among the n tokens "
        "so far, and the in-context bigram estimate (c_i→j + α) / (c_i + kα), from how often the current state i "
        "was followed by j: the Bayes-optimal prediction under a Dirichlet(α) prior. The counts are written under "
        "the bars. Right: the chain the sequence was drawn from (edit it in the sequence panel's \"Markov chain\" "
        "generator) and the bigram estimate of every row from the transitions counted so far; rows are the "
        "current state, columns the next. A model that has formed a statistical induction head follows the "
        "bigram bars; one in the earlier phase follows the unigram bars."
    )

    def __init__(self, analysis: Analysis, parent: QWidget | None = None, *,
                 appearance: Appearance | None = None) -> None:
        super().__init__(analysis, parent, appearance=appearance)
        self.counting: Counting | None = None  # what is drawn (None: a refusal or nothing yet)
        self.shown: CountingAt | None = None  # the position drawn
        self.message = ""  # the refusal or waiting sentence shown instead of the plots
        self.strip_hover: int | None = None  # the position under the pointer on the view's own sequence strip

        self.heading = caption(bold=True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.heading.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)  # a refusal reads from the top
        self.key = caption()
        self.key.setTextFormat(Qt.TextFormat.RichText)
        self._write_key(presenting=False)
        # the prior of both estimates: the learner's to vary here (not saved); the training chains' is α = 1
        self.alpha_spin = QDoubleSpinBox()
        self.alpha_spin.setRange(ALPHA_RANGE[0], ALPHA_RANGE[1])
        self.alpha_spin.setDecimals(2)
        self.alpha_spin.setSingleStep(0.1)
        self.alpha_spin.setValue(DEFAULT_ALPHA)
        self.alpha_spin.setPrefix("prior α = ")
        self.alpha_spin.setToolTip("The Dirichlet prior α of the unigram and bigram estimates: α pseudo-counts are "
                                   "added to every count. The training chains are drawn with α = 1, for which the "
                                   "bigram estimate is the Bayes-optimal prediction.")
        self.alpha_spin.valueChanged.connect(lambda _=0.0: self.update_if_visible())
        self.bars = make_plot()
        self.counts = caption()
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.summary = caption()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.formulas = caption()
        mark_explanation(self.formulas)
        self.strip = SequenceStrip()
        self.strip.hovered.connect(self._on_strip_hovered)
        self.strip.clicked.connect(lambda pos: self.document.set_selection(query_pos=pos))
        self.true_map = TransitionMap(appearance=self.appearance)
        self.estimate_map = TransitionMap(appearance=self.appearance)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(2)
        key_row = QHBoxLayout()
        key_row.setContentsMargins(0, 0, 0, 0)
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.alpha_spin)
        left_layout.addLayout(key_row)
        left_layout.addWidget(self.bars, 1)
        left_layout.addWidget(self.counts)
        right = QSplitter(Qt.Orientation.Vertical)
        right.setChildrenCollapsible(False)
        right.addWidget(self.true_map)
        right.addWidget(self.estimate_map)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.heading)
        layout.addWidget(self.strip)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.formulas)
        self.setToolTip(self.tooltip)

    # -- what to draw --------------------------------------------------------------------------------
    @property
    def alpha(self) -> float:
        """The prior α of both estimates (1 unless the learner changes it: the training chains' Dirichlet(1))."""
        return float(self.alpha_spin.value())

    def _on_scenario_setting_changed(self, change: Change) -> None:
        """The chain was edited (or another view setting every view reads): redraw with it."""
        if isinstance(change, SettingsChanged) and change.key == VIEW_KEY:
            self.update_if_visible()
        else:
            super()._on_scenario_setting_changed(change)

    def _on_strip_hovered(self, pos: int) -> None:
        self.strip_hover = None if pos < 0 else pos
        self.update_if_visible()

    def position(self) -> int:
        """The position to draw: hovered on the strip, else hovered in the pattern, else the focused one."""
        results = self.analysis.latest_results
        assert results is not None
        focused = self.focus(results).query_pos
        if self.strip_hover is not None and 0 <= self.strip_hover < results.tokens.size:
            return self.strip_hover
        cell = self._hover.cell if self._hover is not None else None
        if cell is not None and 0 <= cell.query_pos < results.tokens.size:
            return cell.query_pos
        return focused

    # -- drawing -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        chain = chain_param(stored_chain(self.document.scenario.view))
        value = self.ask("markov_counting", chain=chain, alpha=self.alpha)
        if isinstance(value, NotDefinedHere):  # the entry's refusal, in its words
            self._show_message(f"Nothing to count here: {value.message}")
            return
        if isinstance(value, (Pending, EntryFailed)):  # a large model's logits on their way, or a failure
            self._show_message(f"Counting: {value}")
            return
        counting: Counting = value
        position = self.position()
        at = counting.at(position)
        note = ""
        if at is None:  # the leading start token: it is not a state, and nothing precedes it
            at = counting.at(counting.offset)
            note = (f" (position {position} is the start token, not a state: showing position {counting.offset}, "
                    "the first state)")
        assert at is not None
        self.counting, self.shown, self.message = counting, at, ""
        self.splitter.show()
        self.summary.show()
        self.strip.show()
        self.strip.set_font_size(self.font_points)
        self.strip.set_sequence([None] * counting.offset + [int(s) for s in counting.states], counting.names,
                                self.focus(self.analysis.latest_results).query_pos)
        self._draw_heading(counting, at, note)
        self._draw_bars(counting, at)
        self._draw_counts(counting, at)
        self._draw_matrices(counting, at)
        self._draw_summary(counting)

    def _show_message(self, message: str) -> None:
        """No numbers to draw: say why in the heading, and hide the plots."""
        self.counting, self.shown, self.message = None, None, message
        self.heading.setText(html.escape(message))
        self.heading.setFont(qfont(self.font_points, bold=True))
        self.splitter.hide()
        self.summary.hide()
        self.strip.hide()
        self.formulas.setText("")

    def _names(self, counting: Counting) -> list[str]:
        return [html.escape(n) for n in counting.names]

    def _draw_heading(self, counting: Counting, at: CountingAt, note: str) -> None:
        names = self._names(counting)
        nxt = f"; the actual next state is <b>{names[at.next_state]}</b>" if at.next_state is not None else \
            "; it is the last position (no next state in the sequence)"
        self.heading.setText(f"Position {at.position}: current state <b>{names[at.current]}</b>, "
                             f"{at.seen} tokens of the chain so far{nxt}{html.escape(note)}")
        self.heading.setFont(qfont(self.heading_points))

    def _draw_bars(self, counting: Counting, at: CountingAt) -> None:
        plot = self.bars.getPlotItem()
        plot.clear()
        k = counting.k
        x = np.arange(k, dtype=np.float64)  # [k] one slot per next state
        labels, values = [], []
        for s, ((name, colour), probs) in enumerate(zip(SERIES, (at.model, at.unigram, at.bigram))):
            centre = x + (s - 1) * BAR_WIDTH  # [k]
            plot.addItem(pg.BarGraphItem(x=centre, height=probs, width=BAR_WIDTH * 0.92, brush=pg.mkBrush(colour),
                                         pen=self.pen("k", 0.6), name=name))
            for xi, p in zip(centre, probs):
                text = pg.TextItem(f"{p:.2f}", color="k", anchor=(0.5, 1.0))
                text.setFont(qfont(self.font_points - 1))
                text.setPos(float(xi), float(p))
                text.setZValue(5)  # over the next series' bars, which are added after it
                plot.addItem(text)
                labels.append(text)
                values.append(float(p))
        names = list(counting.names)
        wordy = k <= WORDY_STATES and not self.presenting  # eight "→ A" labels overlap on a narrow plot
        ticks = [(float(j), f"→ {names[j]}" if wordy else names[j]) for j in range(k)]
        if at.next_state is not None:  # the state that does come next: a grey band behind its bars
            band = pg.LinearRegionItem(values=(at.next_state - 0.48, at.next_state + 0.48), movable=False,
                                       brush=pg.mkBrush(ACTUAL_BAND), pen=pg.mkPen(None))
            band.setZValue(-10)
            plot.addItem(band)
        # on a projector the key and the heading say what the bars are: the rows go to the bars
        style_plot(plot, self.font_points, None if self.presenting else
                   f"P(next state): model vs counting (α = {counting.alpha:g})", None, "probability")
        if self.presenting:
            plot.setTitle(None)
        plot.getAxis("bottom").setTicks([ticks])
        plot.getAxis("bottom").setStyle(hideOverlappingLabels=False)  # "→ A" reaches the plot's left edge
        plot.setXRange(-0.9, k - 0.1, padding=0)  # room for the value labels over the outer bars
        plot.setYRange(0.0, HEADROOM, padding=0)
        thin_value_labels(plot, labels, values)

    def _draw_counts(self, counting: Counting, at: CountingAt) -> None:
        names = self._names(counting)
        i = names[at.current]
        c_i, n = at.out_of_current, at.seen
        if counting.k <= WORDY_STATES and not self.presenting:  # "A→B: 5 of 12 times after A"
            bigram = " · ".join(f"{i}→{names[j]}: {int(at.bigram_counts[j])} of {c_i} times after {i}"
                                for j in range(counting.k))
            unigram = " · ".join(f"{names[j]}: {int(at.unigram_counts[j])} of {n} tokens" for j in range(counting.k))
        else:  # many states: the same counts, the common "of" said once
            bigram = " · ".join(f"{i}→{names[j]}: {int(at.bigram_counts[j])}" for j in range(counting.k))
            bigram += f" (of {c_i} times after {i})"
            unigram = " · ".join(f"{names[j]}: {int(at.unigram_counts[j])}" for j in range(counting.k))
            unigram += f" (of {n} tokens)"
        if self.presenting:
            other = (f"<br><b>Model</b>: {at.other_mass:.3f} on other tokens" if counting.d_vocab > counting.k
                     else "")
        elif counting.d_vocab > counting.k:
            other = (f"<br><b>Model</b>: softmax over all {counting.d_vocab} tokens, not renormalised: "
                     f"{at.other_mass:.4f} of it is on the {counting.d_vocab - counting.k} tokens that are not states.")
        else:
            other = "<br><b>Model</b>: softmax over its vocabulary, the k states themselves."
        if self.presenting:
            self.counts.setText(f"<b>Bigram counts</b> {bigram}<br><b>Unigram counts</b> {unigram}{other}")
        else:
            self.counts.setText(f"<b>Bigram counts</b> (transitions out of {i} so far): {bigram}<br>"
                                f"<b>Unigram counts</b> (the {n} tokens so far): {unigram}{other}")
        self.counts.setFont(qfont(self.font_points))

    def _draw_matrices(self, counting: Counting, at: CountingAt) -> None:
        names = list(counting.names)
        chain, estimate, counts = counting.chain, at.bigram_matrix, at.transition_counts
        a, k = counting.alpha, counting.k

        def true_cell(i: int, j: int) -> str:
            return f"{chain[i, j]:.2f}"

        def describe_true(i: int, j: int) -> str:
            return f"P(next = {names[j]} | current = {names[i]}) = {chain[i, j]:.4f} (the chain the sequence is from)"

        def estimate_cell(i: int, j: int) -> str:
            return f"{estimate[i, j]:.2f}"

        def describe_estimate(i: int, j: int) -> str:
            row = int(counts[i].sum())
            return (f"{names[i]}→{names[j]}: ({int(counts[i, j])} + {a:g}) / ({row} + {k}·{a:g}) = "
                    f"{estimate[i, j]:.4f}  ({int(counts[i, j])} of {row} transitions out of {names[i]} so far)")

        self.true_map.show_matrix(chain, names, "True chain" if self.presenting else "True transition matrix",
                                  self.font_points, true_cell, describe_true)
        self.estimate_map.show_matrix(
            estimate, names,
            f"Bigram estimate (to {at.position})" if self.presenting else
            f"In-context bigram estimate (up to position {at.position}, α = {a:g})",
            self.font_points, estimate_cell, describe_estimate)
        for heatmap in (self.true_map, self.estimate_map):
            heatmap.highlight_row(at.current)  # the row the bigram bars read
            heatmap.set_hint("rows: current, columns: next state")

    def _draw_summary(self, counting: Counting) -> None:
        kl = counting.kl
        if kl and self.presenting:
            self.summary.setText(f"KL(unigram ‖ model) {kl['unigram']:.3f} · KL(bigram ‖ model) {kl['bigram']:.3f} "
                                 f"nats; nearest: <b>{counting.nearest}</b>")
        elif kl:
            self.summary.setText(
                f"Over the whole sequence (mean over chain positions ≥ 1, as the training curves; α = {counting.alpha:g}): "
                f"<b>KL(unigram ‖ model) = {kl['unigram']:.3f}</b>, <b>KL(bigram ‖ model) = {kl['bigram']:.3f}</b> "
                f"nats (uniform {kl['uniform']:.3f}); nearest: <b>{counting.nearest}</b>.")
        else:
            self.summary.setText("KL over the sequence: needs at least two states after any start token.")
        self.summary.setFont(qfont(self.font_points))
        k, a = counting.k, counting.alpha
        self.formulas.setText(
            f"At position t (chain position; n = tokens so far, the current one included): unigram = (c_j + α) / "
            f"(n + kα), bigram = (c_i→j + α) / (c_i + kα) with i the current state and c_i the transitions out of i "
            f"so far; α = {a:g}, k = {k}. The chain is the scenario's (the \"Markov chain\" generator's matrix).")
        self.formulas.setFont(qfont(self.font_points))

    def _write_key(self, presenting: bool) -> None:
        """The colours of the bars and of the actual next state's band (shorter on a projector)."""
        self.key.setText("  ".join(f'<span style="color:{c}; font-size:large">■</span> {name}' for name, c in SERIES)
                         + f'  <span style="color:{ACTUAL_KEY}; font-size:large">■</span> '
                         + ("next" if presenting else "actual next"))

    def apply_presentation(self, on: bool) -> None:
        """On a projector the maps' read-out lines go (their numbers are in the cells or the tool tip)."""
        self._write_key(on)
        for heatmap in (self.true_map, self.estimate_map):
            heatmap.readout.setVisible(not on)

    def matrices(self) -> dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]]:
        if self.counting is None or self.shown is None:
            return {}
        names = list(self.counting.names)
        at = self.shown
        return {
            "true_transition_matrix": (self.counting.chain, names, names),
            "bigram_estimate": (at.bigram_matrix, names, names),
            "transition_counts": (at.transition_counts.astype(np.float64), names, names),
            "next_state_probabilities": (np.stack([at.model, at.unigram, at.bigram]),
                                         [name for name, _ in SERIES], names),
        }
