"""The sequence as text: an editor whose Enter and focus-out end a typing burst, and the burst's command.

Typing applies at once, one command per keystroke; the keystrokes of a burst
merge into one undo step. Ctrl+Z in the editor undoes the document, not
characters behind its back.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QKeySequence, QResizeEvent, QTextLayout, QTextOption
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from ...model.document import Document
from ..commands import SET_TOKENS_ID, SetTokensCommand
from .generator_form import ERROR_COLOR

# A merge id of its own: keystrokes must merge only with keystrokes of the same burst,
# never with another panel's merging SetTokensCommand (which uses SET_TOKENS_ID).
TYPING_ID = SET_TOKENS_ID + 0x10000
INVALID_FRAME = f"QPlainTextEdit {{ border: 2px solid {ERROR_COLOR}; border-radius: 3px; }}"
VALID_FRAME = "QPlainTextEdit { border: 2px solid palette(mid); border-radius: 3px; }"


class SequenceEdit(QPlainTextEdit):
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


class TypingCommand(SetTokensCommand):
    """One keystroke's tokens; keystrokes of one burst merge into a single undo step."""

    def __init__(self, document: Document, tokens: np.ndarray, burst: int) -> None:
        super().__init__(document, tokens, "Type sequence", merge=True)
        self.burst = burst

    def id(self) -> int:
        return TYPING_ID

    def mergeWith(self, other: object) -> bool:  # noqa: N802 - Qt API
        return isinstance(other, TypingCommand) and other.burst == self.burst and super().mergeWith(other)
