"""The focused head's circuits, read from the weights alone.

Attention patterns show *what* a head did on one sequence; circuits show *why*,
for every token at once. The lecture's chain is: a previous-token head's
positional QK circuit puts its attention on i−1 (key-query alignment by
position); its OV circuit moves the previous token into the residual stream;
the induction head's K-composition circuit matches that moved token against
the query's token (a dominant diagonal); and its full OV circuit copies the
attended token into the logits (top-1 accuracy, copying score). One circuit is
shown large at a time (a combo box picks it), because a 13 × 13 token matrix
is only readable on a projector when it fills the screen.

Until the learner picks a circuit, the view shows the one that says most about
what the focused head is (:func:`default_page`): the positional QK of a
previous-token head (its attention to i−1 is positional), the full OV of an
induction or copying head (what it copies; its QK is blank, as its keys work
through K-composition), the QK of a duplicate-token head whose tokens align
by content; otherwise the QK circuit if it is not all zero, else the
positional one. Once the learner (or a lesson) picks a circuit, that choice
stays for every head.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

import pyqtgraph as pg

from ...analysis import Analysis, EntryFailed, Pending, Results
from ...model.appearance import Appearance
from ...model.labels import COPYING_FULL_OV, COPYING_OV, FULL_OV_TOP1, detector_variant
from ..widgets.fitting import ElidingComboBox, FlowRow
from ..widgets.heatmap import Heatmap
from ..widgets.labels import ElidedLabel
from ..widgets.plotting import caption, make_plot, qfont, style_heatmap, style_plot
from ..widgets.style import mark_explanation
from .attention_view import HeadKind, head_kinds
from .base import View

PAGES = (
    "QK circuit: query token × key token",
    "Positional QK: key-query alignment by position",
    "Full OV circuit: source token × output logit",
    "K-composition: previous-token head → this head",
    "OV eigenvalues and copying score",
)
QK_PAGE, POS_PAGE, OV_PAGE, KCOMP_PAGE, EIG_PAGE = range(len(PAGES))
PAGE_KEYS = ("qk", "positional", "ov", "k-composition", "eigenvalues")  # names lesson files use, PAGES order
# (desk, projector) name of the source choice: on a projector the bar must fit 1280 px beside the lesson
SOURCE_TEXT = ("K-composition through:", "through:")
AUTO_SOURCE = -1  # combo data: pick the layer-0 head with the highest previous-token score
COPYING_DEFAULT = 0.5  # a copying score above this makes the full OV the most telling circuit


def default_page(kind: HeadKind, copying: float, qk_blank: bool) -> int:
    """The circuit that says most about a head, by what its detector and copying scores say it is.

    Parameters
    ----------
    kind
        the head's detector scores and the kind they name (the document's exclude_bos).
    copying
        its copying score (Re Σλ / Σ|λ|) of the full OV circuit, or of W_O W_V while that is computed.
    qk_blank
        whether its token QK circuit is all zero (nothing to see there).
    """
    if kind.kind == "previous_token_head":
        return POS_PAGE  # attention to i−1 is set by positions, not tokens
    if kind.kind == "induction_head" or copying > COPYING_DEFAULT:
        return OV_PAGE  # what it copies into the logits; its keys work through K-composition
    if kind.kind == "duplicate_token_head" and not qk_blank:
        return QK_PAGE  # a query attends to keys holding its own token: a bright diagonal
    return POS_PAGE if qk_blank else QK_PAGE


def _page(*widgets: QWidget, horizontal: bool = False) -> QWidget:
    """A stack page holding widgets side by side or stacked."""
    page = QWidget()
    layout = QHBoxLayout(page) if horizontal else QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        layout.addWidget(w, 0 if isinstance(w, QLabel) else 1)
    return page


class CircuitsView(View):
    """QK, positional QK, full OV, K-composition and OV-eigenvalue circuits of the focused head."""

    title = "Circuits"
    tooltip = ("Weight-space circuits of the focused head: QK (key-query alignment), full OV (copying), "
               "K-composition through a previous-token head, and the OV eigenvalues")
    help_text = ("The head's circuits in weight space, independent of any sequence. QK (W_E W_Q W_Kᵀ W_Eᵀ) says "
                 'which query token attends to which key token (key-query alignment); full OV (W_E W_V W_O W_U) '
                 "says which token's logit a head raises when it attends to a token: a copying head has a bright "
                 "diagonal. K-composition shows how much an earlier previous-token head's output feeds this head's "
                 'keys, which is how an induction head finds the token after the earlier occurrence. OV '
                 'eigenvalues with a positive real part indicate copying.')

    def __init__(self, analysis: Analysis, parent: QWidget | None = None, *,
                 appearance: Appearance | None = None) -> None:
        super().__init__(analysis, parent, appearance=appearance)
        self.head_label = ElidedLabel()  # a name: cut with "…" (whole in the tool tip) when the bar is narrow
        self.head_label.setFont(qfont(11.0, bold=True))
        self.circuit_combo = ElidingComboBox(18)  # long names elide; the list shows them whole
        self.circuit_combo.addItems(list(PAGES))
        self.circuit_combo.setToolTip("which circuit of the focused head is shown large")
        self.source_label = QLabel(SOURCE_TEXT[0])
        self.source_combo = ElidingComboBox(8)
        self.source_combo.setToolTip("the earlier head whose OV output the focused head's keys read")
        self.summary = caption()

        # page 0: full QK circuit
        self.qk = Heatmap(signed=True, appearance=self.appearance)
        self.qk_caption = caption()
        # page 1: positional QK and its masked softmax
        self.pos_qk = Heatmap(signed=True, appearance=self.appearance)
        self.pos_attn = Heatmap(signed=False, appearance=self.appearance)
        self.pos_attn.set_value_format(lambda v: f"attention {v:.3f}")
        self.pos_caption = caption()
        # page 2: full OV circuit
        self.ov = Heatmap(signed=True, appearance=self.appearance)
        self.ov_caption = caption()
        # page 3: K-composition
        self.kcomp = Heatmap(signed=True, appearance=self.appearance)
        self.kcomp_caption = caption()
        # page 4: eigenvalues
        self.eig_plots = (make_plot(), make_plot())
        self.eig_captions = (caption(), caption())

        self.stack = QStackedWidget()
        self.stack.addWidget(_page(self.qk, self.qk_caption))
        self.stack.addWidget(_page(_page(self.pos_qk, self.pos_attn, horizontal=True), self.pos_caption))
        self.stack.addWidget(_page(self.ov, self.ov_caption))
        self.stack.addWidget(_page(self.kcomp, self.kcomp_caption))
        self.stack.addWidget(_page(
            _page(self.eig_plots[0], self.eig_captions[0]), _page(self.eig_plots[1], self.eig_captions[1]),
            horizontal=True,
        ))

        # groups that wrap onto a second row when the centre is narrow, instead of widening the window
        bar = FlowRow()
        bar.add(self.head_label)
        bar.add(QLabel("Circuit:"), self.circuit_combo)
        self.source_group = bar.add(self.source_label, self.source_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.stack, 1)

        # prose the teacher says (the summary repeats the full-OV top-1 accuracy)
        mark_explanation(self.ov_caption)  # the QK caption stays: it says why a map is blank
        self.k_source: tuple[int, int] | None = None  # the earlier head used for K-composition
        self.circuit_chosen = False  # the learner (or a lesson) picked a circuit: no more automatic choice
        self._qk_blank = False  # the focused head's token QK circuit is all zero
        self._matrices: dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]] = {}
        self.circuit_combo.currentIndexChanged.connect(self._on_circuit_changed)
        self.circuit_combo.activated.connect(self._on_circuit_chosen)  # by the learner, not by this view
        self.source_combo.activated.connect(self._on_source_changed)

    # -- drawing ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        results = self.analysis.latest_results
        assert results is not None
        sel = self.document.selection
        layer, head = sel.layer, sel.head
        w = self.document.scenario.weights  # only read for sizes and labels; every number comes from the analysis
        self._apply_fonts()
        self.stack.setCurrentIndex(self.circuit_combo.currentIndex())
        name = f"L{layer}H{head}"
        self.head_label.setText(name if self.presenting else f"Focused head: {name}")
        copy_ov = float(self.ask("copying_scores.ov")[layer, head])
        # vocabulary-sized scores of a large model come from a worker: "computing…" until then
        copy_full = self._number("copying_scores.full_ov", layer, head)
        top1 = self._number("ov_top1", layer, head)
        sampled = self.ask("ov_top1_sample")
        top1_of = f" over {sampled}" if sampled else ""
        self.summary.setText(
            f"{name}: copying score (OV, {COPYING_OV.variant}) = <b>{copy_ov:+.3f}</b> · "
            f"copying score (full OV, {COPYING_FULL_OV.variant}) = <b>{_fmt(copy_full, '+.3f')}</b> · "
            f"full-OV top-1 accuracy{top1_of} = <b>{_fmt(top1, '.3f')}</b>"
        )
        self._matrices = {}
        self._draw_qk(w, layer, head, name)
        self._draw_positional(w, results, layer, head, name)
        self._draw_ov(w, layer, head, name, top1)
        self._draw_kcomp(w, results, layer, head, name)
        self._draw_eigenvalues(w, layer, head, name, copy_ov, copy_full)
        if not self.circuit_chosen:
            kinds = head_kinds(results, self.document.exclude_bos)
            if layer < len(kinds) and head < len(kinds[layer]):  # results may lag a model change by a frame
                copying = copy_full if isinstance(copy_full, float) else copy_ov  # full OV still computing: OV
                self.circuit_combo.setCurrentIndex(default_page(kinds[layer][head], copying, self._qk_blank))

    def _number(self, name: str, layer: int, head: int) -> float | str:
        """One head's value of a [layer, head_index] entry, or what the view says while it is computed."""
        value = self.ask(name)
        return str(value) if isinstance(value, (Pending, EntryFailed)) else float(value[layer, head])

    def _subset(self, kind: str, layer: int, head: int, **prev: int) -> tuple[dict, list[str], str]:
        """The entry parameters, axis labels and on-screen note of the tokens a circuit is shown on."""
        vocab = self.document.scenario.vocab
        subset = self.ask("circuit_tokens", kind=kind, layer=layer, head=head, **prev)
        if subset is None:  # a small vocabulary: every token
            return {}, list(vocab), ""
        ids = tuple(int(t) for t in subset.ids)
        return {"tokens": ids}, [vocab[t] for t in ids], f"<br><b>A subset:</b> {subset.describe()}."

    def _apply_fonts(self) -> None:
        pts = self.font_points
        for widget in (self.circuit_combo, self.source_combo, self.source_label, self.summary, self.qk_caption,
                       self.pos_caption, self.ov_caption, self.kcomp_caption, *self.eig_captions):
            widget.setFont(qfont(pts))
        self.head_label.setFont(qfont(pts + 1, bold=True))
        for child in self.findChildren(QLabel):
            if child.font().pointSizeF() < 11:
                child.setFont(qfont(pts))

    def _draw_qk(self, w: object, layer: int, head: int, name: str) -> None:
        subset, vocab, which = self._subset("qk", layer, head)
        m = self.ask("full_qk", layer=layer, head=head, **subset)  # [query_token, key_token]
        self.qk.set_data(m, row_labels=vocab, col_labels=vocab, what="QK circuit values")
        style_heatmap(self.qk, self.font_points, f"{name} QK circuit  W_E W_QK W_Eᵀ", "key token", "query token")
        note = ""
        self._qk_blank = not np.any(np.abs(m) > 1e-9 * max(1.0, float(np.abs(w["embed.W_E"]).max())))
        if self._qk_blank:
            note = (f"<br><b>Every entry is 0:</b> {name}'s queries and keys read different parts of the token "
                    "embedding, so tokens alone set no preference. If it attends by content, the alignment comes "
                    "through composition with an earlier head (see K-composition).")
        self.qk_caption.setText(
            "Content-based key-query alignment: entry (query token, key token) is how strongly a query holding "
            "that token attends to a key holding that token, before scaling by 1/√d_head and before the softmax "
            "(unscaled, biases and positions left out)." + note + which
        )
        self._matrices["qk_circuit"] = (m, vocab, vocab)

    def _draw_positional(self, w: object, results: Results, layer: int, head: int, name: str) -> None:
        n = int(results.tokens.size)
        labels = [str(i) for i in range(n)]
        positional = self.ask("positional", layer=layer, head=head, n_pos=n)
        if isinstance(positional, EntryFailed):  # a rotary model has no positional embedding to analyse
            for heatmap in (self.pos_qk, self.pos_attn):
                heatmap.set_data(np.zeros((1, 1)), row_labels=[""], col_labels=[""], what="positional values")
            style_heatmap(self.pos_qk, self.font_points, "No positional QK circuit", "", "")
            style_heatmap(self.pos_attn, self.font_points, "", "", "")
            self.pos_caption.setText(f"Positional QK circuit of {name}: {positional}.")
            return
        raw, attn, prev = positional  # [query_pos, key_pos] ×2, the stripe score
        self.pos_qk.set_data(raw, row_labels=labels, col_labels=labels, what="positional QK values")
        style_heatmap(self.pos_qk, self.font_points, "W_pos W_QK W_posᵀ (unmasked)", "key position",
                      "query position")
        self.pos_attn.set_data(attn, row_labels=labels, col_labels=labels, levels=(0.0, 1.0),
                               what="attention weights")
        style_heatmap(self.pos_attn, self.font_points, "its causal softmax (÷ √d_head)", "key position",
                      "query position")
        self.pos_caption.setText(
            f"The positional bias of {name} on its own: the pattern it would have if only position embeddings "
            f"mattered. A previous-token head puts ≈ 1 on the sub-diagonal (key = query − 1). "
            f"Attention on the sub-diagonal of this pattern, mean(diag(A, −1)) = <b>{prev:.3f}</b>."
        )
        self._matrices["positional_qk"] = (raw, labels, labels)
        self._matrices["positional_attention"] = (attn, labels, labels)

    def _draw_ov(self, w: object, layer: int, head: int, name: str, top1: float | str) -> None:
        subset, vocab, which = self._subset("ov", layer, head)
        m = self.ask("full_ov", layer=layer, head=head, **subset)  # [source_token, output_token]
        if isinstance(m, EntryFailed):  # outputs that are not tokens: no token-to-token OV circuit
            self.ov.set_data(np.zeros((1, 1)), row_labels=[""], col_labels=[""], what="OV circuit values")
            style_heatmap(self.ov, self.font_points, f"{name}: no full OV circuit", "", "")
            self.ov_caption.setText(f"Full OV circuit of {name}: {m}.")
            return
        self.ov.set_data(m, row_labels=vocab, col_labels=vocab, what="OV circuit values")
        style_heatmap(self.ov, self.font_points, f"{name} full OV circuit  W_E W_OV W_U", "output logit of token",
                      "attended (source) token")
        self.ov_caption.setText(
            f"What {name} writes to the logits when it attends to a token: a copying head has a dominant diagonal. "
            f"Full-OV top-1 accuracy = <b>{_fmt(top1, '.3f')}</b> ({FULL_OV_TOP1.variant}: the fraction of source "
            "tokens whose own logit is the largest)." + which
        )
        self._matrices["full_ov_circuit"] = (m, vocab, vocab)

    def _fill_sources(self, layer: int) -> None:
        """Offer the heads of earlier layers; keep the learner's choice if it still exists."""
        cfg = self.document.scenario.weights.config
        keep = self.source_combo.currentData()
        self.source_combo.blockSignals(True)
        self.source_combo.clear()
        self.source_combo.addItem("auto (highest previous-token score in layer 0)", AUTO_SOURCE)
        for lp in range(layer):
            for hp in range(cfg.n_heads):
                self.source_combo.addItem(f"L{lp}H{hp}", lp * cfg.n_heads + hp)
        index = self.source_combo.findData(keep)
        self.source_combo.setCurrentIndex(max(index, 0))
        self.source_combo.blockSignals(False)

    def _draw_kcomp(self, w: object, results: Results, layer: int, head: int, name: str) -> None:
        cfg = w.config
        self._fill_sources(layer)
        usable = layer >= 1
        self.source_combo.setEnabled(usable)
        self.source_label.setEnabled(usable)
        if not usable:
            self.k_source = None
            self.kcomp.set_data(np.zeros((1, 1)), row_labels=[""], col_labels=[""], what="K-composition values")
            style_heatmap(self.kcomp, self.font_points, f"{name} is in layer 0: no earlier head to compose with",
                          "", "")
            self.kcomp_caption.setText(
                "K-composition needs a head in layer 1 or later: focus an induction-head candidate (e.g. L1H0) "
                "to see how its keys read the output of a layer-0 previous-token head."
            )
            return
        data = self.source_combo.currentData()
        excl = self.document.exclude_bos  # the window's one setting, as the Metrics table and heads grid
        prev_scores = self.ask("detector", pattern="previous_token_head", measure="mul",
                               exclude_bos=excl)  # [layer, head_index]
        if data == AUTO_SOURCE:
            hp = int(np.nanargmax(prev_scores[0])) if np.isfinite(prev_scores[0]).any() else 0
            source = (0, hp)
            why = (f"chosen automatically: highest previous-token score in layer 0, "
                   f"{float(prev_scores[0, hp]):.3f} ({detector_variant('previous_token_head', 'mul', excl)})")
        else:
            source = divmod(int(data), cfg.n_heads)
            why = "chosen by hand"
        self.k_source = (int(source[0]), int(source[1]))
        subset, vocab, which = self._subset("k_composition", layer, head, prev_layer=self.k_source[0],
                                            prev_head=self.k_source[1])
        m = self.ask("k_composition", prev_layer=self.k_source[0], prev_head=self.k_source[1], layer=layer,
                     head=head, **subset)  # [query_token, prev_token_of_key]
        src = f"L{source[0]}H{source[1]}"
        self.kcomp.set_data(m, row_labels=vocab, col_labels=vocab, what="K-composition values")
        style_heatmap(self.kcomp, self.font_points, f"K-composition  {src} → {name}",
                      f"token before the key (moved by {src})", "query token")
        on_diag = int((m.argmax(axis=1) == np.arange(m.shape[0])).sum())
        self.kcomp_caption.setText(
            f"Q = W_E W_Q<sup>{name}</sup>, K = W_E W_V<sup>{src}</sup> W_O<sup>{src}</sup> W_K<sup>{name}</sup>, "
            f"shown Q Kᵀ (unscaled, no biases). {src} is {why}. An induction head attends to a key whose previous "
            f"token equals the query's token, so the diagonal should dominate: the diagonal is the row maximum in "
            f"<b>{on_diag} of {m.shape[0]}</b> rows." + which
        )
        self._matrices["k_composition"] = (m, vocab, vocab)

    def _draw_eigenvalues(self, w: object, layer: int, head: int, name: str,
                          copy_ov: float, copy_full: float | str) -> None:
        for k, (full, score, variant, what) in enumerate((
            (False, copy_ov, COPYING_OV.variant, "OV circuit W_O W_V"),
            (True, copy_full, COPYING_FULL_OV.variant, "full OV circuit W_O W_U W_E W_V"),
        )):
            lam = self.ask("ov_eigenvalues", layer=layer, head=head, full=full)  # [d_head] complex
            plot = self.eig_plots[k].getPlotItem()
            plot.clear()
            if isinstance(lam, (Pending, EntryFailed)):  # a large vocabulary's full OV: from a worker
                self.eig_captions[k].setText(f"<b>Eigenvalues of the {what}:</b> {lam}")
                continue
            largest = float(np.abs(lam).max()) if lam.size and np.isfinite(lam).all() else 0.0
            r = largest or 1.0  # plot scale; an all-zero spectrum still gets a unit frame
            plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=self.pen("#888888")))
            plot.addItem(pg.InfiniteLine(pos=0, angle=90, pen=self.pen("#888888")))
            theta = np.linspace(0, 2 * np.pi, 200)
            plot.plot(r * np.cos(theta), r * np.sin(theta), pen=self.pen("#bbbbbb", style=Qt.PenStyle.DashLine))
            plot.addItem(pg.ScatterPlotItem(x=lam.real, y=lam.imag, size=12, brush=pg.mkBrush("#1f77b4"),
                                            pen=self.pen("k")))
            plot.setAspectLocked(True)
            plot.setRange(xRange=(-1.15 * r, 1.15 * r), yRange=(-1.15 * r, 1.15 * r), padding=0)
            style_plot(plot, self.font_points, f"{name} eigenvalues of the {what.split(' W_')[0]}",
                       "real part", "imaginary part")
            zero = ("<br>All eigenvalues are 0: this map sends nothing back to where it came from, so the "
                    "score is 0 by definition.") if largest == 0.0 else ""
            self.eig_captions[k].setText(
                f"<b>Copying score ({'full OV' if full else 'OV'}) = {_fmt(score, '+.3f')}</b><br>"
                f"Re(Σλ) / Σ|λ| over the {variant}; +1 = pure copying, −1 = anti-copying. "
                f"Dashed circle: largest |λ| = {largest:.3g}.{zero}"
            )
            self._matrices[f"eigenvalues_{'full_ov' if full else 'ov'}"] = (
                np.stack([lam.real, lam.imag], axis=1), None, ["real", "imaginary"])

    def apply_presentation(self, on: bool) -> None:
        """Shorter names in the bar above the circuit, so it fits beside the lesson on a projector."""
        self.source_label.setText(SOURCE_TEXT[on])

    # -- interaction ----------------------------------------------------------------------------
    def _on_circuit_changed(self, index: int) -> None:
        self.stack.setCurrentIndex(index)

    def _on_circuit_chosen(self, index: int) -> None:
        """The learner picked a circuit in the combo box: keep it for every head from now on."""
        self.circuit_chosen = True

    def _on_source_changed(self, index: int) -> None:
        self.update_if_visible()

    def show_circuit(self, index: int) -> None:
        """Show one of :data:`PAGES` large (menus, lessons and tests): an explicit choice, kept from now on."""
        self.circuit_chosen = True
        self.circuit_combo.setCurrentIndex(index)

    def matrices(self) -> dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]]:
        return dict(self._matrices)


def _fmt(value: float | str, spec: str) -> str:
    """A number in ``spec``, or the "computing…" text standing in for it."""
    return value if isinstance(value, str) else format(value, spec)
