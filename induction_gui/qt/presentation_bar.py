"""The presenter's bar: large Previous / Next buttons, "3 / 9", and a way out.

A teacher without a clicker walks to the laptop and clicks; one with a
clicker still wants to see where the course is. Arrows rather than words, so the bar
fits the narrowest lesson column at projector font sizes. The bar sits at the top of
the lesson column (it replaces the dock's title bar while presenting, so it
takes no extra row), and every button names its keys in its tooltip.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

BUTTON_HEIGHT_EM = 2.0  # buttons this many text heights tall: an easy target on a touch screen or with a trackpad

NEXT_KEYS = "Page Down, → or Space"
PREVIOUS_KEYS = "Page Up, ←, Shift+Space or Backspace"
BLANK_KEYS = "B or ."


class PresenterBar(QWidget):
    """◀ (previous), "k / n", ▶ (next), ✕ (leave): calls ``step(delta)`` and ``leave()``; :meth:`set_position` updates it."""

    def __init__(self, step: Callable[[int], object], leave: Callable[[], object],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("presenter_bar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.prev_button = QPushButton("◀")
        self.prev_button.setToolTip(f"Previous step ({PREVIOUS_KEYS})")
        self.prev_button.clicked.connect(lambda: step(-1))
        self.position_label = QLabel("")
        self.position_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.position_label.setToolTip(f"Step of the lesson. {BLANK_KEYS} blanks the screen (black) and back.")
        self.position_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.next_button = QPushButton("▶")
        self.next_button.setToolTip(f"Next step ({NEXT_KEYS})")
        self.next_button.clicked.connect(lambda: step(1))
        self.leave_button = QPushButton("✕")
        self.leave_button.setToolTip("Leave presentation mode (Esc or F11)")
        self.leave_button.clicked.connect(leave)
        for button in (self.prev_button, self.next_button, self.leave_button):
            # a click on a button must not take the keyboard from the window (Space would press it again)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            layout.addWidget(button)
            if button is self.prev_button:
                layout.addWidget(self.position_label)
        font = self.position_label.font()
        font.setBold(True)
        self.position_label.setFont(font)

    def set_position(self, index: int, count: int, *, wraps: bool = False) -> None:
        """Show step ``index`` (0-based) of ``count``; at either end its button is off, unless stepping wraps."""
        self.position_label.setText(f"{index + 1} / {count}" if count else "")
        self.prev_button.setEnabled(count > 1 and (wraps or index > 0))
        self.next_button.setEnabled(count > 1 and (wraps or index < count - 1))

    def changeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt API
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self._size_buttons()

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt API
        super().showEvent(event)
        self._size_buttons()

    def _size_buttons(self) -> None:
        height = round(self.fontMetrics().height() * BUTTON_HEIGHT_EM)
        for button in (self.prev_button, self.next_button, self.leave_button):
            button.setMinimumHeight(height)
            button.setMinimumWidth(height)
