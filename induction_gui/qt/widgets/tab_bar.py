"""A tab bar whose titles get shorter, not hidden, when the bar is short of room.

On a 1280 px projector with projector fonts the centre views' titles do not
fit beside the lesson. Qt either hides tabs behind scroll arrows (a tab the
learner never finds) or elides every title alike ("Circ…", "Attenti…"). Here a
view may name a short title ("Copied" for "Copied representation"), used only
while the full titles do not fit; eliding stays the last resort. The tab text
itself never changes (lessons and menus find tabs by it), and each tab's tool
tip starts with its full title.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QStyleOptionTab, QTabBar, QTabWidget, QWidget


class ShortTitleTabBar(QTabBar):
    """A ``QTabBar`` drawing each tab's short title (if it has one) while the full titles do not fit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._short: dict[str, str] = {}  # full title -> short title
        self.setUsesScrollButtons(False)  # never hide a tab behind arrows
        self.setElideMode(Qt.TextElideMode.ElideRight)  # the last resort, after the short titles

    def set_short_title(self, title: str, short: str) -> None:
        """Draw ``short`` for the tab titled ``title`` when the bar is short of room."""
        self._short[title] = short
        self.updateGeometry()
        self.update()

    def _room(self) -> int:
        parent = self.parentWidget()
        return parent.width() if isinstance(parent, QTabWidget) else self.width()

    def shortening(self) -> bool:
        """True while the full titles do not fit the room the bar has."""
        full = sum(super(ShortTitleTabBar, self).tabSizeHint(i).width() for i in range(self.count()))
        return full > self._room()

    def _saving(self, index: int) -> int:
        """Pixels the short title saves on tab ``index`` (0 without one)."""
        title = self.tabText(index)
        short = self._short.get(title)
        if short is None:
            return 0
        metrics = self.fontMetrics()
        return max(0, metrics.horizontalAdvance(title) - metrics.horizontalAdvance(short))

    def tabSizeHint(self, index: int) -> QSize:  # noqa: N802 - Qt API
        hint = super().tabSizeHint(index)
        if self._short and self.shortening():
            hint.setWidth(hint.width() - self._saving(index))
        return hint

    def initStyleOption(self, option: QStyleOptionTab, index: int) -> None:  # noqa: N802 - Qt API
        super().initStyleOption(option, index)
        short = self._short.get(self.tabText(index))
        if short is not None and self.shortening():
            padding = super().tabSizeHint(index).width() - self.fontMetrics().horizontalAdvance(self.tabText(index))
            option.text = self.fontMetrics().elidedText(short, Qt.TextElideMode.ElideRight,
                                                        max(option.rect.width() - padding, 0))
