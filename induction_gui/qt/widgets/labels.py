"""Plain-text labels: token text shown as typed, projector-sized, and warnings that are never swallowed."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

MIN_ELIDED_CHARS = 6  # an elided label never gets narrower than this many wide characters


def set_label_points(label: QWidget, points: float, *, bold: bool = False) -> None:
    """Font size of a QLabel in points (projector-sized text follows the settings)."""
    font = QFont(label.font())
    font.setPointSizeF(points)
    font.setBold(bold)
    label.setFont(font)


def plain_label(text: str = "", *, wrap: bool = True) -> QLabel:
    """A QLabel that never reads text as HTML: the token ``<s>`` must not turn into strikethrough."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    return label


def warning_label() -> QLabel:
    """A red, wrapped, hidden label for ``results.warnings`` (never swallowed silently)."""
    label = plain_label()
    label.setStyleSheet("color: #b00020; font-weight: bold;")
    label.hide()
    return label


def show_warnings(label: QLabel, warnings: list[str]) -> None:
    if warnings:
        label.setText("⚠ Not every number is finite: " + "; ".join(warnings) + ". A weight is too large.")
        label.show()
    else:
        label.hide()


class ElidedLabel(QLabel):
    """One line of plain text cut with "…" to the label's width, the whole text in its tool tip.

    For names (a head, a token, a title) that must not widen a pane on a small
    screen; prose wraps instead (:func:`plain_label`). The whole text is kept in
    the ``full_text`` property, which the screen checks read.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None, *, tooltip: str = "") -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._extra_tip = tooltip
        self._full = ""
        self.set_full_text(text)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        """Show ``text``, elided to the current width."""
        self._full = text
        self.setProperty("full_text", text)
        self._elide()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API: callers that set text keep working
        self.set_full_text(text)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API: the whole text, when there is room
        margins = self.contentsMargins()
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right() + 2,
                     super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API: a few characters, the rest elided
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance("M" * MIN_ELIDED_CHARS) + margins.left() + margins.right()
        return QSize(min(width, self.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.updateGeometry()
            self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(width, 0))
        QLabel.setText(self, shown)
        tip = self._full if shown != self._full else ""
        self.setToolTip("\n".join(t for t in (tip, self._extra_tip) if t))
