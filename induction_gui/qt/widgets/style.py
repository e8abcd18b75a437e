"""Sizes and marks that follow the font: pen widths, and which widgets are explanations.

Presentation mode scales text for a projector; lines scale with it, and the
prose that explains a view is marked so the projector layout can hide it.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

EXPLANATION = "explanation"  # dynamic property of a widget that explains a view; presentation mode hides it
BASE_LINE_POINTS = 11.0  # the font size at which lines have their nominal width


def mark_explanation(*widgets: QWidget) -> None:
    """Mark static explanations (captions, hints) that a projector layout leaves to the lesson and the teacher.

    On a 720-row projector every caption line is a line the heatmap loses; the
    numbers a view shows stay (they carry their variant in the heading or in
    a tool tip), only the prose goes.
    """
    for widget in widgets:
        widget.setProperty(EXPLANATION, True)


def line_width(width: float, points: float) -> float:
    """A pen width scaled with the font, so lines stay as visible as text on a projector (never thinner)."""
    return width * max(1.0, points / BASE_LINE_POINTS)
