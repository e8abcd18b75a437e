"""Where things sit: lazily built centre tabs, the docks, and a layout that fits the screen.

A mixin of :class:`~induction_gui.qt.main_window.MainWindow` (``self`` is the
window) plus :class:`LazyTab`. Geometry, dock state and the current tab are
saved on close and restored at start; without a saved layout the docks get
sizes that fit their controls once the window has its real size.

On a screen narrower than :data:`COMPACT_BELOW` (a 1366x768 laptop, a 1280x720
projector) the window opens in the *compact* layout: the Sequence, Weights and
Lesson docks share one column as tabs, so the centre keeps the width its plots
need. A layout saved on a larger screen is clamped into the screen it is
restored on, and its docks are narrowed if they would starve the centre.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import QDockWidget, QTabWidget, QVBoxLayout, QWidget

from .views.base import View

DEFAULT_SIZE = QSize(1500, 950)  # the window without a saved geometry, if the screen has room
WEIGHTS_DOCK_FRACTION = 0.27  # of the window's width: the weight table and head controls
SEQUENCE_DOCK_FRACTION = 0.2  # at least; wider if its buttons need it
COMPACT_BELOW = 1400  # px of available screen width: narrower screens get the compact layout
COMPACT_COLUMN_FRACTION = 0.25  # of the window's width: the one dock column of the compact layout
MIN_CENTRE_FRACTION = 0.6  # a restored layout whose docks leave the centre less than this is narrowed


def wants_compact(available: QSize) -> bool:
    """The compact layout (one tabbed dock column) for screens narrower than :data:`COMPACT_BELOW`."""
    return available.width() < COMPACT_BELOW


def clamp_rect(rect: QRect, room: QRect) -> QRect:
    """``rect`` moved (and, if larger, shrunk) to lie inside ``room``: a saved position on a bigger screen."""
    width, height = min(rect.width(), room.width()), min(rect.height(), room.height())
    x = min(max(rect.x(), room.x()), room.x() + room.width() - width)
    y = min(max(rect.y(), room.y()), room.y() + room.height() - height)
    return QRect(x, y, width, height)


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
    _needs_fitting = False
    compact_layout = False  # the docks share one tabbed column (chosen on a narrow screen)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")  # saveState needs object names
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _available(self) -> QRect:
        """The screen's room for windows (without panels and task bars)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry() if screen else QRect(0, 0, 1600, 1000)

    def _restore_layout(self) -> None:
        """The saved geometry, dock state and tab, fitted to this screen; a first start gets default sizes."""
        s = self.settings
        self._default_state = self.saveState()
        avail = self._available()
        self.compact_layout = wants_compact(avail.size())
        geometry = s.get("window/geometry")
        fitting = QSize(min(DEFAULT_SIZE.width(), avail.width()), min(DEFAULT_SIZE.height(), avail.height()))
        # Qt refuses a geometry saved on a larger screen (the window would stay 640x480): the default then
        if isinstance(geometry, QByteArray) and not geometry.isEmpty() and self.restoreGeometry(geometry):
            self.setGeometry(clamp_rect(self.geometry(), avail))  # saved on a bigger screen: pulled inside this one
        else:
            self.resize(fitting)
        state = s.get("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
            self._needs_fitting = True  # the saved dock widths may starve the centre on this screen
        else:
            if self.compact_layout:
                self._arrange_compact()
            self._needs_default_sizes = True  # applied once the window has its real size
        self.tabs.setCurrentIndex(min(max(s.get("window/tab"), 0), self.tabs.count() - 1))
        self.training_dock.toggleViewAction().toggled.connect(self._on_training_shown)

    def _on_training_shown(self, visible: bool) -> None:
        """In the compact layout the training dock opens at its smallest height: the views keep the rest."""
        dock = self.training_dock
        if (visible and self.compact_layout and not dock.isFloating()
                and self.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea):
            QTimer.singleShot(0, lambda: self.resizeDocks(
                [dock], [dock.minimumSizeHint().height()], Qt.Orientation.Vertical))

    def _arrange_compact(self) -> None:
        """Sequence, Weights and Lesson as tabs of one dock column on the left, the sequence in front."""
        area = Qt.DockWidgetArea.LeftDockWidgetArea
        shown = {d: not d.isHidden() for d in (self.weights_dock, self.lesson_dock)}
        # taken out of their old group first: tabbing them straight over left the old group's tab bar
        # on screen, drawn over the column
        for dock in (self.weights_dock, self.lesson_dock):
            self.removeDockWidget(dock)
        self.sequence_dock.setFloating(False)
        self.addDockWidget(area, self.weights_dock)
        self.tabifyDockWidget(self.sequence_dock, self.weights_dock)
        self.addDockWidget(area, self.lesson_dock)
        self.tabifyDockWidget(self.weights_dock, self.lesson_dock)
        for dock, visible in shown.items():
            dock.setVisible(visible)  # removeDockWidget hides a dock
        self.setTabPosition(area, QTabWidget.TabPosition.North)  # the column's tabs on top, beside its title
        # the column runs the full height; the training dock (Ctrl+T) then sits under the views only,
        # not under the column too, which would add their minimum heights past a 720-row screen
        self.setCorner(Qt.Corner.BottomLeftCorner, area)
        self.sequence_dock.raise_()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._needs_default_sizes:
            self._needs_default_sizes = False
            QTimer.singleShot(0, self._default_dock_sizes)
        elif self._needs_fitting:
            self._needs_fitting = False
            QTimer.singleShot(0, self._fit_restored_docks)

    def _default_dock_sizes(self) -> None:
        """Docks wide enough for their controls, the rest for the views."""
        if self.compact_layout:
            column = max(int(self.width() * COMPACT_COLUMN_FRACTION), self._column_minimum())
            self.resizeDocks([self.sequence_dock], [column], Qt.Orientation.Horizontal)
            self.attention_splitter.setSizes([600, 400])
            return
        width = max(self.width(), 1200)
        sequence = max(int(width * SEQUENCE_DOCK_FRACTION), self.sequence_panel.full_width())  # buttons whole
        self.resizeDocks([self.sequence_dock, self.weights_dock], [sequence, int(width * WEIGHTS_DOCK_FRACTION)],
                         Qt.Orientation.Horizontal)
        self.attention_splitter.setSizes([600, 400])

    def _column_minimum(self) -> int:
        """Width the widest of the column's docks needs to show its controls whole."""
        return max(d.minimumSizeHint().width() for d in (self.sequence_dock, self.weights_dock))

    def _fit_restored_docks(self) -> None:
        """A restored layout on a small screen: side docks narrowed so the centre keeps most of the width.

        If even their minimum widths leave the centre too little, the docks go into the compact
        layout's one tabbed column instead.
        """
        side = [d for d in self.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()
                and self.dockWidgetArea(d) in (Qt.DockWidgetArea.LeftDockWidgetArea,
                                               Qt.DockWidgetArea.RightDockWidgetArea)]
        centre = self.centralWidget().width()
        # on a large screen the docks are as wide as the user left them; only a small one is fitted
        if not self.compact_layout or not side or centre >= self.width() * MIN_CENTRE_FRACTION:
            return
        room = int(self.width() * (1 - MIN_CENTRE_FRACTION))
        # one width per column of docks (tabbed docks share one): share the room by their current widths
        columns = {(self.dockWidgetArea(d), d.x()): d for d in side}
        if sum(d.minimumSizeHint().width() for d in columns.values()) > room:
            # even at their narrowest the columns starve the centre on this screen: one tabbed column instead
            self._arrange_compact()
            self._default_dock_sizes()
            return
        total = sum(d.width() for d in columns.values())
        widths = [max(d.minimumSizeHint().width(), int(room * d.width() / total)) for d in columns.values()]
        self.resizeDocks(list(columns.values()), widths, Qt.Orientation.Horizontal)

    def save_layout(self) -> None:
        s = self.settings
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        s.set("window/tab", self.tabs.currentIndex())
        s.sync()

    def reset_layout(self) -> None:
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)  # Qt's default
        self.restoreState(self._default_state)
        self.sequence_dock.show()
        self.weights_dock.show()
        self.compact_layout = wants_compact(self._available().size())
        if self.compact_layout:
            self._arrange_compact()
        self._default_dock_sizes()
        self.settings.clear_layout()
