"""Plain-text labels: token text shown as typed, projector-sized, and warnings that are never swallowed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QWidget


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
