"""Ctrl+Z and Ctrl+Shift+Z: the focused field's own undo when it has one, else the document's.

A text field or spin box claims the undo keys for itself (Qt sends it a
``ShortcutOverride`` and it accepts), so the window's Undo action never fires
while one has the focus, even when the field has nothing to undo. That is
the case of every spin box bound to the document: the panel writes the
document's value back into it, which clears the field's own history, and
Ctrl+Z did nothing. :class:`UndoKeys` decides instead: a field with typing
to undo (or redo) keeps the key; otherwise the key undoes (redoes) the
document, as it does everywhere else in the window.

Text editors that turned their own undo off (the sequence editor, whose every
keystroke is a document edit) handle the keys themselves and are left alone.

The filter sits on the focused field only, moved as the focus moves: an
application-wide Python event filter would see every paint, timer and mouse
event of the program (~10⁵ per window shown), and it made every window built
after it three times slower to draw.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QUndoStack
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QPlainTextEdit, QTextEdit, QWidget


def _editor(widget: QObject) -> QLineEdit | QTextEdit | QPlainTextEdit | None:
    """The text-editing widget behind ``widget`` (a spin box's line edit), or None."""
    if isinstance(widget, QAbstractSpinBox):
        return widget.lineEdit()
    if isinstance(widget, QLineEdit):
        return widget
    if isinstance(widget, (QTextEdit, QPlainTextEdit)) and widget.isUndoRedoEnabled():
        return widget
    return None


def field_can(editor: QLineEdit | QTextEdit | QPlainTextEdit, redo: bool) -> bool:
    """Whether the field has typing of its own to undo (``redo``: to redo)."""
    if editor.isReadOnly():
        return False
    if isinstance(editor, QLineEdit):
        return editor.isRedoAvailable() if redo else editor.isUndoAvailable()
    doc = editor.document()
    return doc.isRedoAvailable() if redo else doc.isUndoAvailable()


def _matches(event: QKeyEvent, action: QAction) -> bool:
    pressed = QKeySequence(event.keyCombination())
    return any(pressed.matches(s) == QKeySequence.SequenceMatch.ExactMatch for s in action.shortcuts())


class UndoKeys(QObject):
    """An event filter on the focused field giving the undo keys to it if it has its own history, else to ``stack``.

    Only widgets of ``window`` are concerned; dialogs keep Qt's behaviour.
    ``undo_action`` and ``redo_action`` name the keys (their shortcuts), so the
    menu and this filter cannot disagree.
    """

    def __init__(self, window: QWidget, stack: QUndoStack, undo_action: QAction, redo_action: QAction) -> None:
        super().__init__(window)
        self._window = window
        self._stack = stack
        self._undo = undo_action
        self._redo = redo_action
        self._field: QWidget | None = None  # the field the filter sits on now
        QApplication.instance().focusChanged.connect(self._on_focus_changed)
        self._following = True

    def _on_focus_changed(self, old: QWidget | None, now: QWidget | None) -> None:
        """Move the filter to the newly focused field of our window (it sees only that field's events)."""
        self.release()
        if now is not None and _editor(now) is not None and now.window() is self._window:
            now.installEventFilter(self)
            self._field = now

    def release(self) -> None:
        """Take the filter off the field it sits on (focus moved, or the window shuts down)."""
        field, self._field = self._field, None
        if field is not None and shiboken6.isValid(field):
            field.removeEventFilter(self)

    def detach(self) -> None:
        """Stop following the focus (the window is shutting down)."""
        self.release()
        if self._following:  # shutdown runs again on close
            self._following = False
            QApplication.instance().focusChanged.disconnect(self._on_focus_changed)

    def _which(self, watched: QObject, event: QEvent) -> tuple[QLineEdit | QTextEdit | QPlainTextEdit, bool] | None:
        """(the field, is it redo) if ``event`` is an undo/redo key for a field of our window."""
        if not isinstance(watched, QWidget) or not isinstance(event, QKeyEvent):
            return None
        editor = _editor(watched)
        if editor is None or watched.window() is not self._window:
            return None
        if _matches(event, self._undo):
            return editor, False
        if _matches(event, self._redo):
            return editor, True
        return None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        which = self._which(watched, event)
        if which is None:
            return False
        editor, redo = which
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # the key press comes to the field, and to us first: the window's action stays quiet
            return True
        if field_can(editor, redo):
            return False  # the field undoes its own typing
        if redo:
            self._stack.redo()
        else:
            self._stack.undo()
        return True


def install_undo_keys(window: QWidget, stack: QUndoStack, undo_action: QAction, redo_action: QAction) -> UndoKeys:
    """Give the undo keys of ``window``'s focused field to the field or the document (``detach()`` on shutdown)."""
    keys = UndoKeys(window, stack, undo_action, redo_action)
    focused = QApplication.focusWidget()
    if focused is not None:
        keys._on_focus_changed(None, focused)
    return keys
