"""The left dock: the token sequence as text and as a list, and generators of test sequences.

The learner edits the sequence three ways (typing, the token list, generators)
and every edit is a command on the window's undo stack, never a direct call of
a document setter, so Ctrl+Z undoes anything. The panel follows the document:
an edit made elsewhere (undo, another panel, opening a file) is read back into
the text field and the list without pushing commands. Two guards keep the two
directions from feeding each other: ``_syncing`` while the panel writes to its
own widgets, and ``_typing`` while a keystroke's command is being pushed (so the
text the learner is typing is never rewritten under the cursor).

What typed text means and how a generator fits its sequence to the model is
Qt-free (:mod:`induction_gui.model.sequence_edit`); the generator's widgets are
:class:`~induction_gui.qt.panels.generator_form.GeneratorForm`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PySide6.QtCore import QEvent, QModelIndex, Qt, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QFocusEvent,
    QFont,
    QFontDatabase,
    QKeyEvent,
    QKeySequence,
    QResizeEvent,
    QTextLayout,
    QTextOption,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...engine import sequences
from ...engine.sequences import GeneratedSequence
from ...engine.vocab_edit import extend_vocab, missing_words, translate_tokens
from ...model.document import Document, Selection
from ...model.events import Change, ModelReplaced, TokensChanged, VocabChanged
from ...model.scenario import Scenario
from ...model.sequence_edit import GeneratorSpec, Parsed, focus_position, parse_sequence
from ..commands import SET_TOKENS_ID, SetModelStateCommand, SetTokensCommand
from .generator_form import ERROR_COLOR, GeneratorForm, button, message_label, show_message

# A merge id of its own: keystrokes must merge only with keystrokes of the same burst,
# never with another panel's merging SetTokensCommand (which uses SET_TOKENS_ID).
_TYPING_ID = SET_TOKENS_ID + 0x10000
_INVALID_FRAME = f"QPlainTextEdit {{ border: 2px solid {ERROR_COLOR}; border-radius: 3px; }}"
_VALID_FRAME = "QPlainTextEdit { border: 2px solid palette(mid); border-radius: 3px; }"


def shown_token(word: str) -> str:
    """A token as the list shows it: spaces and line breaks made visible (chars mode)."""
    return word.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥") or "∅"


# -- small widgets -------------------------------------------------------------------------------


class _SequenceEdit(QPlainTextEdit):
    """The sequence as text; Enter and focus-out end a typing burst, Ctrl+Z undoes the document.

    Ctrl+Z / Ctrl+Shift+Z are taken from the text box's own undo (which would
    undo characters behind the document's back) and handed to the window's
    undo stack, so undo means the same thing everywhere.
    """

    committed = Signal()  # Enter or focus-out: the typing burst ends
    undo_requested = Signal()
    redo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setUndoRedoEnabled(False)
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.textChanged.connect(self.fit_height)

    def fit_height(self, min_lines: int = 2, max_lines: int = 6) -> None:
        """As tall as the wrapped text, within limits: a long sequence stays visible without scrolling."""
        lines = min(max(self._wrapped_lines(), min_lines), max_lines)
        frame = 2 * self.frameWidth() + 2 * self.document().documentMargin() + 8  # 8: the style-sheet border
        height = int(self.fontMetrics().lineSpacing() * lines + frame)
        if self.height() != height:
            self.setFixedHeight(height)

    def _wrapped_lines(self) -> int:
        """Lines the text wraps to at the current width, measured here: the editor lays out lazily."""
        width = self.viewport().width() - 2 * self.document().documentMargin()
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        lines = 0
        block = self.document().firstBlock()
        while block.isValid():
            layout = QTextLayout(block.text(), self.font())
            layout.setTextOption(option)
            layout.beginLayout()
            while (line := layout.createLine()).isValid():
                line.setLineWidth(max(width, 1.0))
                lines += 1
            layout.endLayout()
            lines += 0 if block.text() else 1
            block = block.next()
        return lines

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self.fit_height()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if event.matches(QKeySequence.StandardKey.Undo) or event.matches(QKeySequence.StandardKey.Redo):
                event.accept()  # deliver as a key press to us rather than firing a window shortcut twice
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.committed.emit()  # a line break means nothing in a token sequence
        elif event.matches(QKeySequence.StandardKey.Undo):
            self.undo_requested.emit()
        elif event.matches(QKeySequence.StandardKey.Redo):
            self.redo_requested.emit()
        else:
            super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt API
        super().focusOutEvent(event)
        self.committed.emit()


class _TokenList(QListWidget):
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


class _TypingCommand(SetTokensCommand):
    """One keystroke's tokens; keystrokes of one burst merge into a single undo step."""

    def __init__(self, document: Document, tokens: np.ndarray, burst: int) -> None:
        super().__init__(document, tokens, "Type sequence", merge=True)
        self.burst = burst

    def id(self) -> int:
        return _TYPING_ID

    def mergeWith(self, other: object) -> bool:  # noqa: N802 - Qt API
        return isinstance(other, _TypingCommand) and other.burst == self.burst and super().mergeWith(other)


