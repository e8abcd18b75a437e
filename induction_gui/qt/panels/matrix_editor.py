"""Edit one weight matrix: exact numbers in a table, structure in a signed heatmap.

The table is a ``QTableView`` over a ``QAbstractTableModel`` that reads the
array directly, so an 85 × 32 slice costs nothing until a cell is painted.
An edit repaints only the cells whose value changed (all of them only when the
largest magnitude, and with it every tint, changed): a table cell costs a
Python call per role, and a full repaint of the visible cells ~10 ms.
Typing a number pushes an undoable command; text that is not a finite number
is refused in :meth:`MatrixModel.setData`, never reaches the document, and the
editor says why in a red line under the table (and a tooltip at the cell).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QTabWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ...model.document import Document
from ..commands import set_weight_cell
from ..widgets.heatmap import Heatmap

_Index = QModelIndex | QPersistentModelIndex
_POSITIVE = QColor(214, 39, 40)  # the diverging map's red end: tints match the heatmap's hues
_NEGATIVE = QColor(31, 119, 180)
_MAX_ALPHA = 90  # the strongest tint: faint, so the numbers stay readable


def _tints(base: QColor) -> list[QColor]:
    """``base`` at every alpha 0 … _MAX_ALPHA, made once (``data()`` runs per painted cell and role)."""
    out = []
    for alpha in range(_MAX_ALPHA + 1):
        c = QColor(base)
        c.setAlpha(alpha)
        out.append(c)
    return out


_TINTS = {True: _tints(_POSITIVE), False: _tints(_NEGATIVE)}
# roles as plain ints: data() is called ~7 times per painted cell, and enum comparisons are slow
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_EDIT = int(Qt.ItemDataRole.EditRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole.value)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole.value)
_RIGHT_ALIGNED = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)
_CELL_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable
HEATMAP_ROW_LABELS = 20  # most labels written on the heatmap's axes (a dock is narrow)
HEATMAP_COL_LABELS = 9


def parse_value(text: str) -> tuple[float | None, str]:
    """A typed cell value, or None and the reason it is refused (shown to the learner).

    Accepts a decimal comma ("0,5"), since a classroom keyboard may produce one.
    """
    cleaned = text.strip().replace(",", ".")
    if not cleaned:
        return None, "the cell is empty: type a number such as 0.5 or -2"
    try:
        value = float(cleaned)
    except ValueError:
        return None, f"“{text.strip()}” is not a number: type e.g. 0.5, -2 or 1e-3"
    if not np.isfinite(value):
        return None, f"“{text.strip()}” is not a finite number: weights must be finite (no NaN or infinity)"
    if abs(value) > float(np.finfo(np.float32).max):
        return None, f"{value:g} is too large for a float32 weight"
    return value, ""


def thinned(labels: Sequence[str], most: int) -> list[str]:
    """Every k-th label kept, the rest blank, so at most ``most`` are written: legible on a projector.

    The heatmap's own thinning allows 40 labels, too many for a narrow dock.
    """
    step = max(1, -(-len(labels) // most))
    return [str(label) if i % step == 0 else "" for i, label in enumerate(labels)]


def format_exact(value: float) -> str:
    """The shortest text that reads back to the same float32 (what the cell editor starts with)."""
    return np.format_float_positional(np.float32(value), trim="-")


class MatrixModel(QAbstractTableModel):
    """A 2-D array as a table; edits are requested, not applied.

    Signals
    -------
    edit_requested(row, col, value)
        a valid number was typed; the owner pushes the command that applies it.
    refused(row, col, message)
        the typed text was not a finite number; nothing changed.
    """

    edit_requested = Signal(int, int, float)
    refused = Signal(int, int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._data = np.zeros((0, 0), dtype=np.float32)  # [rows, cols]
        self._scale = 1.0  # max |value|, for the cell tint
        self._alpha = np.zeros((0, 0), dtype=np.int16)  # [rows, cols] tint alpha, -1 where not finite
        self._row_labels: list[str] = []
        self._col_labels: list[str] = []
        self._row_title = ""
        self._col_title = ""

    # -- contents -----------------------------------------------------------------------------
    def set_matrix(
        self,
        data: np.ndarray,
        row_labels: Sequence[str],
        col_labels: Sequence[str],
        row_title: str = "",
        col_title: str = "",
    ) -> None:
        """Show ``data`` [rows, cols]; a same-shaped update repaints instead of resetting (keeps selection).

        Only cells whose value or tint changed are announced, so an edit elsewhere repaints nothing.
        """
        data = np.asarray(data)
        row_labels, col_labels = list(row_labels), list(col_labels)
        same_shape = data.shape == self._data.shape and row_labels == self._row_labels and col_labels == self._col_labels
        old, old_alpha = self._data, self._alpha
        if not same_shape:
            self.beginResetModel()
        self._data = data
        finite = np.isfinite(data)  # [rows, cols]
        magnitude = np.abs(np.where(finite, data.astype(np.float64), 0.0))  # [rows, cols]
        self._scale = float(magnitude.max()) if finite.any() else 1.0
        if self._scale > 0:
            self._alpha = np.where(finite, (_MAX_ALPHA * np.minimum(magnitude / self._scale, 1.0)).astype(np.int16), -1)
        else:
            self._alpha = np.full(data.shape, -1, dtype=np.int16)
        self._row_labels, self._col_labels = row_labels, col_labels
        self._row_title, self._col_title = row_title, col_title
        if not same_shape:
            self.endResetModel()
            return
        if not data.size:
            return
        # a cell needs a repaint when its text or its tint changed
        changed = (old != data) & ~(np.isnan(old) & np.isnan(data)) if data.dtype.kind == "f" else old != data
        changed |= old_alpha != self._alpha  # [rows, cols]
        if not changed.any():
            return
        rows = np.flatnonzero(changed.any(axis=1))
        cols = np.flatnonzero(changed.any(axis=0))
        self.dataChanged.emit(self.index(int(rows[0]), int(cols[0])), self.index(int(rows[-1]), int(cols[-1])))

    @property
    def matrix(self) -> np.ndarray:
        return self._data

    # -- Qt model API -----------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else self._data.shape[0]

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() or self._data.ndim < 2 else self._data.shape[1]

    def data(self, index: _Index, role: int = _DISPLAY) -> object:
        # called for every role of every painted cell: cheap tests first, nothing computed for roles we leave unset
        if not index.isValid():
            return None
        role = int(role)
        if role == _DISPLAY:
            return f"{float(self._data[index.row(), index.column()]):.4g}"
        if role == _ALIGNMENT:
            return _RIGHT_ALIGNED
        if role == _BACKGROUND:
            row, col = index.row(), index.column()
            alpha = int(self._alpha[row, col])
            if alpha < 0:
                return None
            # a faint tint in the heatmap's hue: sign and size readable without switching tabs
            return _TINTS[bool(self._data[row, col] > 0)][alpha]
        if role == _EDIT:
            return format_exact(float(self._data[index.row(), index.column()]))
        if role == _TOOLTIP:
            value = float(self._data[index.row(), index.column()])
            return (f"{self._row_title} {self._row_labels[index.row()]}, {self._col_title} "
                    f"{self._col_labels[index.column()]}: {format_exact(value)}\nDouble-click or F2 to edit.")
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:  # noqa: N802
        labels = self._col_labels if orientation == Qt.Orientation.Horizontal else self._row_labels
        if not 0 <= section < len(labels):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return labels[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            title = self._col_title if orientation == Qt.Orientation.Horizontal else self._row_title
            return f"{title} {labels[section]}"
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _CELL_FLAGS

    def setData(self, index: _Index, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        """Validate typed text; a valid number becomes an edit request, anything else a refusal."""
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        number, problem = parse_value(str(value))
        if number is None:
            self.refused.emit(index.row(), index.column(), problem)
            return False
        if number == float(self._data[index.row(), index.column()]):
            return True  # nothing changed: no undo step
        self.edit_requested.emit(index.row(), index.column(), number)
        return True


class MatrixEditor(QWidget):
    """One parameter slice as a table of exact values and a signed heatmap, in two tabs.

    Parameters
    ----------
    document
        the document whose weights are edited.
    undo_stack
        where cell edits are pushed (one undo step per cell).

    Call :meth:`set_target` to choose the parameter; :meth:`refresh` re-reads it
    (the owner calls it on the document's "weights" events).
    """

    def __init__(self, document: Document, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.undo_stack = undo_stack
        self._name: str | None = None
        self._index: tuple[int, ...] = ()  # leading indices of the slice, e.g. (head,)
        self._labels: tuple[list[str], list[str], str, str] = ([], [], "", "")

        self.model = MatrixModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(False)
        self.table.setWordWrap(False)
        # fixed section sizes: resizing to contents would measure every cell of a large matrix
        hh, vh = self.table.horizontalHeader(), self.table.verticalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        hh.setDefaultSectionSize(self.fontMetrics().horizontalAdvance("-0.00000") + 14)  # fits any :.4g value
        vh.setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setToolTip("Exact values. Double-click a cell (or select it and type) to change it; "
                              "Enter applies, Escape cancels, Ctrl+Z undoes.")

        self.heatmap = Heatmap(signed=True)
        self.heatmap.setToolTip("The same matrix as colours: red positive, blue negative, white zero. "
                                "Click a cell to edit it in the table.")

        self.tabs = QTabWidget()
        self.tabs.addTab(self.table, "Numbers")
        self.tabs.addTab(self.heatmap, "Heatmap")
        self.tabs.setDocumentMode(True)

        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #444;")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020; font-weight: bold;")
        self.error.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.caption)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.error)

        self.model.edit_requested.connect(self._on_edit_requested)
        self.model.refused.connect(self._on_refused)
        self.heatmap.clicked.connect(self._on_heatmap_clicked)
        self.heatmap.hovered.connect(self._on_heatmap_hovered)

    # -- what to show ----------------------------------------------------------------------------
    @property
    def name(self) -> str | None:
        """The parameter shown, e.g. ``blocks.1.attn.W_K``."""
        return self._name

    @property
    def slice_index(self) -> tuple[int, ...]:
        return self._index

    def set_target(
        self,
        name: str,
        index: tuple[int, ...] = (),
        *,
        row_labels: Sequence[str],
        col_labels: Sequence[str],
        row_title: str,
        col_title: str,
        caption: str = "",
    ) -> None:
        """Edit ``weights[name][index]`` (a 2-D slice) with these axis labels."""
        self._name, self._index = name, tuple(index)
        self._labels = (list(row_labels), list(col_labels), row_title, col_title)
        self.caption.setText(caption)
        self.caption.setVisible(bool(caption))
        self.heatmap.set_axis_labels(col_title, row_title)
        self.error.hide()
        self.refresh(labels_changed=True)

    def current_matrix(self) -> np.ndarray:
        """The slice as the document holds it now, [rows, cols]."""
        assert self._name is not None
        arr = self.document.scenario.weights[self._name]
        return arr[self._index] if self._index else arr

    def refresh(self, labels_changed: bool = False) -> None:
        """Re-read the slice from the document (no command is pushed)."""
        if self._name is None or self._name not in self.document.scenario.weights:
            return
        current = self.current_matrix()  # [rows, cols]
        if not labels_changed and current.shape == self.model.matrix.shape and np.array_equal(
            current, self.model.matrix, equal_nan=True
        ):
            return  # another parameter was edited: nothing here changed, nothing to redraw
        data = np.array(current, copy=True)  # [rows, cols], a snapshot the table may keep
        rows, cols, row_title, col_title = self._labels
        self.model.set_matrix(data, rows, cols, row_title, col_title)
        if labels_changed:
            self.heatmap.set_data(data, row_labels=thinned(rows, HEATMAP_ROW_LABELS),
                                  col_labels=thinned(cols, HEATMAP_COL_LABELS), what="weights")
        else:
            self.heatmap.set_data(data, what="weights")

    # -- slots ----------------------------------------------------------------------------------------
    def _on_edit_requested(self, row: int, col: int, value: float) -> None:
        assert self._name is not None
        self.error.hide()
        try:
            command = set_weight_cell(self.document, self._name, self._index + (row, col), value)
            self.undo_stack.push(command)
        except ValueError as exc:  # the document refuses (e.g. out of float32 range): say so
            self._on_refused(row, col, str(exc))

    def _on_refused(self, row: int, col: int, message: str) -> None:
        rows, cols, row_title, col_title = self._labels
        where = f"{row_title} {rows[row]}, {col_title} {cols[col]}" if row < len(rows) and col < len(cols) else ""
        text = f"Not changed ({where}): {message}" if where else f"Not changed: {message}"
        self.error.setText(text)
        self.error.setToolTip(text)
        self.error.show()
        rect = self.table.visualRect(self.model.index(row, col))
        QToolTip.showText(self.table.viewport().mapToGlobal(rect.bottomLeft()), text, self.table)

    def _on_heatmap_hovered(self, row: int, col: int) -> None:
        # the axes show thinned labels; the read-out names every cell in full
        rows, cols, row_title, col_title = self._labels
        if 0 <= row < len(rows) and 0 <= col < len(cols):
            value = format_exact(float(self.model.matrix[row, col]))
            self.heatmap.readout.setText(f"{row_title} {rows[row]}  →  {col_title} {cols[col]}:  {value}")

    def _on_heatmap_clicked(self, row: int, col: int) -> None:
        index = self.model.index(row, col)
        self.tabs.setCurrentWidget(self.table)
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)
