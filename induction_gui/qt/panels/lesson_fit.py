"""Fitting a lesson step to a projector column: the largest font at which the whole step shows without scrolling.

In front of a class nobody scrolls: a step whose last sentence or whose
"Try it" box hangs below the screen's edge is a step the room cannot read.
The lesson column has a fixed share of the screen, so what gives is the text
size, within a range that stays readable from the back of a room. A step that
does not fit even at the smallest size says so (the presentation then widens
the column) and keeps a scroll bar, so nothing is ever out of reach.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QSizePolicy, QTextBrowser, QWidget

# ~18.7 px at 96 dpi: the smallest lesson text a projector at 1280x720 still shows to the back row
# (the desk layout's text is 11 pt); between this and the presentation size the step chooses the largest that fits
MIN_POINTS = 14.0
POINTS_STEP = 0.5  # sizes tried: half points between the floor and the presentation's size
QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum" for a widget's size
FLEXIBLE_MIN_HEIGHT = 60  # the prose box's minimum when it may scroll (a step that does not fit)
DESK_MIN_HEIGHT = 120  # the prose box's minimum at the desk (the panel's own)


def needed_height(panel: QWidget, width: int) -> int:
    """Height the lesson panel needs at ``width`` with its prose (``panel.text``) whole: the prose box is set to its document's height.

    The prose box is a text browser (it scrolls at the desk); here it is made
    exactly as tall as its text wrapped at the box's width, so the layout's
    height-for-width is what the whole step takes.
    """
    layout = panel.layout()
    margins = layout.contentsMargins()
    text = panel.text
    frame = 2 * text.frameWidth()
    document = text.document()
    document.setDefaultFont(text.font())
    document.setTextWidth(max(width - margins.left() - margins.right() - frame, 1))
    text.setFixedHeight(math.ceil(document.size().height()) + frame)
    # the layout counts an "Ignored" height as nothing: the desk's policy would hide the prose from the sum
    text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return layout.totalHeightForWidth(width)


def set_flexible(text: QTextBrowser, min_height: int = FLEXIBLE_MIN_HEIGHT) -> None:
    """The prose box as at the desk: any height, a scroll bar when the text is longer than the box."""
    # the prose takes what is left: the task's wrapped labels must never be clipped
    text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
    text.setMinimumHeight(min_height)
    text.setMaximumHeight(QWIDGETSIZE_MAX)
    text.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)


def _font_at(base: QFont, points: float) -> QFont:
    font = QFont(base)
    font.setPointSizeF(points)
    return font


def fit(panel: QWidget, max_points: float, min_points: float = MIN_POINTS) -> float | None:
    """Give the panel the largest font in [min_points, max_points] at which the step fits its current size.

    Returns the size chosen, or None when even ``min_points`` is too large:
    the panel is then left at ``min_points`` with a prose box that scrolls.
    The sizes are tried by bisection over half points (about four layouts).
    """
    width, height = panel.width(), panel.height()
    base = panel.font()
    min_points = min(min_points, max_points)
    steps = max(int((max_points - min_points) / POINTS_STEP), 0)
    panel.text.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def fits(k: int) -> bool:  # k half-points above the floor
        panel.setFont(_font_at(base, min_points + k * POINTS_STEP))
        return needed_height(panel, width) <= height

    if fits(steps):
        return max_points if steps == 0 else min_points + steps * POINTS_STEP
    if not fits(0):
        set_flexible(panel.text)
        return None
    low, high = 0, steps  # fits(low), not fits(high)
    while high - low > 1:
        mid = (low + high) // 2
        if fits(mid):
            low = mid
        else:
            high = mid
    fits(low)  # leave the panel at the size chosen
    return min_points + low * POINTS_STEP


def unfit(panel: QWidget, text: QTextBrowser) -> None:
    """Back to the desk: the window's font (inherited again) and a scrolling prose box."""
    panel.setFont(QFont())  # an empty font resolves nothing: every attribute is the parent's again
    set_flexible(text, DESK_MIN_HEIGHT)


class CompactLesson:
    """The lesson panel's presentation mode (mixed into :class:`LessonPanel`; ``self`` is the panel).

    Compact, the panel shows the step's title, text and task only, in the
    largest font that fits its size, and fits again whenever the step, a hint,
    the task's status or the panel's size changes.
    """

    compact = False
    max_points = 0.0
    fit_points: float | None = None  # the size the last fit chose; None: it did not fit even the smallest
    _fitting = False

    def set_compact(self, compact: bool, max_points: float | None = None) -> None:
        """Presentation mode: the step's title, text and task, in the largest font (≤ ``max_points``) that fits.

        On a 720-row projector every row the lesson takes is a row the views
        lose, and nobody scrolls in front of a class: the chooser, the lesson
        title and the buttons go (the presentation has its own bar), and the
        text size shrinks, step by step, until the whole step shows.
        """
        self.compact = compact
        self.max_points = max_points if max_points is not None else self.font().pointSizeF()
        for widget in (self.chooser, self.title_label, self.buttons_row):
            widget.setVisible(not compact)
        layout = self.layout()
        layout.setStretch(layout.count() - 1, 1 if compact else 0)  # the spacer under the step
        layout.setStretchFactor(self.text, 0 if compact else 1)
        if compact:
            self._show_step()  # refits
        else:
            unfit(self, self.text)
            self.fit_points = None
            self._show_step()

    def refit(self) -> None:
        """Fit the step to the panel's size again (after a new step, hint, status or size); compact only."""
        if not self.compact or self._fitting or not self.isVisible():
            return
        self._fitting = True
        try:
            self.fit_points = fit(self, self.max_points)
        finally:
            self._fitting = False
        self.fitted.emit(self.fit_points is not None)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if event.size() != event.oldSize():
            self.refit()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.refit()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """Compact, the step's height is the fitter's business: never a minimum that pushes the screen's edge."""
        hint = super().minimumSizeHint()
        return QSize(hint.width(), min(hint.height(), FLEXIBLE_MIN_HEIGHT)) if self.compact else hint

