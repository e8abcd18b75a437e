"""A weight slice as a table model: exact values, faint sign tints, edits requested and never applied.

The model reads the array directly, so an 85 × 32 slice costs nothing until a
cell is painted. An edit repaints only the cells whose value changed (all of
them only when the largest magnitude, and with it every tint, changed): a
table cell costs a Python call per role, and a full repaint of the visible
cells ~10 ms. Text that is not a finite number is refused in
:meth:`MatrixModel.setData` and never reaches the document.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor

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
