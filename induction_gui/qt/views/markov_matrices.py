"""A small k × k transition matrix drawn as a heatmap with its numbers in the cells.

The Counting view shows two of them side by side in spirit: the chain the
sequence was drawn from and what counting its transitions so far estimates.
Rows are the current state and columns the next one, as in the Markov chain
editor. A number is written in a cell only while the cell is wide and tall
enough to hold it, so no two numbers are ever drawn over each other; the hover
read-out gives every cell's number (and how it was computed) whatever the size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

import pyqtgraph as pg

from ...model.appearance import Appearance
from ..widgets.colormaps import colormap
from ..widgets.heatmap import Heatmap
from ..widgets.labels import plain_label
from ..widgets.plotting import LABEL_MARGIN, qfont, style_heatmap

CELL_TEXT_SCALE = 0.75  # of the view's text: "0.73" fits a cell of a 3-state map on a projector
DARK_CELL = 0.45  # a cell's luminance (0 black .. 1 white) below this takes white text


class TransitionMap(Heatmap):
    """A [k, k] probability matrix, levels fixed at 0..1, each cell's number written in it when it fits."""

    def __init__(self, appearance: Appearance | None = None, parent: QWidget | None = None) -> None:
        super().__init__(appearance=appearance, parent=parent)
        self.cell_texts: list[pg.TextItem] = []
        self._font_points = 11.0
        # the title above the canvas, not in it: a label wraps onto a second line where a plot title is cut
        self.title: QLabel = plain_label()
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.layout().insertWidget(0, self.title)
        self.plot.vb.sigResized.connect(self._fit_cell_texts)

    def show_matrix(self, matrix: np.ndarray, names: Sequence[str], title: str, points: float,
                    cell_text: Callable[[int, int], str], describe: Callable[[int, int], str]) -> None:
        """Draw ``matrix`` [k, k] with state ``names`` on both axes; ``cell_text`` words each cell's number."""
        self._font_points = points
        self.set_data(matrix, row_labels=list(names), col_labels=list(names), levels=(0.0, 1.0),
                      what="probabilities")
        style_heatmap(self, points, "", "next", "current")
        self.title.setText(title)
        self.title.setFont(qfont(points, bold=True))
        self.set_cell_describer(describe)
        for item in self.cell_texts:
            self.plot.removeItem(item)
        self.cell_texts = []
        k = matrix.shape[0]
        for i in range(k):
            for j in range(k):
                v = float(matrix[i, j])
                item = pg.TextItem(cell_text(i, j), color=self._text_colour(v), anchor=(0.5, 0.5))
                item.setFont(qfont(points * CELL_TEXT_SCALE))
                item.setPos(j + 0.5, i + 0.5)
                self.plot.addItem(item)
                self.cell_texts.append(item)
        self._fit_cell_texts()

    def _text_colour(self, value: float) -> str:
        """Black on a light cell, white on a dark one, by the luminance the colour map gives ``value``."""
        # the appearance's map, not the one last applied: the view may redraw before this heatmap hears of a change
        name = self._appearance.colormap if self._appearance is not None else self._sequential
        r, g, b = (float(c) for c in colormap(name).map(min(max(value, 0.0), 1.0), mode="float")[:3])
        return "k" if 0.2126 * r + 0.7152 * g + 0.0722 * b > DARK_CELL else "w"

    def _fit_cell_texts(self, *_: object) -> None:
        """Show the numbers only if every one fits its cell (all or none: a half-numbered matrix misleads)."""
        if not shiboken6.isValid(self.plot.vb) or not self.cell_texts:
            return
        rows, cols = self.data.shape
        width, height = self.plot.vb.width(), self.plot.vb.height()
        if width <= 0 or height <= 0:
            return
        cell_w, cell_h = width / cols, height / rows
        # a text item's box keeps LABEL_MARGIN px round its glyphs: the glyphs must fit, not the margins
        fits = all(t.boundingRect().width() - 2 * LABEL_MARGIN <= cell_w
                   and t.boundingRect().height() - 2 * LABEL_MARGIN <= cell_h for t in self.cell_texts)
        for item in self.cell_texts:
            item.setVisible(fits)

    @property
    def numbers_shown(self) -> bool:
        """True if the numbers are written in the cells (false when the cells are too small for them)."""
        return bool(self.cell_texts) and all(t.isVisible() for t in self.cell_texts)
