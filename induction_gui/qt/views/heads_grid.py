"""Every head at a glance: a layers × heads grid of small attention patterns.

The lecture's circuit is spread over heads; spotting the previous-token head
in layer 0 and the induction head in layer 1 is easiest when all patterns sit
side by side, each labelled with its detector scores. Clicking one focuses it
in the other views. Thumbnails are drawn into image items made once per model
shape, so a recompute only uploads new pixels.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

import pyqtgraph as pg

from ...analysis import Analysis
from ...model.appearance import Appearance
from ..widgets.colormaps import colormap, diverging
from ..widgets.heatmap import TEXT_COLOR, FastImageItem
from ..widgets.plot_text import free_width
from ..widgets.labels import plain_label, set_label_points, show_warnings, warning_label
from ..widgets.style import mark_explanation
from .attention_view import (
    DETECTOR_NAMES,
    KIND_MEASURE,
    KIND_THRESHOLD,
    HeadKind,
    format_score,
    head_kinds,
    kind_variant,
)
from .base import View

FOCUS_COLOR, FOCUS_WIDTH = "#d62728", 5  # the focused head: the same red as the focused query row
IDLE_PEN = pg.mkPen("#9a9a9a", width=1)


class _Thumbnail:
    """One head's caption, view box and image, made once and refilled on every refresh."""

    def __init__(self, layout: pg.GraphicsLayout, layer: int, head: int) -> None:
        self.layer, self.head = layer, head
        self.caption = free_width(pg.LabelItem("", color=TEXT_COLOR, size="11pt", justify="center"))
        self.vb = pg.ViewBox(enableMouse=False, enableMenu=False, lockAspect=True, invertY=True)
        self.vb.setMouseEnabled(x=False, y=False)
        self.image = FastImageItem(axisOrder="row-major")
        self.vb.addItem(self.image)
        self.vb.setBorder(IDLE_PEN)
        layout.addItem(self.caption, row=2 * layer, col=head)
        layout.addItem(self.vb, row=2 * layer + 1, col=head)
        self.n_pos = -1  # sequence length last drawn, to reset the range only when it changes
        self._caption: tuple[str, float] | None = None  # caption HTML and font size last set

    def set_caption(self, text: str, points: float) -> None:
        """Caption HTML at a font size; re-laying out an unchanged caption costs ~0.3 ms, so it is skipped."""
        if (text, points) == self._caption:
            return
        self._caption = (text, points)
        self.caption.setText(text, color=TEXT_COLOR, size=f"{points:g}pt")

    @property
    def name(self) -> str:
        return f"L{self.layer}H{self.head}"

    def contains(self, scene_pos: QPointF) -> bool:
        return self.vb.sceneBoundingRect().contains(scene_pos) or self.caption.sceneBoundingRect().contains(scene_pos)

    def set_pattern(self, pattern: np.ndarray, levels: tuple[float, float]) -> None:
        """``pattern`` [query_pos, key_pos], finite (the caller replaced NaN)."""
        self.image.setImage(np.ascontiguousarray(pattern, dtype=np.float32), autoLevels=False, levels=levels)
        n = pattern.shape[0]
        if n != self.n_pos:
            self.n_pos = n
            self.image.setRect(0, 0, pattern.shape[1], n)
            self.vb.setRange(xRange=(0, pattern.shape[1]), yRange=(0, n), padding=0.02)


