"""Where things sit: lazily built centre tabs, the docks, and a layout that fits the screen.

A mixin of :class:`~induction_gui.qt.main_window.MainWindow` (``self`` is the
window) plus :class:`LazyTab`. Geometry, dock state and the current tab are
saved on close and restored at start; without a saved layout the docks get
sizes that fit their controls once the window has its real size.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import QDockWidget, QVBoxLayout, QWidget

from .views.base import View

DEFAULT_SIZE = QSize(1500, 950)  # the window without a saved geometry, if the screen has room
WEIGHTS_DOCK_FRACTION = 0.27  # of the window's width: the weight table and head controls
SEQUENCE_DOCK_FRACTION = 0.2  # at least; wider if its buttons need it


class LazyTab(QWidget):
    """A tab page that builds its view the first time it is needed.

    The analysis views hold a dozen pyqtgraph plots between them (~0.7 s to
    build); start-up builds only what the first paint shows.
    """

    def __init__(self, factory: Callable[[], View]) -> None:
        super().__init__()
        self._factory = factory
        self.view: View | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    def ensure(self) -> View:
        if self.view is None:
            self.view = self._factory()
            self.layout().addWidget(self.view)
            if self.isVisible():
                self.view.show()  # draws now, not on a later turn of the event loop
        return self.view


class DockLayout:
    """Docks, saved and default layouts of the main window (mixed into it; ``self`` is the window)."""

    _needs_default_sizes = False

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")  # saveState needs object names
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _restore_layout(self) -> None:
        """The saved geometry, dock state and tab; a first start gets the default sizes once shown."""
        s = self.settings
        self._default_state = self.saveState()
        geometry = s.get("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            screen = QGuiApplication.primaryScreen()
            avail = screen.availableGeometry().size() if screen else QSize(1600, 1000)
            self.resize(min(DEFAULT_SIZE.width(), avail.width()), min(DEFAULT_SIZE.height(), avail.height()))
        state = s.get("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        else:
            self._needs_default_sizes = True  # applied once the window has its real size
        self.tabs.setCurrentIndex(min(max(s.get("window/tab"), 0), self.tabs.count() - 1))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._needs_default_sizes:
            self._needs_default_sizes = False
            QTimer.singleShot(0, self._default_dock_sizes)

    def _default_dock_sizes(self) -> None:
        """Docks wide enough for their controls, the rest for the views."""
        width = max(self.width(), 1200)
        sequence = max(int(width * SEQUENCE_DOCK_FRACTION), self.sequence_panel.full_width())  # buttons whole
        self.resizeDocks([self.sequence_dock, self.weights_dock], [sequence, int(width * WEIGHTS_DOCK_FRACTION)],
                         Qt.Orientation.Horizontal)
        self.attention_splitter.setSizes([600, 400])

    def save_layout(self) -> None:
        s = self.settings
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        s.set("window/tab", self.tabs.currentIndex())
        s.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state)
        self.sequence_dock.show()
        self.weights_dock.show()
        self._default_dock_sizes()
        self.settings.clear_layout()
