"""The Lesson dock in the main window: the panel in a dock, its View-menu toggle, and PgDn/PgUp stepping.

The dock, its toggle and ``step_lesson`` exist from the start; the panel (the
course files read and checked, its widgets) is built the first time the dock
is shown or the panel is needed, so a window that opens on the weights does
not pay for the course before its first paint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

if TYPE_CHECKING:
    from .lesson_panel import LessonPanel


class LessonDock(QDockWidget):
    """The "Lesson" dock of a main window; :attr:`panel` builds the lesson panel on first use."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__("Lesson", window)
        self.setObjectName("dock_lesson")  # saveState needs object names
        self._window = window
        self._panel: LessonPanel | None = None
        self.setWidget(QWidget())  # stands in for the panel until it is built
        self.visibilityChanged.connect(self._on_visibility_changed)

    @property
    def panel(self) -> LessonPanel:
        """The lesson panel, built the first time the dock is shown or the panel is asked for."""
        return self._ensure_panel()

    def _ensure_panel(self) -> LessonPanel:
        if self._panel is None:
            from .lesson_panel import LessonPanel

            window = self._window
            panel = self._panel = LessonPanel(window.document, window.undo_stack, window,
                                              settings=getattr(window, "settings", None))
            # in a window, PgDn/PgUp are the window's next/previous-step actions (they call step_lesson);
            # the panel's own shortcuts would make the keys ambiguous
            panel.next_shortcut.setEnabled(False)
            panel.prev_shortcut.setEnabled(False)
            placeholder = self.widget()
            self.setWidget(panel)
            placeholder.deleteLater()
        return self._panel

    @property
    def built_panel(self) -> LessonPanel | None:
        """The panel if it was built, else None (nothing is built by asking)."""
        return self._panel

    def _on_visibility_changed(self, visible: bool) -> None:
        if visible:
            self._ensure_panel()


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
