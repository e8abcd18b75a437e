"""Edit one weight matrix: exact numbers in a table, structure in a signed heatmap.

The table is a ``QTableView`` over a ``QAbstractTableModel`` that reads the
array directly, so an 85 × 32 slice costs nothing until a cell is painted.
An edit repaints only the cells whose value changed (all of them only when the
largest magnitude, and with it every tint, changed): a table cell costs a
Python call per role, and a full repaint of the visible cells ~10 ms.
Typing a number pushes an undoable command; text that is not a finite number
is refused in :meth:`.matrix_model.MatrixModel.setData`, never reaches the document, and the
editor says why in a red line under the table (and a tooltip at the cell).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtGui import QUndoStack
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
from ..commands import push_validated, set_weight_cell
from ..widgets.heatmap import Heatmap
from .matrix_model import HEATMAP_COL_LABELS, HEATMAP_ROW_LABELS, MatrixModel, format_exact, thinned

__all__ = ["MatrixEditor", "thinned"]  # thinned: head controls thin their labels alike


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
        command = set_weight_cell(self.document, self._name, self._index + (row, col), value)
        problem = push_validated(self.undo_stack, command)
        if problem:  # the document refuses (e.g. out of float32 range): say so
            self._on_refused(row, col, problem)

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