class HeadsGrid(View):
    """All heads' attention patterns as a layers × heads grid; click one to focus it.

    Signals
    -------
    hovered(layer, head)
        the head under the mouse, (-1, -1) when none.
    """

    title = "All heads"
    tooltip = ("Every head's attention pattern, one thumbnail per head (rows: layers, columns: heads), "
               "with its previous-token, duplicate-token and induction scores; click one to focus it.")
    help_text = ("Every head's attention pattern at a glance, one thumbnail per head (rows: layers, columns: "
                 'heads), each with its previous-token, duplicate-token and induction scores. Use it to find the '
                 'circuit: a previous-token head in an early layer and an induction head in a later one. Click a '
                 'thumbnail to focus that head in the other views.')

    hovered = Signal(int, int)

    def __init__(self, analysis: Analysis, parent: QWidget | None = None, *,
                 appearance: Appearance | None = None) -> None:
        super().__init__(analysis, parent, appearance=appearance)
        self._thumbs: list[list[_Thumbnail]] = []  # [layer][head]
        self._kinds: list[list[HeadKind]] = []  # [layer][head], from the last refresh
        self._hovered: tuple[int, int] | None = None  # the head the read-out describes, if any
        self._focused: tuple[int, int] | None = None
        self._signed: bool | None = None  # colour mode the images have (None: not set yet)
        self._applied: tuple[str, float, bool] | None = None

        self.heading = plain_label("All heads")
        self.caption = plain_label()
        self.warnings = warning_label()
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.grid = self.graphics.ci
        self.status = plain_label(" ")
        mark_explanation(self.caption)  # the thumbnails' own captions name every score's variant on hover

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.heading)
        layout.addWidget(self.caption)
        layout.addWidget(self.warnings)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.status)
        self.setToolTip(self.tooltip)

        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.graphics.scene().sigMouseClicked.connect(self._on_mouse_clicked)

    # -- building --------------------------------------------------------------------------------
    @property
    def thumbnails(self) -> list[list[_Thumbnail]]:
        """[layer][head] thumbnails (tests and the status read-out use them)."""
        return self._thumbs

    def _ensure_grid(self, n_layers: int, n_heads: int) -> None:
        """Make the thumbnails when the model's shape changed; otherwise keep them."""
        if len(self._thumbs) == n_layers and all(len(row) == n_heads for row in self._thumbs):
            return
        self.grid.clear()
        self._thumbs = [[_Thumbnail(self.grid, layer, head) for head in range(n_heads)] for layer in range(n_layers)]
        for layer in range(n_layers):
            self.grid.layout.setRowStretchFactor(2 * layer + 1, 10)
        self._focused = None
        self._signed = None
        self._applied = None

    # -- drawing ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        results = self.analysis.latest_results
        assert results is not None
        n_layers = len([k for k in results.cache if k.endswith("attn.hook_pattern")])
        patterns = [results.cache["pattern", layer][0] for layer in range(n_layers)]  # [head, query_pos, key_pos]
        n_heads = patterns[0].shape[0]
        self._ensure_grid(n_layers, n_heads)

        pinned = self.pinned_results
        comparing = pinned is not None and self.analysis.comparable(results)
        self._apply_appearance(comparing)
        self._kinds = head_kinds(results, self.document.exclude_bos)

        levels = (-1.0, 1.0) if comparing else (0.0, 1.0)
        n_bad = 0
        for layer in range(n_layers):
            shown = patterns[layer]  # [head, query_pos, key_pos]
            if comparing:
                assert pinned is not None
                shown = shown - pinned.cache["pattern", layer][0]  # [head, query_pos, key_pos] in [-1, 1]
            finite = np.isfinite(shown)
            if not finite.all():  # the copy costs ~1 ms per layer at 512 tokens: only when needed
                n_bad += int(shown.size - finite.sum())
                shown = np.where(finite, shown, np.float32(0.0))
            for head in range(n_heads):
                thumb = self._thumbs[layer][head]
                thumb.set_pattern(shown[head], levels)
                thumb.set_caption(self._caption_html(self._kinds[layer][head], projector=self.presenting),
                                  self.font_points)

        sel = self.focus(results)
        self._set_focus(sel.layer, sel.head)
        mode = ("difference from pinned (current − pinned; red = more attention now, blue = less)" if comparing
                else "attention pattern (rows: query position, columns: key position; dark 0 → bright 1)")
        self.caption.setText(
            f"Each thumbnail: {mode}. Under each name, detector scores ({kind_variant(self.document.exclude_bos)}): "
            f"prev = previous-token, dup = duplicate-token, ind = induction; a name in bold colour passes "
            f"{KIND_THRESHOLD:g}. Click a head to focus it."
        )
        warnings = list(results.warnings)
        if n_bad:
            warnings.append(f"{n_bad} attention weights are NaN or infinite (drawn as 0)")
        show_warnings(self.warnings, warnings)
        self._show_hovered(*(self._hovered or (-1, -1)))  # the read-out describes this model's numbers

    @staticmethod
    def _caption_html(kind: HeadKind, *, projector: bool = False) -> str:
        # short enough for four heads side by side; the hover read-out gives every score
        if kind.kind:
            best = kind.kind
        else:  # no kind: quote the highest finite score
            finite = {k: v for k, v in kind.scores.items() if np.isfinite(v)}
            best = max(finite, key=finite.get) if finite else next(iter(kind.scores))
        score = f"{DETECTOR_NAMES[best][1]} {format_score(kind.scores[best])}"
        name = f"<b>{kind.name}</b>"
        if projector:  # two short lines: "previous-token head" at projector size overran the thumbnail
            return f"{name}<br><b><span style='color:#b03000'>{score}</span></b>" if kind.kind else f"{name}<br>{score}"
        kind_line = f"<b><span style='color:#b03000'>{kind.kind_label}</span></b>" if kind.kind else "—"
        return f"{name}<br>{kind_line}<br>{score}"

    def _set_focus(self, layer: int, head: int) -> None:
        if self._focused == (layer, head):
            return
        if self._focused is not None:
            old_l, old_h = self._focused
            if old_l < len(self._thumbs) and old_h < len(self._thumbs[old_l]):
                self._thumbs[old_l][old_h].vb.setBorder(IDLE_PEN)
        self._thumbs[layer][head].vb.setBorder(self.pen(FOCUS_COLOR, FOCUS_WIDTH))
        self._focused = (layer, head)

    def _apply_appearance(self, signed: bool) -> None:
        """Colour map and fonts, pushed to every image only when they changed."""
        if signed != self._signed or self._applied is None or self._applied[0] != self.colormap_name:
            cmap = diverging() if signed else colormap(self.colormap_name)
            for row in self._thumbs:
                for thumb in row:
                    thumb.image.setColorMap(cmap)
            self._signed = signed
        if self._applied is None or self._applied[1:] != (self.font_points, self.presenting):
            set_label_points(self.heading, self.heading_points, bold=True)
            for label in (self.caption, self.status):
                set_label_points(label, self.font_points)
            set_label_points(self.warnings, self.font_points, bold=True)
            for row in self._thumbs:  # the focus border's width follows the font: draw it again
                for thumb in row:
                    thumb.vb.setBorder(IDLE_PEN)
            self._focused = None
        self._applied = (self.colormap_name, self.font_points, self.presenting)

    # -- interaction -------------------------------------------------------------------------------
    def head_at(self, scene_pos: QPointF) -> tuple[int, int]:
        """(layer, head) of the thumbnail (image or caption) under a scene position, or (-1, -1)."""
        for row in self._thumbs:
            for thumb in row:
                if thumb.contains(scene_pos):
                    return thumb.layer, thumb.head
        return -1, -1

    def describe_head(self, layer: int, head: int) -> str:
        """The read-out of one head: name, every score with its variant, and what it looks like."""
        kind = self._kinds[layer][head]
        looks = f"looks like a{'n' if kind.kind_label and kind.kind_label[0] in 'aeiou' else ''} {kind.kind_label}" \
            if kind.kind_label else "no detector score above 0.5"
        scores = " · ".join(f"{long.removesuffix(' head')} {kind.scores[key]:.2f}"
                            if np.isfinite(kind.scores[key]) else f"{long.removesuffix(' head')} n/a"
                            for key, (long, _short) in DETECTOR_NAMES.items())
        return f"{kind.name} (layer {layer} head {head}): {looks}. Scores ({kind.variant}): {scores}. Click to focus."

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        layer, head = self.head_at(scene_pos)
        self._show_hovered(layer, head)
        self.hovered.emit(layer, head)

    def _show_hovered(self, layer: int, head: int) -> None:
        """Describe the hovered head, or nothing when none is (or it no longer exists after a model change)."""
        exists = 0 <= layer < len(self._kinds) and 0 <= head < len(self._kinds[layer])
        self._hovered = (layer, head) if exists else None
        text = self.describe_head(layer, head) if exists else " "
        self.status.setText(text)
        self.graphics.setToolTip(text.strip())

    def _on_mouse_clicked(self, event: object) -> None:
        layer, head = self.head_at(event.scenePos())  # type: ignore[attr-defined]
        if layer >= 0:
            self.document.set_selection(layer=layer, head=head)

    # -- export ------------------------------------------------------------------------------------
    def matrices(self) -> dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]]:
        results = self.analysis.latest_results
        if results is None:
            return {}
        labels = self.token_labels(results)
        out: dict[str, tuple[np.ndarray, list[str] | None, list[str] | None]] = {}
        n_layers = len([k for k in results.cache if k.endswith("attn.hook_pattern")])
        for layer in range(n_layers):
            pattern = results.cache["pattern", layer][0]  # [head, query_pos, key_pos]
            for head in range(pattern.shape[0]):
                out[f"attention pattern L{layer}H{head} (rows query, columns key)"] = (pattern[head], labels, labels)
        for key, (long, _short) in DETECTOR_NAMES.items():
            excl = self.document.exclude_bos
            scores = results.score(key, KIND_MEASURE, excl)  # [layer, head]
            out[f"{long} score ({kind_variant(excl)})"] = (
                scores, [f"layer {i}" for i in range(scores.shape[0])], [f"head {j}" for j in range(scores.shape[1])]
            )
        return out
