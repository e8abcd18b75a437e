"""The attention pattern of the focused head, named by what its detector scores say it is.

The lecture's first question about a head is "where does each query look?".
This view answers it for the head the learner focused: a big query × key
heatmap with token labels, a title that names the head and, when a detector
score passes the threshold, the kind of head it looks like (previous-token,
duplicate-token, induction), and under it the focused query's weights as bars
lined up with the key columns. With a pinned baseline it shows what an edit
changed (current − pinned) on a diverging map.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

import pyqtgraph as pg

from ...analysis import Analysis, Results
from ...model.appearance import Appearance
from ..widgets.heatmap import TEXT_COLOR, Heatmap
from ..widgets.plot_text import free_width
from ..widgets.labels import plain_label, set_label_points, show_warnings, warning_label
from ..widgets.style import line_width, mark_explanation
from .base import View

# -- what kind of head is it? (shared with the heads grid) --------------------------------------

KIND_THRESHOLD = 0.5  # a detector score above this names the head; the lecture's rule of thumb
KIND_MEASURE = "mul"  # the detector variant every label in these views quotes


def kind_variant(exclude_bos: bool) -> str:
    """The variant printed beside every score so a number is never bare (the document's one exclude_bos)."""
    return f"{KIND_MEASURE}, exclude_bos" if exclude_bos else f"{KIND_MEASURE}, BOS included"


# detector name -> (the lecture's name, short name for thumbnails)
DETECTOR_NAMES: dict[str, tuple[str, str]] = {
    "previous_token_head": ("previous-token head", "prev"),
    "duplicate_token_head": ("duplicate-token head", "dup"),
    "induction_head": ("induction head", "ind"),
}


@dataclass(frozen=True)
class HeadKind:
    """Detector scores of one head and, if one passes the threshold, the kind it looks like."""

    layer: int
    head: int
    scores: dict[str, float]  # detector name -> score (NaN when undefined on this sequence)
    kind: str | None  # detector name of the best score above KIND_THRESHOLD, else None
    variant: str = kind_variant(True)  # the detector variant of ``scores``

    @property
    def name(self) -> str:
        return f"L{self.layer}H{self.head}"

    @property
    def kind_label(self) -> str | None:
        """``"induction head"`` or None."""
        return DETECTOR_NAMES[self.kind][0] if self.kind else None

    def scores_text(self, *, short: bool = False) -> str:
        """``"previous-token 0.98 · duplicate-token 0.00 · induction 0.01"`` (or the short names)."""
        parts = []
        for key, (long_name, short_name) in DETECTOR_NAMES.items():
            label = short_name if short else long_name.removesuffix(" head")
            parts.append(f"{label} {format_score(self.scores[key])}")
        return " · ".join(parts)

    def sentence(self) -> str:
        """What the scores say, in one sentence with the variant named."""
        if self.kind is not None:
            return (f"{self.name} looks like a{'n' if self.kind_label[0] in 'aeiou' else ''} {self.kind_label} "
                    f"(score {format_score(self.scores[self.kind])}, {self.variant}).")
        return (f"{self.name} does not look like a previous-token, duplicate-token or induction head "
                f"on this sequence (no detector score above {KIND_THRESHOLD:g}).")


def format_score(value: float) -> str:
    """Two decimals, or "n/a" where the detector is undefined (no attention left after excluding BOS)."""
    return f"{value:.2f}" if np.isfinite(value) else "n/a"


def head_kinds(results: Results, exclude_bos: bool) -> list[list[HeadKind]]:
    """[layer][head] detector scores of every head, from the results' (cached) scores.

    ``exclude_bos`` is the document's one setting (:attr:`Document.exclude_bos`),
    so the kinds named here and the Metrics table's scores agree.
    """
    scores = {key: results.score(key, KIND_MEASURE, exclude_bos) for key in DETECTOR_NAMES}  # [layer, head]
    variant = kind_variant(exclude_bos)
    n_layers, n_heads = next(iter(scores.values())).shape
    kinds = []
    for layer in range(n_layers):
        row = []
        for head in range(n_heads):
            s = {key: float(a[layer, head]) for key, a in scores.items()}
            passing = {k: v for k, v in s.items() if np.isfinite(v) and v > KIND_THRESHOLD}
            row.append(HeadKind(layer, head, s, max(passing, key=passing.__getitem__) if passing else None, variant))
        kinds.append(row)
    return kinds


# -- the focused row as bars, lined up with the heatmap's key columns ------------------------------


class _RowProfile:
    """Bars of the focused query's weights, drawn inside the heatmap's plot so bar k sits under key k.

    Living in the same grid layout as the heatmap's view box (rows below its
    bottom axis) makes the columns line up at every window size, with no
    pixel arithmetic.
    """

    HEIGHT = 150  # px: tall enough to read 0.5 against 1.0 on a projector
    PRESENTATION_HEIGHT = 80  # px: at 720 rows the pattern itself needs the height; 0.5 vs 1 still reads
    CAPTION_HEIGHT = 34  # px: one line of caption at projector size
    FLOOR_HEIGHT = 4  # px: the zero line under the bars

    def __init__(self, heatmap: Heatmap) -> None:
        plot = heatmap.plot
        layout = plot.layout
        self.vb = pg.ViewBox(enableMouse=False, enableMenu=False)
        self.vb.setMouseEnabled(x=False, y=False)
        self.vb.setXLink(plot.vb)
        self.vb.setYRange(0.0, 1.0, padding=0.02)
        self.axis = pg.AxisItem("left", linkView=self.vb, parent=plot)
        self.axis.setTextPen(TEXT_COLOR)
        self.axis.setPen(TEXT_COLOR)
        self.axis.setLabel("weight")
        self.axis.setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")]])
        self.floor = pg.AxisItem("bottom", linkView=self.vb, parent=plot)  # a zero line; keys are labelled above
        self.floor.setPen(TEXT_COLOR)
        self.floor.setStyle(showValues=False, tickLength=0)
        self.floor.setHeight(self.FLOOR_HEIGHT)
        self.caption = free_width(pg.LabelItem("", color=TEXT_COLOR, size="11pt", parent=plot))
        self._caption_text = ""
        layout.addItem(self.caption, 4, 1)
        layout.addItem(self.axis, 5, 0)
        layout.addItem(self.vb, 5, 1)
        layout.addItem(self.floor, 6, 1)
        layout.setAlignment(self.axis, Qt.AlignmentFlag.AlignRight)
        layout.setRowFixedHeight(4, self.CAPTION_HEIGHT)
        layout.setRowFixedHeight(5, self.HEIGHT)
        layout.setRowFixedHeight(6, self.FLOOR_HEIGHT)
        self._layout = layout
        self.baseline = pg.BarGraphItem(x=[0.5], height=[0.0], width=0.8, brush=None,
                                        pen=pg.mkPen("#444444", width=2, style=Qt.PenStyle.DashLine))
        self.bars = pg.BarGraphItem(x=[0.5], height=[0.0], width=0.6, brush="#1f77b4", pen=None)
        self.vb.addItem(self.bars)
        self.vb.addItem(self.baseline)
        self.baseline.hide()

    def set_weights(self, weights: np.ndarray, pinned: np.ndarray | None, caption: str) -> None:
        """``weights`` [key_pos] of the focused row; ``pinned`` [key_pos] drawn as dashed outlines."""
        x = np.arange(weights.size) + 0.5  # [key_pos] cell centres
        self.bars.setOpts(x=x, height=np.nan_to_num(weights), width=0.6)
        if pinned is None:
            self.baseline.hide()
        else:
            self.baseline.setOpts(x=x, height=np.nan_to_num(pinned), width=0.8)
            self.baseline.show()
        if caption != self._caption_text:  # re-laying out the same caption would cost a layout pass
            self._caption_text = caption
            self.caption.setText(html.escape(caption))  # LabelItem renders HTML; token labels may hold "<s>"

    def set_font_size(self, points: float) -> None:
        font = QFont()
        font.setPointSizeF(points)
        self.axis.setTickFont(font)
        self.axis.label.setFont(font)
        self.caption.setText(self.caption.text, color=TEXT_COLOR, size=f"{points:g}pt")
        self.baseline.setOpts(pen=pg.mkPen("#444444", width=line_width(2, points), style=Qt.PenStyle.DashLine))

    def set_height(self, height: int) -> None:
        """Height of the bars in pixels; 0 takes the profile (caption, bars, axes) out of the layout."""
        shown = height > 0
        for item in (self.caption, self.axis, self.vb, self.floor):
            item.setVisible(shown)
        self._layout.setRowFixedHeight(4, self.CAPTION_HEIGHT if shown else 0)
        self._layout.setRowFixedHeight(5, height)
        self._layout.setRowFixedHeight(6, self.FLOOR_HEIGHT if shown else 0)


# (desk, projector) axis labels (key, query): a projector's short heatmap cut the long query label
AXIS_LABELS = (("key position (token attended to)", "query position (token attending)"),
               ("key position (attended to)", "query position"))
PROFILE_MIN_VIEW_HEIGHT = 480  # px: below this the projector layout drops the row profile for the pattern
# px, at the desk (smaller text): below the first no profile, below the second a short one
DESK_PROFILE_MIN_VIEW_HEIGHT, DESK_FULL_PROFILE_VIEW_HEIGHT = 380, 540

# -- the view ------------------------------------------------------------------------------------------


class AttentionView(View):
    """The focused head's attention pattern: query positions as rows, key positions as columns."""

    title = "Attention pattern"
    tooltip = ("Where each query position of the focused head looks: row = query (the token attending), "
               "column = key (the token attended to), colour = attention weight.")
    help_text = ('The attention pattern A of the focused head. Each row is a query position (the token that is '
                 'looking), each column a key position (a token it can look at); the colour is the attention '
                 'weight, and every row sums to 1. Causal masking leaves everything above the diagonal empty: a '
                 'token sees only itself and earlier tokens. A previous-token head lights up the diagonal just '
                 'below the main one; an induction head, on a repeated sequence, lights up the diagonal one step '
                 'after the earlier copy of the current token (query i attends to the key after the earlier '
                 'occurrence of token i).')

    def __init__(self, analysis: Analysis, parent: QWidget | None = None, *,
                 appearance: Appearance | None = None) -> None:
        super().__init__(analysis, parent, appearance=appearance)
        self._labels: list[str] = []
        self._pattern = np.zeros((1, 1), dtype=np.float32)  # [query_pos, key_pos] current
        self._pinned: np.ndarray | None = None  # [query_pos, key_pos] pinned, when comparing
        self._applied: tuple[str, float, bool] | None = None  # colour map, font, layout last given

        self.heading = plain_label()
        self.kind = plain_label()
        self.compare_note = plain_label()
        self.compare_note.setStyleSheet("color: #8a4b00;")
        self.warnings = warning_label()
        self.heatmap = Heatmap(x_label=AXIS_LABELS[0][0], y_label=AXIS_LABELS[0][1], appearance=self.appearance)
        self.heatmap.set_cell_describer(self._describe_cell)
        self.heatmap.set_value_format(lambda v: f"{v:.2f}")
        self.heatmap.set_hint("Hover a cell to read its weight · click a row to focus that query position")
        self.row_profile = _RowProfile(self.heatmap)
        self._profile_height = _RowProfile.HEIGHT
        self.heatmap.clicked.connect(self._on_cell_clicked)
        # the heading names the head's kind; the sentence and the hover hint are for the learner's desk
        mark_explanation(self.kind, self.heatmap.readout)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        for w in (self.heading, self.kind, self.compare_note, self.warnings):
            layout.addWidget(w)
        layout.addWidget(self.heatmap, 1)
        self.setToolTip(self.tooltip)

    # -- drawing -----------------------------------------------------------------------------------
    @property
    def comparing(self) -> bool:
        """True while the heatmap shows current − pinned."""
        return self._pinned is not None

    def refresh(self) -> None:
        results = self.analysis.latest_results
        assert results is not None
        sel = self.focus(results)
        self._apply_appearance()
        self._labels = self.token_labels(results)
        self._pattern = np.asarray(results.pattern(sel.layer, sel.head), dtype=np.float32)  # [query_pos, key_pos]
        pinned = self.pinned_results
        comparable = pinned is not None and self.analysis.comparable(results)
        self._pinned = (np.asarray(pinned.pattern(sel.layer, sel.head), dtype=np.float32)  # [query_pos, key_pos]
                        if comparable else None)

        kind = head_kinds(results, self.document.exclude_bos)[sel.layer][sel.head]
        what = f" ({kind.kind_label}?)" if kind.kind_label else ""
        if self.comparing:
            self.heading.setText(f"Attention pattern difference from pinned — layer {sel.layer} head {sel.head}{what}")
        else:
            self.heading.setText(f"Attention pattern — layer {sel.layer} head {sel.head}{what}")
        self.kind.setText(f"{kind.sentence()}  All detector scores ({kind.variant}): {kind.scores_text()}.")
        if self.comparing:
            self.compare_note.setText("Showing the difference from pinned: current − pinned attention weight "
                                      "(red = more attention now, blue = less). Bars: now (filled) and pinned "
                                      "(dashed).")
            self.compare_note.show()
        elif pinned is not None:
            self.compare_note.setText("A baseline is pinned but cannot be compared (the sequence or model shape "
                                      "changed): showing the current pattern.")
            self.compare_note.show()
        else:
            self.compare_note.hide()
        show_warnings(self.warnings, results.warnings)

        if self.comparing:
            assert self._pinned is not None
            shown = self._pattern - self._pinned  # [query_pos, key_pos] in [-1, 1]
            self.heatmap.set_signed(True)
            self.heatmap.set_data(shown, row_labels=self._labels, col_labels=self._labels, levels=(-1.0, 1.0),
                                  what="attention weight differences")
        else:
            self.heatmap.set_signed(False)
            self.heatmap.set_data(self._pattern, row_labels=self._labels, col_labels=self._labels,
                                  levels=(0.0, 1.0), what="attention weights")
        q = sel.query_pos
        self.heatmap.highlight_row(q)
        self._draw_row(q)

    def _draw_row(self, q: int) -> None:
        row = self._pattern[q]  # [key_pos]
        if np.isfinite(row).any():
            top = int(np.nanargmax(row))
            most = f": most to key {self._labels[top]} ({row[top]:.2f})"
        else:
            most = ""
        caption = f"Row {self._labels[q]}{most}"  # short: it must fit a narrow pane at projector size
        self.row_profile.set_weights(row, None if self._pinned is None else self._pinned[q], caption)

    def _apply_appearance(self) -> None:
        """Give colour map and font to the widgets, only when they changed (both cost a re-layout)."""
        wanted = (self.colormap_name, self.font_points, self.presenting)
        if wanted == self._applied:
            return
        self._applied = wanted
        points = self.font_points
        self.heatmap.set_font_size(points)
        self.row_profile.set_font_size(points)
        set_label_points(self.heading, self.heading_points, bold=True)
        for label in (self.kind, self.compare_note):
            set_label_points(label, points)
        set_label_points(self.warnings, points, bold=True)

    def apply_presentation(self, on: bool) -> None:
        self.heatmap.set_axis_labels(*AXIS_LABELS[on])
        self._fit_row_profile()

    def _fit_row_profile(self) -> None:
        """A short profile on a projector or a low view, and none at all when the view is too low for it.

        The pattern is what the class must see; under a short view (the
        training curves take the lower half of the screen) the bars would
        leave it a strip, so they go and the heading's row names the weights.
        """
        if self.height() < (PROFILE_MIN_VIEW_HEIGHT if self.presenting else DESK_PROFILE_MIN_VIEW_HEIGHT):
            height = 0  # e.g. the training dock (Ctrl+T) under the views of a 720-row screen
        elif self.presenting or self.height() < DESK_FULL_PROFILE_VIEW_HEIGHT:
            height = _RowProfile.PRESENTATION_HEIGHT
        else:
            height = _RowProfile.HEIGHT
        if height != self._profile_height:
            self._profile_height = height
            self.row_profile.set_height(height)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit_row_profile()

    # -- read-out and interaction -------------------------------------------------------------
    def _describe_cell(self, row: int, col: int) -> str:
        q, k = self._labels[row], self._labels[col]
        now = float(self._pattern[row, col])
        text = f"query {q} → key {k}: weight {now:.2f}"
        if self._pinned is not None:
            before = float(self._pinned[row, col])
            text += f" (pinned {before:.2f}, difference {now - before:+.2f})"
        return text

    def _on_cell_clicked(self, row: int, col: int) -> None:
        """A click on a row focuses that query position (the other views follow)."""
        self.document.set_selection(query_pos=row)

    # -- export --------------------------------------------------------------------------------------
    def matrices(self) -> dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]]:
        results = self.analysis.latest_results
        if results is None:
            return {}
        sel = self.focus(results)
        labels = self.token_labels(results)
        name = f"attention pattern L{sel.layer}H{sel.head} (rows query, columns key)"
        out = {name: (np.asarray(results.pattern(sel.layer, sel.head)), labels, labels)}
        pinned = self.pinned_results
        if pinned is not None and self.analysis.comparable(results):
            diff = results.pattern(sel.layer, sel.head) - pinned.pattern(sel.layer, sel.head)  # [query_pos, key_pos]
            out[f"difference from pinned L{sel.layer}H{sel.head} (current - pinned)"] = (diff, labels, labels)
        return out
