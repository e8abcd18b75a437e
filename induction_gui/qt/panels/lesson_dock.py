"""The Lesson dock in the main window: the panel in a dock, its View-menu toggle, and PgDn/PgUp stepping."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from .lesson_panel import LessonPanel


def install_lessons(window: QMainWindow) -> LessonPanel:
    """Add the Lesson dock, its View-menu toggle and ``window.step_lesson(delta)`` to a main window.

    Uses only the window's public API, so the window module need not know about lessons.
    """
    panel = LessonPanel(window.document, window.undo_stack, window, settings=getattr(window, "settings", None))
    dock = QDockWidget("Lesson", window)
    dock.setObjectName("dock_lesson")  # saveState needs object names
    dock.setWidget(panel)
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
        return panel.step(delta)

    # in a window, PgDn/PgUp are the window's next/previous-step actions (they call step_lesson);
    # the panel's own shortcuts would make the keys ambiguous
    panel.next_shortcut.setEnabled(False)
    panel.prev_shortcut.setEnabled(False)
    window.step_lesson = step_lesson  # type: ignore[attr-defined]
    window.lesson_panel = panel  # type: ignore[attr-defined]
    window.lesson_dock = dock  # type: ignore[attr-defined]
    return panel
