"""Controls that give way on a small screen instead of widening the window past it.

A 1280-pixel projector has no room for a combo box as wide as its longest
item, a button padded to the style's 80-pixel minimum, or a scroll area that
scrolls sideways. These helpers make a control's minimum width what it needs
to stay readable, and leave the rest to eliding (combo boxes and labels elide;
the full text stays in the popup or the tool tip).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLayout,
    QLayoutItem,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QWidget,
)

BUTTON_PADDING = 16  # px around a button's text: the frame and the style's margins
COMBO_CHARS = 10  # characters a combo box shows at its minimum width (the rest is elided)
COMBO_FRAME = 36  # px of a combo box besides its text: frame and drop-down arrow


class ElidingComboBox(QComboBox):
    """A combo box that may be narrower than its longest item: the current item is drawn cut with "…".

    Qt draws a squeezed combo box's text clipped at the arrow; this one elides
    it and puts the whole text in the tool tip (the popup lists every item
    whole). Where there is room it is as wide as its longest item.
    """

    def __init__(self, chars: int = COMBO_CHARS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("x" * chars) + COMBO_FRAME)
        self.setProperty("elides", True)  # the screen checks: cut text here is elided, not clipped
        self._tip = ""

    def setToolTip(self, tip: str) -> None:  # noqa: N802 - Qt API: the caller's tip, after the elided text
        self._tip = tip
        super().setToolTip(tip)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                            QStyle.SubControl.SC_ComboBoxEditField, self)
        full = option.currentText
        option.currentText = self.fontMetrics().elidedText(full, Qt.TextElideMode.ElideRight, field.width() - 2)
        tip = "\n".join(t for t in ((full if option.currentText != full else ""), self._tip) if t)
        if tip != QComboBox.toolTip(self):
            QComboBox.setToolTip(self, tip)
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


def slim_button(button: QAbstractButton) -> QAbstractButton:
    """A push button only as wide as its text (the style pads text buttons to 80 px, too much in a dock)."""
    text = button.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    width = button.fontMetrics().horizontalAdvance(text) + BUTTON_PADDING
    if not button.icon().isNull():
        width += button.iconSize().width() + 4
    button.setMinimumWidth(width)
    return button


class VerticalScrollArea(QScrollArea):
    """A scroll area that scrolls only up and down: it is never narrower than its content needs.

    A dock holding one of these cannot be squeezed into a sideways-scrolling
    sliver; its minimum width (content's minimum plus the scroll bar) reaches
    the dock and the window, which then share the width honestly.
    """

    def __init__(self, content: QWidget | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        if content is not None:
            self.setWidget(content)

    def setWidget(self, widget: QWidget) -> None:  # noqa: N802 - Qt API
        super().setWidget(widget)
        widget.installEventFilter(self)  # its minimum width is ours: follow its layout changes

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # a wider control (font size, new text) widens the dock, not a scroll bar
        return super().eventFilter(watched, event)

    def content_width(self) -> int:
        """Width at which the content shows whole beside a vertical scroll bar."""
        content = self.widget()
        need = content.minimumSizeHint().expandedTo(content.minimumSize()).width() if content is not None else 0
        return need + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        hint = super().minimumSizeHint()
        return QSize(max(hint.width(), self.content_width()), hint.height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        hint = super().sizeHint()
        return QSize(max(hint.width(), self.content_width()), hint.height())


class FlowLayout(QLayout):
    """Items left to right, wrapping onto the next row when the width runs out (Qt's flow layout example).

    Its minimum width is its widest item, not the sum of them: a row of controls
    above a view no longer sets the width of the whole window.
    """

    def __init__(self, parent: QWidget | None = None, spacing: int = 12) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt API
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt API
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt API
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt API
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt API
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt API
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt API
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        visible = [i for i in self._items if not i.isEmpty()]
        width = sum(i.sizeHint().width() for i in visible) + self._gap * max(len(visible) - 1, 0)
        height = max((i.sizeHint().height() for i in visible), default=0)
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt API
        size = QSize()
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _place(self, rect: QRect, *, move: bool) -> int:
        """Lay the items out in ``rect`` (or only measure); returns the height used.

        A row takes items while their minimum widths fit; within a row each item
        gets its preferred width, or, if the row is short of room, gives up the
        same share of its slack (preferred minus minimum) as the others.
        """
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        items = [i for i in self._items if not i.isEmpty()]
        rows: list[list[QLayoutItem]] = []
        used = 0
        for item in items:
            least = item.minimumSize().width()
            if rows and rows[-1] and used + self._gap + least <= area.width():
                rows[-1].append(item)
                used += self._gap + least
            else:
                rows.append([item])
                used = least
        y = area.y()
        for n, row in enumerate(rows):
            hints = [i.sizeHint().width() for i in row]
            least = [min(i.minimumSize().width(), h) for i, h in zip(row, hints)]
            room = area.width() - self._gap * (len(row) - 1)
            short, slack = sum(hints) - room, sum(h - lo for h, lo in zip(hints, least))
            share = min(1.0, short / slack) if short > 0 and slack > 0 else 0.0
            widths = [round(h - (h - lo) * share) for h, lo in zip(hints, least)]
            height = max(i.sizeHint().height() for i in row)
            x = area.x()
            for item, width in zip(row, widths):
                if move:
                    item.setGeometry(QRect(QPoint(x, y), QSize(min(width, area.width()), height)))
                x += width + self._gap
            y += height + (self._gap // 2 if n < len(rows) - 1 else 0)
        return y - rect.y() + m.bottom()


class FlowRow(QWidget):
    """Groups of controls side by side that wrap onto more rows on a narrow screen (see :class:`FlowLayout`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._flow = FlowLayout(self)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def add(self, *widgets: QWidget) -> QWidget:
        """One group: ``widgets`` kept together on one row (a label and its field). Returns the group."""
        group = QWidget()
        row = QHBoxLayout(group)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            row.addWidget(widget)
        self._flow.addWidget(group)
        return group
