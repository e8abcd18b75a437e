"""The Counting view's sequence strip: one cell per token, hover a cell to count up to it, click to focus it.

The Counting view answers "what does the model predict here, and what do the
counts say?" for one position at a time. Without a way to point at positions
inside the view, a learner would have to go back to the token list for every
new position; the strip shows the whole sequence as a row of state-coloured
cells, so moving the pointer along it scrubs the bars and the bigram estimate
through the context, as hovering a cell of the attention pattern does
elsewhere. A click makes the position the document's query position (the
selection every view shares); the hover is the view's own, and leaving the
strip goes back to the focused position.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..widgets.plotting import qfont

# a light colour per state (Okabe–Ito, lightened), so the state letter stays readable on it
STATE_COLORS = ("#9CC9E8", "#F5C77E", "#8FD3BE", "#E6B3CF", "#F7EE9A", "#B9DDF2", "#E8A97F", "#C8C8C8")
FOCUS_COLOR = "#D62728"  # the focused position's frame: the red of the other views' query marks
HOVER_COLOR = "#000000"


class SequenceStrip(QWidget):
    """A row of cells, one per position; ``None`` states (a start token) are drawn blank.

    Signals
    -------
    hovered(int)
        the position under the pointer, or -1 when the pointer leaves.
    clicked(int)
        a position clicked with the left button.
    """

    hovered = Signal(int)
    clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.states: list[int | None] = []  # [pos]: the state at each position, None for a start token
        self.names: list[str] = []  # [k]
        self.focused: int | None = None
        self.hover: int | None = None
        self._points = 11.0
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("The sequence, one cell per position (colour = state). Hover a cell to count up to that "
                        "position; click it to make it the query position of every view.")

    def set_sequence(self, states: Sequence[int | None], names: Sequence[str], focused: int | None) -> None:
        """Show ``states`` ([pos]) named by ``names`` ([k]), with ``focused`` framed."""
        self.states, self.names, self.focused = list(states), list(names), focused
        if self.hover is not None and self.hover >= len(self.states):
            self.hover = None
        self.update()

    def set_font_size(self, points: float) -> None:
        self._points = points
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(200, self._cell_height())

    def minimumSizeHint(self) -> QSize:
        return QSize(40, self._cell_height())

    def _cell_height(self) -> int:
        return int(QFontMetricsF(qfont(self._points)).height() + 8)

    def position_at(self, x: float) -> int | None:
        """The position of the cell at ``x`` (widget pixels), or None outside the cells."""
        n = len(self.states)
        if n == 0 or not 0 <= x < self.width():
            return None
        return min(n - 1, int(x * n / self.width()))

    def cell_rect(self, pos: int) -> QRectF:
        """Where position ``pos`` is drawn."""
        width = self.width() / max(1, len(self.states))
        return QRectF(pos * width, 0.0, width, float(self.height()))

    # -- events -------------------------------------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._set_hover(self.position_at(event.position().x()))
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: object) -> None:  # noqa: ANN001 - QEvent or QEnterEvent by Qt version
        self._set_hover(None)
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = self.position_at(event.position().x())
        if event.button() == Qt.MouseButton.LeftButton and pos is not None:
            self.clicked.emit(pos)
        super().mousePressEvent(event)

    def _set_hover(self, pos: int | None) -> None:
        if pos != self.hover:
            self.hover = pos
            self.update()
            self.hovered.emit(-1 if pos is None else pos)

    # -- drawing ------------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setFont(qfont(self._points))
        metrics = QFontMetricsF(painter.font())
        letters = bool(self.names) and metrics.horizontalAdvance(max(self.names, key=len)) + 2 <= \
            self.width() / max(1, len(self.states))
        for pos, state in enumerate(self.states):
            rect = self.cell_rect(pos)
            if state is None:
                painter.fillRect(rect, QColor("#FFFFFF"))
                continue
            painter.fillRect(rect, QColor(STATE_COLORS[state % len(STATE_COLORS)]))
            if letters:
                painter.setPen(QColor("#1A1A1A"))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.names[state])
        for pos, color in ((self.focused, FOCUS_COLOR), (self.hover, HOVER_COLOR)):
            if pos is not None and 0 <= pos < len(self.states):
                painter.setPen(QPen(QColor(color), 3))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                rect = self.cell_rect(pos).adjusted(1.5, 1.5, -1.5, -1.5)
                painter.drawRect(rect if rect.width() > 0 else QRectF(QPointF(rect.x(), 1.5), rect.size()))
        painter.end()