# -- the panel ---------------------------------------------------------------------------------------


class SequencePanel(QWidget):
    """Edit the token sequence: type it, edit it token by token, or generate a test sequence.

    Parameters
    ----------
    document
        the open document; the panel reads it and follows its ``scenario`` and
        ``selection`` events.
    undo_stack
        where every edit goes, as a command.
    """

    def __init__(self, document: Document, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.undo_stack = undo_stack
        self._syncing = False  # the panel is writing to its own widgets: ignore their signals
        self._typing = False  # a keystroke's command is being pushed: do not rewrite the text
        self._burst = 0  # keystrokes with the same burst number merge into one undo step
        self._generated: np.ndarray | None = None  # tokens of the last generated sequence
        self.setToolTip("The token sequence the model reads. Every edit here can be undone with Ctrl+Z.")
        self._setup_ui()
        self._connect()
        self.set_font_size(12.0)
        self._refresh_from_document(ModelReplaced())
        self._on_selection_changed(document.selection)

    # -- building --------------------------------------------------------------------------------
    def _setup_ui(self) -> None:
        # Inside a scroll area: with a projector's font size the panel may be taller than the
        # dock, and scrolling beats squeezing the generator's fields into unreadable slivers.
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(8)
        layout.addWidget(self._build_text_box())
        layout.addWidget(self._build_token_box(), 1)
        layout.addWidget(self._build_generator_form())
        scroll = self._scroll = QScrollArea()
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def full_width(self) -> int:
        """Width at which every control shows whole, with no horizontal scrolling (the dock's default)."""
        content = self._scroll.widget()
        return content.minimumSizeHint().width() + self._scroll.verticalScrollBar().sizeHint().width() + 4

    def _build_text_box(self) -> QGroupBox:
        box = QGroupBox("Sequence")
        box.setToolTip("The sequence as text. Edits apply as you type; Enter ends one undo step.")
        self.text_hint = QLabel()
        self.text_hint.setWordWrap(True)
        self.text_edit = _SequenceEdit()
        self.text_edit.setToolTip(
            "The sequence as text. Each valid edit applies at once; a burst of typing is one undo step, "
            "ended by Enter or leaving the field. Ctrl+Z undoes the document."
        )
        self.text_hint.setBuddy(self.text_edit)
        self.error_label = message_label()
        self.error_label.setToolTip("Why the typed text is not applied to the model.")
        self.add_words_button = QPushButton()
        self.add_words_button.setToolTip(
            "Append the unknown words to the vocabulary: each gets a small random embedding (W_E row) and a "
            "zero unembedding (W_U column), so the model can read it but never predicts it. Undoable."
        )
        self.add_words_button.hide()
        inner = QVBoxLayout(box)
        inner.addWidget(self.text_hint)
        inner.addWidget(self.text_edit)
        inner.addWidget(self.error_label)
        inner.addWidget(self.add_words_button)
        return box

    def _build_token_box(self) -> QGroupBox:
        self.token_box = QGroupBox("Tokens")
        self.token_box.setToolTip("One row per position. Select a row to make it the query position in every view.")
        self.token_list = _TokenList()
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

    def _build_generator_form(self) -> GeneratorForm:
        """The generator form; its widgets keep their names on the panel, where menus and tests reach them."""
        form = self.generator_form = GeneratorForm(self.document)
        self.generator_combo, self.seed_spin, self.generate_button = (
            form.generator_combo, form.seed_spin, form.generate_button)
        self.generator_message, self.generator_description = form.generator_message, form.generator_description
        self.block_spin, self.length_spin, self.distance_spin, self.no_repeat_spin, self.filler_spin = (
            form.block_spin, form.length_spin, form.distance_spin, form.no_repeat_spin, form.filler_spin)
        return form

    def _connect(self) -> None:
        self.text_edit.textChanged.connect(self._on_text_changed)
        self.text_edit.committed.connect(self._end_burst)
        self.text_edit.undo_requested.connect(self._on_undo_requested)
        self.text_edit.redo_requested.connect(self._on_redo_requested)
        self.add_words_button.clicked.connect(self._on_add_words_clicked)
        self.token_list.currentRowChanged.connect(self._on_row_changed)
        self.token_list.model().rowsMoved.connect(self._on_rows_moved)
        self.token_list.drag_finished.connect(self._on_drag_finished)
        self.token_list.insert_requested.connect(self.insert_token)
        self.token_list.delete_requested.connect(self.delete_token)
        self.token_list.move_requested.connect(self.move_token)
        self.insert_button.clicked.connect(self.insert_token)
        self.delete_button.clicked.connect(self.delete_token)
        self.up_button.clicked.connect(lambda: self.move_token(-1))
        self.down_button.clicked.connect(lambda: self.move_token(1))
        self.token_combo.currentIndexChanged.connect(self._on_token_combo_changed)
        self.generate_button.clicked.connect(self.generate)
        self.document.events.scenario.connect(self._on_scenario_changed)
        self.document.events.selection.connect(self._on_selection_changed)

    def detach(self) -> None:
        """Stop following the document (before the panel is deleted)."""
        self.document.events.scenario.disconnect(self._on_scenario_changed)
        self.document.events.selection.disconnect(self._on_selection_changed)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.detach()
        super().closeEvent(event)

    def set_font_size(self, points: float) -> None:
        """Fonts of the sequence, the list and the token menu (the settings' font scale, projectors)."""
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        fixed.setPointSizeF(points)
        ui = QFont(self.font())
        ui.setPointSizeF(max(points - 1.0, 9.0))
        self.setFont(ui)
        for label in self.findChildren(QLabel):  # a style sheet stops a label from inheriting the font
            if label.styleSheet():
                label.setFont(ui)
        bold = QFont(ui)
        bold.setBold(True)
        self.error_label.setFont(bold)
        self.text_edit.setFont(fixed)
        self.token_list.setFont(fixed)
        self.token_list.setMinimumHeight(self.token_list.fontMetrics().lineSpacing() * 5)
        self.text_edit.fit_height()

    # -- small helpers ----------------------------------------------------------------------------
    @property
    def scenario(self) -> Scenario:
        return self.document.scenario

    @contextmanager
    def _writing_widgets(self) -> Iterator[None]:
        """Mark writes to our own widgets, so their change signals push nothing."""
        old, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = old

    def _push_tokens(self, tokens: np.ndarray, text: str) -> None:
        """One undoable token edit; the caller has checked length and ids."""
        self._end_burst()
        self.undo_stack.push(SetTokensCommand(self.document, tokens, text))

    def _end_burst(self) -> None:
        """The next keystroke starts a new undo step."""
        self._burst += 1

    # -- document -> widgets -----------------------------------------------------------------------
    def _on_scenario_changed(self, change: Change) -> None:
        if isinstance(change, (TokensChanged, VocabChanged, ModelReplaced)):
            self._refresh_from_document(change)

    def _refresh_from_document(self, change: Change) -> None:
        if not self._typing:
            self._end_burst()  # undo, another panel or a file: typing afterwards is a new step
            self._refresh_text()
        if isinstance(change, (VocabChanged, ModelReplaced)):
            self._refresh_combo_items()
        if isinstance(change, ModelReplaced):
            self.generator_form.refresh_limits()
        self._refresh_list()
        self._refresh_combo_value()
        show_message(self.list_message, "")
        if self._generated is not None and not np.array_equal(self._generated, self.scenario.tokens):
            self._generated = None
            show_message(self.generator_description, "")

    def _refresh_text(self) -> None:
        """Show the document's tokens, unless the text already means exactly them (cursor kept)."""
        s = self.scenario
        current = self.text_edit.toPlainText()
        parsed = parse_sequence(current, s)
        mode = "words: separate tokens by spaces" if s.tokenizer == "words" else "characters: each one is a token"
        self.text_hint.setText(f"Type the sequence ({mode}):")
        if parsed.tokens is None or not np.array_equal(parsed.tokens, s.tokens):
            text = sequences.detokenize(s.tokens, s.vocab, s.tokenizer)
            cursor = self.text_edit.textCursor().position()
            with self._writing_widgets():
                self.text_edit.setPlainText(text)
                c = self.text_edit.textCursor()
                c.setPosition(min(cursor, len(text)))
                self.text_edit.setTextCursor(c)
        self._show_parse_problem(parse_sequence(self.text_edit.toPlainText(), s))

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

    def _on_selection_changed(self, selection: Selection) -> None:
        if self._syncing:
            return
        with self._writing_widgets():
            if 0 <= selection.query_pos < self.token_list.count():
                self.token_list.setCurrentRow(selection.query_pos)
        self._refresh_combo_value()
        self._refresh_buttons()

    # -- typing ----------------------------------------------------------------------------------------
    def _on_text_changed(self) -> None:
        if self._syncing:
            return
        parsed = parse_sequence(self.text_edit.toPlainText(), self.scenario)
        self._show_parse_problem(parsed)
        if parsed.tokens is None or np.array_equal(parsed.tokens, self.scenario.tokens):
            return
        self._typing = True
        try:
            self.undo_stack.push(_TypingCommand(self.document, parsed.tokens, self._burst))
        finally:
            self._typing = False

    def _show_parse_problem(self, parsed: Parsed) -> None:
        show_message(self.error_label, parsed.problem)
        frame = _INVALID_FRAME if parsed.problem else _VALID_FRAME
        if self.text_edit.styleSheet() != frame:  # re-polishing on every keystroke would be wasted work
            self.text_edit.setStyleSheet(frame)
        can_add = bool(parsed.unknown) and not parsed.too_long
        if can_add:
            words = ", ".join(repr(u) for u in parsed.unknown)
            self.add_words_button.setText(f"&Add {words} to the vocabulary")
        self.add_words_button.setVisible(can_add)

    def _on_add_words_clicked(self) -> None:
        s = self.scenario
        text = self.text_edit.toPlainText()
        parsed = parse_sequence(text, s)
        if not parsed.unknown:
            return
        vocab, weights = extend_vocab(s.vocab, s.weights, parsed.unknown, seed=s.seed)
        tokens = sequences.tokenize(text, vocab, s.tokenizer)  # [pos]
        if tokens.size > weights.config.n_ctx:  # parse_sequence said so too; never push an invalid state
            return
        self._end_burst()
        words = ", ".join(repr(u) for u in parsed.unknown)
        self.undo_stack.push(SetModelStateCommand(self.document, vocab, weights, tokens, s.bos,
                                                  f"Add {words} to the vocabulary"))

    def _on_undo_requested(self) -> None:
        self._end_burst()
        self.undo_stack.undo()

    def _on_redo_requested(self) -> None:
        self._end_burst()
        self.undo_stack.redo()

    # -- the token list ----------------------------------------------------------------------------------
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

    # -- generators ---------------------------------------------------------------------------------------------
    def generate(self) -> None:
        """Load the chosen generator's sequence for the current seed (one undo step) and describe it."""
        spec = self.generator_form.spec
        try:
            gen = spec.build(self.scenario, self.seed_spin.value(), **self.generator_form.parameters())
        except ValueError as exc:  # CannotGenerate, or a generator refusing this vocabulary
            show_message(self.generator_message, f"Cannot generate “{spec.label}”: {exc}")
            return
        show_message(self.generator_message, "")
        if gen.vocab is not None:
            self._load_with_vocabulary(gen, spec)
        else:
            self._push_tokens(np.asarray(gen.tokens), f"Generate: {spec.label}")
        self._generated = self.scenario.tokens.copy()
        show_message(self.generator_description, f"Loaded: {gen.description.rstrip('.')}.")
        self.document.set_selection(query_pos=focus_position(gen))

    def _load_with_vocabulary(self, gen: GeneratedSequence, spec: GeneratorSpec) -> None:
        """Extend the vocabulary with the generator's words, then load its tokens: one undo step."""
        s = self.scenario
        assert gen.vocab is not None
        new_words = missing_words(s.vocab, gen.vocab)
        self._end_burst()
        self.undo_stack.beginMacro(f"Generate: {spec.label}")
        try:
            if new_words:
                vocab, weights = extend_vocab(s.vocab, s.weights, new_words, seed=s.seed)
                self.undo_stack.push(SetModelStateCommand(self.document, vocab, weights, s.tokens, s.bos,
                                                          f"Add {len(new_words)} words to the vocabulary"))
            tokens = translate_tokens(gen.tokens, gen.vocab, self.scenario.vocab)  # [pos]
            self.undo_stack.push(SetTokensCommand(self.document, tokens, f"Generate: {spec.label}"))
        finally:
            self.undo_stack.endMacro()
