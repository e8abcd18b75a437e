"""The sequence as a list: one "position: token" row per position, edited by keys, buttons and dragging.

:class:`TokenList` is the list widget; :class:`TokenListEditing` builds the
sequence panel's Tokens box around it and turns each edit there (insert,
delete, move, drag, pick another token) into one undoable command.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from .generator_form import button, message_label, show_message


def shown_token(word: str) -> str:
    """A token as the list shows it: spaces and line breaks made visible (chars mode)."""
    return word.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥") or "∅"


class TokenList(QListWidget):
    """"position: token" rows; Insert, Delete and Alt+Up/Down edit, drag reorders."""

    insert_requested = Signal()
    delete_requested = Signal()
    move_requested = Signal(int)  # -1 up, +1 down
    drag_finished = Signal()  # a drag started here is over (dropped or not)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.setDragDropMode(QListWidget.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setAlternatingRowColors(True)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        key, alt = event.key(), bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
        if key == Qt.Key.Key_Insert:
            self.insert_requested.emit()
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_requested.emit()
        elif alt and key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.move_requested.emit(-1 if key == Qt.Key.Key_Up else 1)
        else:
            super().keyPressEvent(event)

    def startDrag(self, supported: Qt.DropAction) -> None:  # noqa: N802 - Qt API
        # Returns after the drop, including a move done as insert-then-remove (a style or
        # Qt version may do that instead of moveRow), so the final order can be read now.
        super().startDrag(supported)
        self.drag_finished.emit()


class TokenListEditing:
    """The Tokens box of the sequence panel: its list, buttons and token menu, and their edits.

    A mixin of :class:`~induction_gui.qt.panels.sequence_panel.SequencePanel`
    (``self`` is the panel): it uses the panel's ``document``, ``scenario``,
    ``_syncing``, ``_writing_widgets`` and ``_push_tokens``.
    """

    def _build_token_box(self) -> QGroupBox:
        self.token_box = QGroupBox("Tokens")
        self.token_box.setToolTip("One row per position. Select a row to make it the query position in every view.")
        self.token_list = TokenList()
        self.token_list.setToolTip(
            "position: token. Selecting a row focuses that query position. Drag a row to move it; "
            "Insert adds a copy of the selected token, Delete removes it, Alt+Up/Down moves it."
        )
        self.insert_button = button("&Insert", "Insert a copy of the selected token after it (Insert key).")
        self.delete_button = button("&Delete", "Remove the selected token (Delete key).")
        self.up_button = button("▲", "Move the selected token one position earlier (Alt+Up).")
        self.down_button = button("▼", "Move the selected token one position later (Alt+Down).")
        self.up_button.setAccessibleName("Move token up")
        self.down_button.setAccessibleName("Move token down")
        buttons = QHBoxLayout()
        for b in (self.insert_button, self.delete_button, self.up_button, self.down_button):
            buttons.addWidget(b)
        self.token_combo = QComboBox()
        self.token_combo.setToolTip("Replace the token at the selected position by another word of the vocabulary.")
        self.token_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo_label = QLabel("Tok&en here:")
        self.combo_label.setBuddy(self.token_combo)
        row = QHBoxLayout()
        row.addWidget(self.combo_label)
        row.addWidget(self.token_combo, 1)
        self.list_message = message_label()
        inner = QVBoxLayout(self.token_box)
        inner.addWidget(self.token_list, 1)
        inner.addLayout(buttons)
        inner.addLayout(row)
        inner.addWidget(self.list_message)
        return self.token_box

    def _refresh_list(self) -> None:
        """Rows "position: token"; rows are updated in place so a drop in progress is not disturbed."""
        s = self.scenario
        tokens = s.tokens
        lst = self.token_list
        n_ctx = s.weights.config.n_ctx
        self.token_box.setTitle(f"Tokens ({tokens.size} of n_ctx {n_ctx})")
        width = len(str(max(tokens.size - 1, 0)))
        with self._writing_widgets():
            while lst.count() > tokens.size:
                lst.takeItem(lst.count() - 1)
            while lst.count() < tokens.size:
                item = QListWidgetItem()
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsDragEnabled)
                lst.addItem(item)
            for pos, tok in enumerate(tokens.tolist()):
                item = lst.item(pos)
                word = s.vocab[tok]
                label = f"{pos:>{width}}: {shown_token(word)}"
                if item.text() == label and item.data(Qt.ItemDataRole.UserRole) == tok:
                    continue  # a keystroke usually changes one row: leave the others alone
                item.setText(label)
                item.setData(Qt.ItemDataRole.UserRole, tok)
                bos = " (the start token)" if s.bos is not None and tok == s.bos else ""
                item.setToolTip(f"Position {pos}: token {word!r}, id {tok}{bos}")
            q = self.document.selection.query_pos
            if lst.currentRow() != q and 0 <= q < lst.count():
                lst.setCurrentRow(q)
        self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        n = self.scenario.tokens.size
        row = self.token_list.currentRow()
        self.insert_button.setEnabled(n < self.scenario.weights.config.n_ctx)
        self.delete_button.setEnabled(n > 1 and row >= 0)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < n - 1)
        self.token_combo.setEnabled(row >= 0)

    def _refresh_combo_items(self) -> None:
        with self._writing_widgets():
            self.token_combo.clear()
            for i, word in enumerate(self.scenario.vocab):
                self.token_combo.addItem(shown_token(word), i)
                self.token_combo.setItemData(i, f"id {i}: {word!r}", Qt.ItemDataRole.ToolTipRole)

    def _refresh_combo_value(self) -> None:
        row = self.token_list.currentRow()
        tokens = self.scenario.tokens
        self.combo_label.setText(f"Tok&en at {row}:" if row >= 0 else "Tok&en here:")
        if 0 <= row < tokens.size:
            with self._writing_widgets():
                self.token_combo.setCurrentIndex(int(tokens[row]))

    def _on_row_changed(self, row: int) -> None:
        if self._syncing or row < 0:
            return
        with self._writing_widgets():
            self.document.set_selection(query_pos=row)
        self._refresh_combo_value()
        self._refresh_buttons()

    def _on_rows_moved(self, _parent: QModelIndex, start: int, _end: int, _dest: QModelIndex, row: int) -> None:
        """A drop moved one row: the list already shows the new order; make it the document's."""
        if not self._syncing:
            self._apply_list_order(row - 1 if row > start else row)

    def _on_drag_finished(self) -> None:
        """Catch a drop that reordered rows without ``rowsMoved`` (insert, then remove)."""
        self._apply_list_order(self.token_list.currentRow())

    def _apply_list_order(self, new_row: int) -> None:
        lst = self.token_list
        order = [lst.item(i).data(Qt.ItemDataRole.UserRole) for i in range(lst.count())]
        if len(order) != self.scenario.tokens.size or any(t is None for t in order):
            self._refresh_list()  # not a reorder we understand: show the document again
            return
        tokens = np.array(order, dtype=np.int64)  # [pos]
        if np.array_equal(tokens, self.scenario.tokens):
            return
        self._push_tokens(tokens, f"Move token to {new_row}")
        if new_row >= 0:
            self.document.set_selection(query_pos=new_row)

    def _selected_row(self) -> int:
        row = self.token_list.currentRow()
        return row if 0 <= row < self.scenario.tokens.size else -1

    def _copy_for_insert(self, row: int) -> int:
        """The selected token, or (for none, or the start token) the first token that is not the start token."""
        s = self.scenario
        tokens = s.tokens
        if row >= 0 and (s.bos is None or tokens[row] != s.bos):
            return int(tokens[row])
        body = [int(t) for t in tokens if s.bos is None or t != s.bos]
        if body:
            return body[0]
        return next(i for i in range(len(s.vocab)) if i != s.bos)

    def insert_token(self) -> None:
        """Insert a copy of the selected token after it (at the end if nothing is selected)."""
        s = self.scenario
        n_ctx = s.weights.config.n_ctx
        if s.tokens.size >= n_ctx:
            show_message(self.list_message,
                         f"The model's context n_ctx is {n_ctx}: there is no room for another token.")
            return
        row = self._selected_row()
        at = row + 1 if row >= 0 else s.tokens.size
        tokens = np.insert(s.tokens, at, self._copy_for_insert(row))  # [pos + 1]
        self._push_tokens(tokens, f"Insert token at {at}")
        self.document.set_selection(query_pos=at)

    def delete_token(self) -> None:
        """Remove the selected token (a sequence keeps at least one)."""
        s = self.scenario
        row = self._selected_row()
        if row < 0:
            return
        if s.tokens.size <= 1:
            show_message(self.list_message, "A sequence needs at least one token: the last one cannot be deleted.")
            return
        self._push_tokens(np.delete(s.tokens, row), f"Delete token at {row}")
        self.document.set_selection(query_pos=min(row, s.tokens.size - 1))

    def move_token(self, step: int) -> None:
        """Move the selected token ``step`` positions (−1 earlier, +1 later)."""
        row = self._selected_row()
        to = row + step
        if row < 0 or not 0 <= to < self.scenario.tokens.size:
            return
        tokens = self.scenario.tokens.copy()
        tokens[row], tokens[to] = tokens[to], tokens[row]
        self._push_tokens(tokens, f"Move token {row} to {to}")
        self.document.set_selection(query_pos=to)

    def _on_token_combo_changed(self, index: int) -> None:
        row = self._selected_row()
        if self._syncing or row < 0 or index < 0:
            return
        new = int(self.token_combo.itemData(index))
        if new == int(self.scenario.tokens[row]):
            return
        tokens = self.scenario.tokens.copy()
        tokens[row] = new
        self._push_tokens(tokens, f"Set token {row} to {self.scenario.vocab[new]!r}")
