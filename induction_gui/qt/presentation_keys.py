"""The keys a presentation clicker sends, and the blank (black) screen.

Clickers send Page Down / Page Up, some → / ← or Space, and a "blank" button
that sends B or "." (PowerPoint's keys). While presenting, those keys step the
lesson and blank the screen, wherever the focus is in the window, except in
a widget that uses them to edit: an arrow key in a spin box or a table, a
space or a "b" typed into a text field stay theirs. Page Down / Page Up are
the window's own actions (they work outside the mode too); the others are
caught here, by an application event filter that exists only while presenting.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QKeySequenceEdit,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

NEXT = {Qt.Key.Key_Right, Qt.Key.Key_Space}
PREVIOUS = {Qt.Key.Key_Left, Qt.Key.Key_Backspace}  # and Shift+Space
BLANK = {Qt.Key.Key_B, Qt.Key.Key_Period}
EDITING = (QLineEdit, QAbstractSpinBox, QAbstractItemView, QComboBox, QAbstractSlider, QKeySequenceEdit)


def is_editing(widget: QWidget | None) -> bool:
    """Whether ``widget`` (or a widget it is part of) uses arrows, Space or letters to edit.

    Read-only text (the lesson's own prose) does not count: an arrow there
    steps the lesson.
    """
    while widget is not None:
        if isinstance(widget, EDITING):
            return True
        if isinstance(widget, (QTextEdit, QPlainTextEdit)) and not widget.isReadOnly():
            return True
        if widget.isWindow():
            return False
        widget = widget.parentWidget()
    return False


class BlankScreen(QWidget):
    """A black cover over the whole window (the projector shows black); a click or a clicker key lifts it."""

    def __init__(self, window: QWidget, on_click: Callable[[], object]) -> None:
        super().__init__(window)
        self.setObjectName("blank_screen")
        self.setAutoFillBackground(True)
        self.setStyleSheet("#blank_screen { background: black; }")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setCursor(Qt.CursorShape.BlankCursor)
        self._on_click = on_click
        self.hide()
        window.installEventFilter(self)  # follows the window's size

    def cover(self) -> None:
        """Cover the window, above every dock and view."""
        self.setGeometry(self.parentWidget().rect())
        self.show()
        self.raise_()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if obj is self.parentWidget() and event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.parentWidget().rect())
        return False

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        event.accept()
        self._on_click()


class ClickerKeys(QObject):
    """While installed on the application: →/Space next, ←/Shift+Space/Backspace previous, B/. blank."""

    def __init__(self, window: QWidget, step: Callable[[int], object], toggle_blank: Callable[[], object]) -> None:
        super().__init__(window)
        self.window = window
        self._step = step
        self._toggle_blank = toggle_blank

    def install(self) -> None:
        QApplication.instance().installEventFilter(self)

    def remove(self) -> None:
        QApplication.instance().removeEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() != QEvent.Type.KeyPress or not isinstance(obj, QWidget) or obj.window() is not self.window:
            return False
        action = self.action_for(event, obj)
        if action is None:
            return False
        action()
        return True

    def action_for(self, event: QKeyEvent, receiver: QWidget) -> Callable[[], object] | None:
        """What ``event`` does, or None when it is not a clicker key here (an editing widget keeps it)."""
        key = event.key()  # an int: Qt.Key members compare equal to it
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        plain = mods == Qt.KeyboardModifier.NoModifier
        shift_space = key == Qt.Key.Key_Space and mods == Qt.KeyboardModifier.ShiftModifier
        if not (shift_space or (plain and key in NEXT | PREVIOUS | BLANK)):
            return None
        # the event may be on its way up from a focused editor that ignored it: the focus decides too
        if is_editing(receiver) or is_editing(QApplication.focusWidget()):
            return None
        if key in BLANK:
            return None if event.isAutoRepeat() else self._toggle_blank
        delta = -1 if shift_space or key in PREVIOUS else 1
        return lambda: self._step(delta)
