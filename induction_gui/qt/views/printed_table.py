"""One matrix of the Printed view as a table: rounded numbers, labelled rows and columns, marked rows.

A small :class:`QAbstractTableModel` over a NumPy array, so a 2048 × 2048
pattern costs nothing until its cells are painted (a QTableWidget would make
four million items). Cells show the value rounded to the view's decimals,
right-aligned in a fixed-width font so digits line up as in the lecture's
printout; the tool tip gives the unrounded value and what it is. Rows (and
single cells) can be marked with a colour: the focused query, the row it
copies from, the hovered row.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

Index = QModelIndex | QPersistentModelIndex

QUERY_COLOR = "#ffd966"  # the focused query row (yellow)
SOURCE_COLOR = "#9fc5e8"  # the row the query copies from (blue): apart from yellow for colour-blind eyes too
HOVER_COLOR = "#d9d9d9"  # the row or cell under the pointer (grey)
MARK_TEXT = "#000000"  # text on a marked cell: dark on the light marks, in either theme

_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class MatrixModel(QAbstractTableModel):
    """A read-only matrix with row and column labels, shown at a number of decimals, with marked cells."""

    def __init__(self, what: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what = what  # the matrix's name in tool tips ("A", "X", "z")
        self.values = np.zeros((0, 0))  # [rows, cols]
        self.row_labels: list[str] = []
        self.col_labels: list[str] = []
        self.col_tips: list[str] = []
        self.decimals = 2
        self.row_marks: dict[int, str] = {}  # row -> colour
        self.cell_marks: dict[tuple[int, int], str] = {}  # (row, col) -> colour, drawn over a row mark

    def set_matrix(self, values: np.ndarray, row_labels: list[str], col_labels: list[str], decimals: int,
                   col_tips: list[str] | None = None) -> None:
        """Show ``values`` [rows, cols] (a new shape resets the table; the same shape only repaints)."""
        same_shape = values.shape == self.values.shape
        if not same_shape:
            self.beginResetModel()
        self.values, self.row_labels, self.col_labels, self.decimals = values, row_labels, col_labels, decimals
        self.col_tips = col_tips or col_labels
        if same_shape:
            self.repaint_all()
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, max(0, values.shape[1] - 1))
            self.headerDataChanged.emit(Qt.Orientation.Vertical, 0, max(0, values.shape[0] - 1))
        else:
            self.endResetModel()

    def set_marks(self, rows: dict[int, str], cells: dict[tuple[int, int], str] | None = None) -> None:
        """Colour whole rows and single cells (indices outside the matrix are ignored)."""
        self.row_marks, self.cell_marks = dict(rows), dict(cells or {})
        self.repaint_all()

    def repaint_all(self) -> None:
        rows, cols = self.values.shape
        if rows and cols:
            self.dataChanged.emit(self.index(0, 0), self.index(rows - 1, cols - 1))

    def text(self, row: int, col: int) -> str:
        """The cell's text as shown: the value rounded to the decimals."""
        return f"{float(self.values[row, col]):.{self.decimals}f}"

    def mark(self, row: int, col: int) -> str | None:
        """The colour a cell is drawn in, or None."""
        return self.cell_marks.get((row, col), self.row_marks.get(row))

    # -- QAbstractTableModel -------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else self.values.shape[0]

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else self.values.shape[1]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT
        if role == Qt.ItemDataRole.BackgroundRole:
            color = self.mark(row, col)
            return QBrush(QColor(color)) if color else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor(MARK_TEXT)) if self.mark(row, col) else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{self.what}[{row}, {col}]: row {self.row_labels[row]}, column {self.col_tips[col]} = "
                    f"{float(self.values[row, col]):.9g}")
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt API
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        labels = self.col_labels if orientation == Qt.Orientation.Horizontal else self.row_labels
        if not 0 <= section < len(labels):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return labels[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.col_tips[section] if orientation == Qt.Orientation.Horizontal else f"position {labels[section]}"
        if role == Qt.ItemDataRole.BackgroundRole and orientation == Qt.Orientation.Vertical:
            color = self.row_marks.get(section)
            return QBrush(QColor(color)) if color else None
        return None


class MatrixTable(QTableView):
    """A table view of a :class:`MatrixModel`: read-only, fixed-width digits, columns as wide as the numbers."""

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix = MatrixModel(what, self)
        self.setModel(self.matrix)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setMouseTracking(True)  # entered(index) on hover, without a button held
        self.setWordWrap(False)
        self.setMinimumSize(60, 60)  # the three tables share a 1280-pixel window: scroll, never push it wider
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.set_points(QFont().pointSizeF())

    def set_points(self, points: float) -> None:
        """Font size of the numbers and headers (presentation mode makes it large)."""
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(points)
        self.setFont(font)
        self.horizontalHeader().setFont(font)
        self.verticalHeader().setFont(font)
        self.verticalHeader().setDefaultSectionSize(QFontMetrics(font).height() + 6)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Every column as wide as its widest number or label (measured once, not cell by cell)."""
        values = self.matrix.values
        metrics = QFontMetrics(self.font())
        finite = np.abs(values[np.isfinite(values)]) if values.size else np.zeros(0)
        largest = float(finite.max()) if finite.size else 0.0
        signed = bool(values.size) and bool((values < 0).any())  # room for a minus sign only if one is shown
        sample = f"{-largest if signed else largest:.{self.matrix.decimals}f}"
        if values.size and not np.isfinite(values).all():
            sample = max(sample, "-inf", "nan", key=len)
        label = max((metrics.horizontalAdvance(c) for c in self.matrix.col_labels), default=0)
        self.horizontalHeader().setDefaultSectionSize(max(metrics.horizontalAdvance(sample), label) + 12)
