"""The Lesson dock in the main window: the panel in a dock, its View-menu toggle, and PgDn/PgUp stepping.

The dock, its toggle and ``step_lesson`` exist from the start; the panel (the
course files read and checked, its widgets) is built the first time the dock
is shown or the panel is needed, so a window that opens on the weights does
not pay for the course before its first paint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QMenu

from ..widgets.lazy_dock import LazyDock

if TYPE_CHECKING:
    from .lesson_panel import LessonPanel


class LessonDock(LazyDock["LessonPanel"]):
    """The "Lesson" dock of a main window; :attr:`panel` builds the lesson panel on first use."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__("Lesson", window, lambda: _make_panel(window), tabbed=True)  # behind the weights
        self.setObjectName("dock_lesson")  # saveState needs object names

    @property
    def panel(self) -> LessonPanel:
        """The lesson panel, built the first time the dock is shown or the panel is asked for."""
        return self.content


def _make_panel(window: QMainWindow) -> LessonPanel:
    from .lesson_panel import LessonPanel

    panel = LessonPanel(window.analysis, window.undo_stack, window, settings=getattr(window, "settings", None))
    # in a window, PgDn/PgUp are the window's next/previous-step actions (they call step_lesson);
    # the panel's own shortcuts would make the keys ambiguous
    panel.next_shortcut.setEnabled(False)
    panel.prev_shortcut.setEnabled(False)
    return panel


def install_lessons(window: QMainWindow) -> LessonDock:
    """Add the Lesson dock, its View-menu toggle and ``window.step_lesson(delta)`` to a main window.

    Uses only the window's public API, so the window module need not know about lessons.
    """
    dock = LessonDock(window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    toggle = dock.toggleViewAction()
    toggle.setToolTip("Show or hide the guided lesson")
    view_menu = next(
        (a.menu() for a in window.menuBar().actions()
         if isinstance(a.menu(), QMenu) and a.text().replace("&", "") == "View"),
        None,
    )
    if view_menu is not None:
        view_menu.addAction(toggle)

    def step_lesson(delta: int) -> bool:
        """Move the lesson by ``delta`` steps (PgDn/PgUp in presentation mode)."""
        return dock.panel.step(delta)

    window.step_lesson = step_lesson  # type: ignore[attr-defined]
    window.lesson_dock = dock  # type: ignore[attr-defined]
    return dock
