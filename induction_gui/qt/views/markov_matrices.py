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
from ..widgets.heatmap import Heatmap
from ..widgets.labels import plain_label
from ..widgets.plotting import qfont, style_heatmap

DARK_CELL = 0.55  # above this value the colour map is dark: write the number in white


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
                item = pg.TextItem(cell_text(i, j), color="w" if v > DARK_CELL else "k", anchor=(0.5, 0.5))
                item.setFont(qfont(points))
                item.setPos(j + 0.5, i + 0.5)
                self.plot.addItem(item)
                self.cell_texts.append(item)
        self._fit_cell_texts()

    def _fit_cell_texts(self, *_: object) -> None:
        """Show the numbers only if every one fits its cell (all or none: a half-numbered matrix misleads)."""
        if not shiboken6.isValid(self.plot.vb) or not self.cell_texts:
            return
        rows, cols = self.data.shape
        width, height = self.plot.vb.width(), self.plot.vb.height()
        if width <= 0 or height <= 0:
            return
        cell_w, cell_h = width / cols, height / rows
        fits = all(t.boundingRect().width() <= cell_w and t.boundingRect().height() <= cell_h
                   for t in self.cell_texts)
        for item in self.cell_texts:
            item.setVisible(fits)

    @property
    def numbers_shown(self) -> bool:
        """True if the numbers are written in the cells (false when the cells are too small for them)."""
        return bool(self.cell_texts) and all(t.isVisible() for t in self.cell_texts)
