"""The main window: sequence on the left, weights on the right, the views in the centre.

Built in named steps (``_setup_actions``, ``_setup_ui``, ``_setup_menus``,
``_restore_state``). The window owns the document, its undo stack, the
analysis (every number the views draw), the recompute scheduler and the
autosaver; views only draw the analysis, panels push commands on the stack. Its commands live
beside it, one concept a module: the action table (``actions``), the menus
(``menus``), file commands (``file_actions``), exports (``export_actions``)
and the dock layout (``layout``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeySequence, QUndoStack
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QProgressBar, QSplitter, QTabWidget, QWidget

from ..analysis import Analysis
from ..model.appearance import BASE_FONT_POINTS, Appearance, Look
from ..model.document import Document
from ..model.events import Change, ModelReplaced
from ..model.hover import Hover, HoveredCell
from . import help as help_dialogs
from . import theme
from .actions import build_actions
from .analysis_executor import QtExecutor
from .autosave import Autosaver
from .export_actions import ExportActions
from .file_actions import FileActions
from .layout import DockLayout, LazyTab
from .menus import build_menus
from .panels.sequence_panel import SequencePanel
from .panels.weights_panel import WeightsPanel
from .presentation import Presentation
from .scheduler import RecomputeScheduler
from .settings import APP_NAME, Settings
from .views.attention_view import AttentionView
from .views.attribution_view import AttributionView
from .views.base import View
from .views.circuits_view import CircuitsView
from .views.copying_view import CopyingView
from .views.heads_grid import HeadsGrid
from .views.markov_view import MarkovView
from .views.metrics_view import MetricsView
from .views.predictions_view import PredictionsView
from .views.printed_view import PrintedView
from .widgets import colormaps
from .widgets.lazy_dock import LazyDock
from .widgets.tab_bar import ShortTitleTabBar

if TYPE_CHECKING:
    from .panels.lesson_panel import LessonPanel
    from .panels.training_panel import TrainingPanel



class MainWindow(FileActions, ExportActions, DockLayout, QMainWindow):
    """The explorer window on one document."""

    def __init__(
        self,
        document: Document,
        settings: Settings | None = None,
        *,
        autosave_folder: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.settings = settings or Settings()
        self.undo_stack = QUndoStack(self)
        # every number the views draw: memoized per input revision, slow entries in worker threads
        self.executor = QtExecutor(self)
        self.analysis = Analysis(document, executor=self.executor)
        self.scheduler = RecomputeScheduler(self.analysis, self)
        self._lazy_tabs: list[LazyTab] = []
        # colour map, text size, theme and projector layout: one object every view and heatmap follows
        self.appearance = Appearance(Look(theme=theme.DEFAULT_THEME))
        self._font_scale = 1.0
        self._user_colormap = colormaps.DEFAULT_SEQUENTIAL  # the View menu's choice, remembered in the settings
        self.presentation = Presentation(self)
        self._setup_actions()
        self._setup_ui()
        self._setup_menus()
        self._setup_lessons()
        for dock in (self.sequence_dock, self.weights_dock, self.training_dock, self.lesson_dock):
            # on the window too: a shortcut only in the View menu stops working when presentation hides the menu bar
            self.addAction(dock.toggleViewAction())
        self._restore_state()
        self.autosaver = Autosaver(document, lambda: not self.undo_stack.isClean(), autosave_folder, parent=self)
        self.autosaver.failed.connect(self.statusBar().showMessage)

        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        document.events.path.connect(self._on_path_changed)
        document.events.scenario.connect(self._on_scenario_changed)
        self.scheduler.computed.connect(self._on_recomputed)
        self.scheduler.busy.connect(self._on_busy_changed)
        self._update_title()
        self.scheduler.flush()
        if self.analysis.latest_results is None:
            self.analysis.recompute()

    # -- construction --------------------------------------------------------------------------
    def _setup_actions(self) -> None:
        # not ``actions``: that would hide QWidget.actions()
        self.action_table: dict[str, QAction] = build_actions(self)

    def _setup_ui(self) -> None:
        doc = self.document
        self.setDockNestingEnabled(True)
        self.attention_view = AttentionView(self.analysis, appearance=self.appearance)
        self.heads_grid = HeadsGrid(self.analysis, appearance=self.appearance)
        # the pattern cell under the pointer, for views that mark it (Printed) without reaching into this one
        self.hover = Hover()
        self.attention_view.heatmap.hovered.connect(self._on_pattern_hovered)
        attention_tab = self.attention_splitter = QSplitter(Qt.Orientation.Horizontal)
        attention_tab.addWidget(self.attention_view)
        attention_tab.addWidget(self.heads_grid)
        attention_tab.setStretchFactor(0, 3)
        attention_tab.setStretchFactor(1, 2)
        self.tabs = QTabWidget()
        self.tabs.setTabBar(ShortTitleTabBar())  # short titles, then elided ones, when room is short: never arrows
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(attention_tab, "Attention")
        # each tool tip starts with the tab's title: on a narrow screen the title may be elided
        self.tabs.setTabToolTip(0, f"Attention: {AttentionView.tooltip} {HeadsGrid.tooltip}".strip())
        for cls in (CopyingView, PredictionsView, CircuitsView, MetricsView, AttributionView, PrintedView, MarkovView):
            page = LazyTab(lambda cls=cls: self._make_view(cls))
            self._lazy_tabs.append(page)
            index = self.tabs.addTab(page, cls.title)
            self.tabs.setTabToolTip(index, f"{cls.title}: {cls.tooltip}")
            if cls.short_title != cls.title:
                self.tabs.tabBar().set_short_title(cls.title, cls.short_title)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.setCentralWidget(self.tabs)

        self.sequence_panel = SequencePanel(doc, self.undo_stack)
        self.sequence_dock = self._dock("Sequence", "sequence", self.sequence_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.weights_panel = WeightsPanel(doc, self.undo_stack)
        self.weights_dock = self._dock("Weights", "weights", self.weights_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        # at the bottom: the curves want the window's width; hidden until asked for (View ▸ Training, Ctrl+T),
        # and its panel (curves, trainer, run files) is built then, not before the first paint
        self.training_dock = LazyDock("Training", self, self._make_training_panel)
        self.training_dock.setObjectName("dock_training")  # saveState needs object names
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.training_dock)
        self.training_dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+T"))
        self.training_dock.toggleViewAction().setToolTip(
            "Train the toy model and watch the induction head form (Ctrl+T)")
        self.training_dock.hide()

        status = self.statusBar()
        self.recompute_label = QLabel("")
        self.recompute_label.setToolTip("Time of the last recompute of the model and its metrics")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy indicator
        self.progress.setMaximumWidth(160)
        self.progress.setToolTip("Recomputing in the background; a newer edit cancels it")
        self.progress.hide()
        self.pin_label = QLabel("")
        self.pin_label.setStyleSheet("color: #b05000; font-weight: bold;")
        status.addPermanentWidget(self.pin_label)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.recompute_label)

    @property
    def training_panel(self) -> TrainingPanel:
        """The Training dock's panel, built the first time the dock is shown or the panel is asked for."""
        return self.training_dock.content

    def _make_training_panel(self) -> TrainingPanel:
        from .panels.training_panel import TrainingPanel

        panel = TrainingPanel(self.document, self.undo_stack)
        # the window's own replace resets title, pin and history; unsaved work is asked about first
        panel.confirm_replace = lambda: self.maybe_save()
        panel.replace_scenario = lambda scenario: self.replace(scenario, None)
        panel.show_error = lambda title, message: self.show_error(title, message)
        panel.set_font_size(self.appearance.font_points)
        if self.appearance.theme != theme.DEFAULT_THEME:  # as set_theme did to the canvases built before it
            theme.apply_plot_theme(panel, self.appearance.theme)
        return panel

    @property
    def lesson_panel(self) -> LessonPanel:
        """The Lesson dock's panel, built the first time the dock is shown or the panel is asked for."""
        return self.lesson_dock.panel

    def _panels(self) -> list[QWidget]:
        """The dock panels built so far (training and lesson panels only once shown or used)."""
        panels = [self.sequence_panel, self.weights_panel, self.training_dock.built_content,
                  self.lesson_dock.built_content]
        return [p for p in panels if p is not None]

    def _setup_menus(self) -> None:
        build_menus(self)

    def _setup_lessons(self) -> None:
        """The course: a Lesson dock (tabbed with the weights), its toggle (Ctrl+L), step_lesson() for PgDn/PgUp."""
        from .panels.lesson_dock import install_lessons

        install_lessons(self)
        self.tabifyDockWidget(self.weights_dock, self.lesson_dock)
        self.weights_dock.raise_()
        self.lesson_dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+L"))

    def _restore_state(self) -> None:
        """Layout, font scale, colour map and theme as the user left them."""
        self._restore_layout()
        self.set_font_scale(self.settings.get("view/font_scale"))
        self._user_colormap = self.settings.get("view/colormap")
        self._apply_scenario_colormap()
        self._restore_theme()

    # -- centre views ----------------------------------------------------------------------------
    def _make_view(self, cls: type[View]) -> View:
        view = cls(self.analysis, appearance=self.appearance)
        view.sync_appearance()  # built while presenting: starts in the projector layout
        if view.follows_hover:
            view.follow_hover(self.hover)
        return view

    def _on_pattern_hovered(self, query_pos: int, key_pos: int) -> None:
        """The Attention heatmap's cell under the pointer, published for the views that follow the hover."""
        sel = self.document.selection
        self.hover.set(HoveredCell(sel.layer, sel.head, query_pos, key_pos))

    def set_view_presentation(self, on: bool) -> None:
        """Projector layout of the centre views (presentation mode); views built later take it too."""
        self.appearance.set(presenting=on)

    def _on_tab_changed(self, index: int) -> None:
        page = self.tabs.widget(index)
        if isinstance(page, LazyTab):
            page.ensure()

    @property
    def views(self) -> list[View]:
        """Every centre view, in tab order (asking for them builds the ones not shown yet)."""
        return [self.attention_view, self.heads_grid, *(page.ensure() for page in self._lazy_tabs)]

    def _built_views(self) -> list[View]:
        return [self.attention_view, self.heads_grid, *(p.view for p in self._lazy_tabs if p.view is not None)]

    # -- appearance ----------------------------------------------------------------------------
    @property
    def font_scale(self) -> float:
        """The user's font multiplier (1.0 = 11 pt)."""
        return self._font_scale

    @property
    def colormap(self) -> str:
        """Name of the sequential colour map every view uses."""
        return self.appearance.colormap

    @property
    def theme_name(self) -> str:
        """``"light"`` or ``"dark"``."""
        return self.appearance.theme

    def set_colormap(self, name: str) -> None:
        """The View menu's colour map: shown everywhere, remembered, and kept in the scenario when saved."""
        self._show_colormap(name)
        self._user_colormap = self.appearance.colormap
        self.settings.set("view/colormap", self.appearance.colormap)
        if self.document.scenario.view.get("colormap", self.appearance.colormap) != self.appearance.colormap:
            self.document.set_view_setting("colormap", self.appearance.colormap)

    def _show_colormap(self, name: str) -> None:
        self.appearance.set(colormap=name)  # an unknown name falls back to the default
        for n, action in self.colormap_actions.items():
            action.setChecked(n == self.appearance.colormap)

    def _apply_scenario_colormap(self) -> None:
        """A scenario that names a colour map (``view.colormap``) opens in it; others in the user's choice."""
        self._show_colormap(self.document.scenario.view.get("colormap", self._user_colormap))

    def set_font_scale(self, scale: float) -> None:
        scale = float(min(max(scale, 0.6), 3.0))
        self._font_scale = scale
        points = BASE_FONT_POINTS * scale
        font = QFont(self.font())
        font.setPointSizeF(points)
        self.setFont(font)
        self.appearance.set(font_points=points)  # views and heatmaps follow
        for panel in self._panels():  # a panel built later takes the size then
            set_size = getattr(panel, "set_font_size", None)
            if set_size is not None:
                set_size(points)
        self.settings.set("view/font_scale", scale)

    def _restore_theme(self) -> None:
        """The remembered theme; light is left to the palette already in place (nothing to undo at start)."""
        name = self.settings.get("view/theme")
        if name != theme.DEFAULT_THEME:
            self.set_theme(name)

    def set_theme(self, name: str) -> None:
        """Light or dark palette for the whole application, remembered (see ``theme`` for what follows it)."""
        name = theme.apply_theme(name)
        self.appearance.set(theme=name)
        for n, action in self.theme_actions.items():
            action.setChecked(n == name)
        theme.apply_plot_theme(self, name)
        self.settings.set("view/theme", name)

    # -- status and title ------------------------------------------------------------------------
    def _update_title(self) -> None:
        path = self.document.path
        name = path.name if path else "untitled"
        self.setWindowTitle(f"{self.document.scenario.title} — {name}[*] — {APP_NAME}")
        self.setWindowModified(not self.undo_stack.isClean())

    def _on_clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    def _on_path_changed(self, path: Path | None) -> None:
        self._update_title()

    def _on_scenario_changed(self, change: Change) -> None:
        if isinstance(change, ModelReplaced):
            self._update_title()
            self._apply_scenario_colormap()

    def _on_recomputed(self, elapsed_ms: float, in_worker: bool) -> None:
        where = " (background)" if in_worker else ""
        results = self.analysis.latest_results
        warn = f"  ⚠ {results.warnings[0]}" if results is not None and results.warnings else ""
        self.recompute_label.setText(f"recomputed in {elapsed_ms:.1f} ms{where}{warn}")

    def _on_busy_changed(self, busy: bool) -> None:
        self.progress.setVisible(busy)

    # -- compare -----------------------------------------------------------------------------------
    def toggle_pin(self) -> None:
        if self.analysis.pinned is None:
            self.scheduler.flush()
            self.analysis.pin()
            self.pin_label.setText("comparing with pinned state")
            self.action_table["pin"].setChecked(True)
        else:
            self.analysis.unpin()
            self.pin_label.setText("")
            self.action_table["pin"].setChecked(False)

    def show_about(self) -> None:
        help_dialogs.show_about(self)

    # -- closing -------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self.maybe_save():
            event.ignore()
            return
        if self.presentation.active:
            self.presentation.leave()  # the saved layout is the teacher's, not the full-screen one
        self.save_layout()
        self.autosaver.stop()
        self.autosaver.remove()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop every timer and thread and disconnect views (no thread outlives the window)."""
        self.undo_keys.detach()
        self.scheduler.detach()
        self.analysis.detach()
        self.executor.shutdown()
        for view in self._built_views():
            view.detach()
        for panel in self._panels():
            detach = getattr(panel, "detach", None)
            if detach is not None:
                detach()

    def wait_idle(self) -> None:
        """Apply any pending recompute and finish the slow entries the views asked for (tests, screenshots)."""
        self.scheduler.flush()
        QApplication.processEvents()  # views draw, and ask for their slow entries
        self.executor.wait()
        QApplication.processEvents()  # the slow entries' values arrive and their views redraw


def schedule_screenshot(window: MainWindow, path: Path, done: Callable[[bool], None]) -> None:
    """Render the window once it has painted, save it to ``path``, then call ``done(ok)``."""

    def shoot() -> None:
        window.wait_idle()
        ok = window.grab().save(str(path))
        done(ok)

    QTimer.singleShot(300, shoot)
