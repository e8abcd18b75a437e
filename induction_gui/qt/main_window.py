"""The main window: sequence on the left, weights on the right, the views in the centre.

Built in named steps (``_setup_actions``, ``_setup_ui``, ``_setup_menus``,
``_restore_state``). The window owns the document, its undo stack, the
recompute scheduler and the autosaver; panels and views only talk to the
document (views) or push commands on the stack (panels).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QPoint, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QFont, QGuiApplication, QKeySequence, QPainter, QUndoStack
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..model.document import Document
from ..model.scenario import Scenario, ScenarioError, list_presets, load_scenario, save_scenario
from . import theme
from .autosave import Autosaver
from .panels.sequence_panel import SequencePanel
from .presentation import Presentation
from .panels.training_panel import TrainingPanel
from .panels.weights_panel import WeightsPanel
from .scheduler import RecomputeScheduler
from .settings import Settings
from .views.attention_view import AttentionView
from .views.attribution_view import AttributionView
from .views.base import View
from .views.circuits_view import CircuitsView
from .views.copying_view import CopyingView
from .views.heads_grid import HeadsGrid
from .views.metrics_view import MetricsView
from .views.predictions_view import PredictionsView
from .widgets import colormaps

APP_NAME = "Induction Head Explorer"
FILE_FILTER = "Scenario files (*.json);;All files (*)"
BASE_FONT_POINTS = 11.0


class _LazyTab(QWidget):
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


class MainWindow(QMainWindow):
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
        self.scheduler = RecomputeScheduler(document, self)
        self._lazy_tabs: list[_LazyTab] = []
        self._colormap = colormaps.DEFAULT_SEQUENTIAL
        self._font_points = BASE_FONT_POINTS
        self._view_presentation = False  # the centre views in their projector layout
        self.actions: dict[str, QAction] = {}
        self._needs_default_sizes = False
        self._theme = theme.DEFAULT_THEME
        self.presentation = Presentation(self)
        self._setup_actions()
        self._setup_ui()
        self._setup_menus()
        self._setup_lessons()
        self._restore_state()
        self._restore_theme()
        self.autosaver = Autosaver(document, lambda: not self.undo_stack.isClean(), autosave_folder, parent=self)
        self.autosaver.failed.connect(self.statusBar().showMessage)

        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        document.events.path.connect(self._on_path_changed)
        document.events.scenario.connect(self._on_scenario_changed)
        self.scheduler.computed.connect(self._on_recomputed)
        self.scheduler.busy.connect(self._on_busy_changed)
        self._update_title()
        self.scheduler.flush()
        if document.latest_results is None:
            document.recompute()

    # -- construction --------------------------------------------------------------------------
    def _action(self, key: str, text: str, slot: Callable[[], object], shortcut: QKeySequence | str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip or text.replace("&", ""))
        action.setToolTip(tip or text.replace("&", ""))
        action.triggered.connect(slot)
        self.actions[key] = action
        self.addAction(action)
        return action

    def _setup_actions(self) -> None:
        S = QKeySequence.StandardKey
        self._action("new", "&New", self.new_document, S.New, "Start again from the default scenario")
        self._action("open", "&Open…", self.open_dialog, S.Open, "Open a scenario file")
        self._action("save", "&Save", self.save, S.Save, "Save the scenario")
        self._action("save_as", "Save &As…", self.save_as_dialog, S.SaveAs, "Save the scenario under a new name")
        self._action("export_png", "Export View as &PNG…", lambda: self.export_view_dialog("png"), None,
                     "Save the current view as a picture")
        self._action("export_svg", "Export View as S&VG…", lambda: self.export_view_dialog("svg"), None,
                     "Save the current view as a vector drawing")
        self._action("export_csv", "Export View &Matrices as CSV…", self.export_matrices_dialog, None,
                     "Save the matrices of the current view as CSV files")
        self._action("open_run", "Open &Training Run…", self.open_training_run_dialog, None,
                     "Open a training run folder: its loss curves and checkpoints, without retraining")
        self._action("export_script", "Export as Python &Script…", self.export_script_dialog, None,
                     "Save a NumPy-only script that rebuilds this scenario and prints its attention weights "
                     "and copied representations, as the lecture did")
        self._action("export_npz", "Export &Cache as NPZ…", self.export_cache_dialog, None,
                     "Save every activation (TransformerLens hook names) as a NumPy .npz file")
        self._action("quit", "&Quit", self.close, S.Quit)
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence(S.Undo))
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.actions["undo"], self.actions["redo"] = undo, redo
        self.addAction(undo)
        self.addAction(redo)
        self._action("pin", "&Pin for Comparison", self.toggle_pin, "Ctrl+P",
                     "Keep the current results; the views then show the difference after edits")
        self.actions["pin"].setCheckable(True)
        self._action("font_bigger", "&Larger Text", lambda: self.set_font_scale(self._font_scale * 1.15), S.ZoomIn)
        self._action("font_smaller", "&Smaller Text", lambda: self.set_font_scale(self._font_scale / 1.15),
                     S.ZoomOut)
        self._action("font_reset", "&Normal Text Size", lambda: self.set_font_scale(1.0), "Ctrl+0")
        self._action("reset_layout", "Reset &Layout", self.reset_layout, None, "Put the docks back where they were")
        self._action("about", "&About", self.show_about)
        for i in range(1, 8):
            self._action(f"tab{i}", f"View {i}", lambda i=i: self.tabs.setCurrentIndex(i - 1), f"Ctrl+{i}")
        self._action("presentation", "&Presentation Mode", self.presentation.toggle, "F11",
                     "Full screen, large text and a high-contrast colour map for a projector (F11, Esc leaves)")
        self.actions["presentation"].setCheckable(True)
        self._action("leave_presentation", "Leave Presentation Mode", self.presentation.leave, "Esc")
        self.actions["leave_presentation"].setEnabled(False)  # Esc belongs to the widgets outside the mode
        self._action("next_step", "&Next Step", lambda: self.presentation.step(+1), "PgDown",
                     "The next lesson step, or the next view (Page Down)")
        self._action("previous_step", "P&revious Step", lambda: self.presentation.step(-1), "PgUp",
                     "The previous lesson step, or the previous view (Page Up)")

    def _setup_ui(self) -> None:
        doc = self.document
        self.setDockNestingEnabled(True)
        self.attention_view = AttentionView(doc)
        self.heads_grid = HeadsGrid(doc)
        attention_tab = self.attention_splitter = QSplitter(Qt.Orientation.Horizontal)
        attention_tab.addWidget(self.attention_view)
        attention_tab.addWidget(self.heads_grid)
        attention_tab.setStretchFactor(0, 3)
        attention_tab.setStretchFactor(1, 2)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(attention_tab, "Attention")
        self.tabs.setTabToolTip(0, f"{AttentionView.tooltip} {HeadsGrid.tooltip}".strip())
        for cls in (CopyingView, PredictionsView, CircuitsView, MetricsView, AttributionView):
            page = _LazyTab(lambda cls=cls: self._make_view(cls))
            self._lazy_tabs.append(page)
            index = self.tabs.addTab(page, cls.title)
            self.tabs.setTabToolTip(index, cls.tooltip)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.setCentralWidget(self.tabs)

        self.sequence_panel = SequencePanel(doc, self.undo_stack)
        self.sequence_dock = self._dock("Sequence", "sequence", self.sequence_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.weights_panel = WeightsPanel(doc, self.undo_stack)
        self.weights_dock = self._dock("Weights", "weights", self.weights_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.training_panel = TrainingPanel(doc, self.undo_stack)
        # the window's own replace resets title, pin and history; unsaved work is asked about first
        self.training_panel.confirm_replace = lambda: self.maybe_save()
        self.training_panel.replace_scenario = lambda scenario: self.replace(scenario, None)
        self.training_panel.show_error = lambda title, message: self.show_error(title, message)
        # at the bottom: the curves want the window's width; hidden until asked for (View ▸ Training, Ctrl+T)
        self.training_dock = self._dock("Training", "training", self.training_panel,
                                        Qt.DockWidgetArea.BottomDockWidgetArea)
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

    def _make_view(self, cls: type[View]) -> View:
        view = cls(self.document)
        view.set_colormap(self._colormap)
        view.set_font_size(self._font_points)
        view.set_presentation(self._view_presentation)
        return view

    def set_view_presentation(self, on: bool) -> None:
        """Projector layout of the centre views (presentation mode); views built later take it too."""
        self._view_presentation = on
        for view in self._built_views():
            view.set_presentation(on)

    def _on_tab_changed(self, index: int) -> None:
        page = self.tabs.widget(index)
        if isinstance(page, _LazyTab):
            page.ensure()

    @property
    def views(self) -> list[View]:
        """Every centre view, in tab order (asking for them builds the ones not shown yet)."""
        return [self.attention_view, self.heads_grid, *(page.ensure() for page in self._lazy_tabs)]

    def _built_views(self) -> list[View]:
        return [self.attention_view, self.heads_grid, *(p.view for p in self._lazy_tabs if p.view is not None)]

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")  # saveState needs object names
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _setup_menus(self) -> None:
        bar = self.menuBar()
        a = self.actions
        file_menu = bar.addMenu("&File")
        file_menu.addAction(a["new"])
        file_menu.addAction(a["open"])
        file_menu.addAction(a["open_run"])
        self.presets_menu = file_menu.addMenu("Open &Preset")
        # filled when first opened: listing the presets reads every preset file (~50 ms of start-up)
        self.presets_menu.aboutToShow.connect(self._fill_presets_menu)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._rebuild_recent_menu()
        file_menu.addSeparator()
        file_menu.addAction(a["save"])
        file_menu.addAction(a["save_as"])
        file_menu.addSeparator()
        for key in ("export_png", "export_svg", "export_csv", "export_npz", "export_script"):
            file_menu.addAction(a[key])
        file_menu.addSeparator()
        file_menu.addAction(a["quit"])

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(a["undo"])
        edit_menu.addAction(a["redo"])
        edit_menu.addSeparator()
        edit_menu.addAction(a["pin"])

        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.sequence_dock.toggleViewAction())
        view_menu.addAction(self.weights_dock.toggleViewAction())
        view_menu.addAction(self.training_dock.toggleViewAction())
        view_menu.addSeparator()
        cmap_menu = view_menu.addMenu("&Colour Map")
        self.colormap_actions: dict[str, QAction] = {}
        for label, name in colormaps.SEQUENTIAL.items():
            action = cmap_menu.addAction(label)
            action.setCheckable(True)
            action.triggered.connect(lambda checked=False, n=name: self.set_colormap(n))
            self.colormap_actions[name] = action
        view_menu.addAction(a["font_bigger"])
        view_menu.addAction(a["font_smaller"])
        view_menu.addAction(a["font_reset"])
        view_menu.addSeparator()
        for i in range(self.tabs.count()):
            a[f"tab{i + 1}"].setText(self.tabs.tabText(i))
            view_menu.addAction(a[f"tab{i + 1}"])
        view_menu.addSeparator()
        view_menu.addAction(a["reset_layout"])
        view_menu.addSeparator()
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        self.theme_group.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for name, label in theme.THEMES.items():
            action = theme_menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(name == self._theme)
            action.triggered.connect(lambda checked=False, n=name: self.set_theme(n))
            self.theme_group.addAction(action)
            self.theme_actions[name] = action
        view_menu.addAction(a["presentation"])
        view_menu.addAction(a["next_step"])
        view_menu.addAction(a["previous_step"])

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(a["about"])

    def _fill_presets_menu(self) -> None:
        if not self.presets_menu.isEmpty():
            return
        for name, description in list_presets():
            action = self.presets_menu.addAction(name)
            action.setStatusTip(description)
            action.setToolTip(description)
            action.triggered.connect(lambda checked=False, n=name: self.open_preset(n))

    def _setup_lessons(self) -> None:
        """The course: a Lesson dock (tabbed with the weights), its toggle (Ctrl+L), step_lesson() for PgDn/PgUp."""
        from .panels.lesson_panel import install_lessons

        self.lesson_panel = install_lessons(self)
        self.tabifyDockWidget(self.weights_dock, self.lesson_dock)
        self.weights_dock.raise_()
        self.lesson_dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+L"))

    def _restore_state(self) -> None:
        s = self.settings
        self._default_state = self.saveState()
        geometry = s.get("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            screen = QGuiApplication.primaryScreen()
            avail = screen.availableGeometry().size() if screen else QSize(1600, 1000)
            self.resize(min(1500, avail.width()), min(950, avail.height()))
        state = s.get("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        else:
            self._needs_default_sizes = True  # applied once the window has its real size
        self.tabs.setCurrentIndex(min(max(s.get("window/tab"), 0), self.tabs.count() - 1))
        self._font_scale = 1.0
        self.set_font_scale(s.get("view/font_scale"))
        self.set_colormap(s.get("view/colormap"))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._needs_default_sizes:
            self._needs_default_sizes = False
            QTimer.singleShot(0, self._default_dock_sizes)

    def _default_dock_sizes(self) -> None:
        """Docks wide enough for their controls, the rest for the views."""
        width = max(self.width(), 1200)
        sequence = max(int(width * 0.2), self.sequence_panel.full_width())  # its buttons whole, not scrolled
        self.resizeDocks([self.sequence_dock, self.weights_dock], [sequence, int(width * 0.27)],
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

    # -- appearance ----------------------------------------------------------------------------
    def set_colormap(self, name: str) -> None:
        if name not in colormaps.SEQUENTIAL.values():
            name = colormaps.DEFAULT_SEQUENTIAL
        for n, action in self.colormap_actions.items():
            action.setChecked(n == name)
        self._colormap = name
        for view in self._built_views():  # the others take it when built
            view.set_colormap(name)
        self.settings.set("view/colormap", name)

    def set_font_scale(self, scale: float) -> None:
        scale = float(min(max(scale, 0.6), 3.0))
        self._font_scale = scale
        points = BASE_FONT_POINTS * scale
        font = QFont(self.font())
        font.setPointSizeF(points)
        self.setFont(font)
        self._font_points = points
        for view in self._built_views():  # the others take it when built
            view.set_font_size(points)
        for panel in (self.sequence_panel, self.weights_panel, self.training_panel):
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
        self._theme = name
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

    def _on_scenario_changed(self, kind: str) -> None:
        if kind == "replaced":
            self._update_title()

    def _on_recomputed(self, elapsed_ms: float, in_worker: bool) -> None:
        where = " (background)" if in_worker else ""
        results = self.document.latest_results
        warn = f"  ⚠ {results.warnings[0]}" if results is not None and results.warnings else ""
        self.recompute_label.setText(f"recomputed in {elapsed_ms:.1f} ms{where}{warn}")

    def _on_busy_changed(self, busy: bool) -> None:
        self.progress.setVisible(busy)

    # -- compare -----------------------------------------------------------------------------------
    def toggle_pin(self) -> None:
        if self.document.pinned is None:
            self.scheduler.flush()
            self.document.pin()
            self.pin_label.setText("comparing with pinned state")
            self.actions["pin"].setChecked(True)
        else:
            self.document.unpin()
            self.pin_label.setText("")
            self.actions["pin"].setChecked(False)

    # -- files ---------------------------------------------------------------------------------------
    def ask_to_save(self) -> QMessageBox.StandardButton:
        """Save / Discard / Cancel for unsaved changes (tests replace this)."""
        return QMessageBox.question(
            self,
            APP_NAME,
            f"Save the changes to “{self.document.scenario.title}”?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )

    def show_error(self, title: str, message: str) -> None:
        """A modal error dialog (tests replace this)."""
        QMessageBox.critical(self, title, message)

    def maybe_save(self) -> bool:
        """True if it is fine to drop the current work (saved, discarded or unchanged)."""
        if self.undo_stack.isClean():
            return True
        answer = self.ask_to_save()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def replace(self, scenario: Scenario, path: Path | None) -> None:
        """Show another scenario; its history starts empty."""
        self.document.replace_scenario(scenario, path)
        self.undo_stack.clear()
        self.undo_stack.setClean()
        if self.actions["pin"].isChecked():
            self.actions["pin"].setChecked(False)
            self.pin_label.setText("")
        self.scheduler.flush()
        self._update_title()

    def new_document(self) -> None:
        if self.maybe_save():
            self.replace(load_scenario("induction-circuit"), None)

    def open_preset(self, name: str) -> None:
        if self.maybe_save():
            self.replace(load_scenario(name), None)

    def open_path(self, path: Path) -> bool:
        """Open a scenario file; a broken file shows the problem and keeps the current work."""
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            self.show_error("Cannot open the scenario", str(exc))
            return False
        if not self.maybe_save():
            return False
        self.replace(scenario, Path(path))
        self._remember(path)
        return True

    def open_training_run(self, folder: Path) -> bool:
        """Show the Training dock with a saved run's curves and checkpoints (a broken folder changes nothing)."""
        self.training_dock.show()
        self.training_dock.raise_()
        return self.training_panel.open_run(folder)

    def open_training_run_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open training run folder", self.settings.get("files/last_dir"))
        if folder:
            self.open_training_run(Path(folder))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scenario", self.settings.get("files/last_dir"), FILE_FILTER)
        if path:
            self.open_path(Path(path))

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as_dialog()
        return self.save_to(self.document.path)

    def save_to(self, path: Path) -> bool:
        try:
            save_scenario(self.document.scenario_for_saving(), path)
        except (OSError, ScenarioError) as exc:
            self.show_error("Cannot save the scenario", f"{path}: {exc}")
            return False
        self.document.set_path(Path(path))
        self.undo_stack.setClean()
        self.autosaver.remove()
        self._remember(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def save_as_dialog(self) -> bool:
        start = str(self.document.path or Path(self.settings.get("files/last_dir") or ".") / "scenario.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save scenario", start, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        return self.save_to(Path(path))

    def _remember(self, path: Path | str) -> None:
        self.settings.add_recent(str(Path(path).resolve()))
        self.settings.set("files/last_dir", str(Path(path).resolve().parent))
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.get("files/recent")
        for p in recent:
            action = self.recent_menu.addAction(p)
            action.triggered.connect(lambda checked=False, p=p: self.open_path(Path(p)))
        self.recent_menu.setEnabled(bool(recent))

    # -- export --------------------------------------------------------------------------------------
    def current_view_widget(self) -> QWidget:
        return self.tabs.currentWidget()

    def current_views(self) -> list[View]:
        widget = self.current_view_widget()
        if isinstance(widget, View):
            return [widget]
        return [v for v in widget.findChildren(View)]

    def export_view(self, path: Path) -> None:
        """The current centre view as PNG or SVG (by the file's suffix)."""
        widget = self.current_view_widget()
        if path.suffix.lower() == ".svg":
            generator = QSvgGenerator()
            generator.setFileName(str(path))
            generator.setSize(widget.size())
            generator.setViewBox(QRectF(0, 0, widget.width(), widget.height()))
            generator.setTitle(f"{APP_NAME}: {self.tabs.tabText(self.tabs.currentIndex())}")
            painter = QPainter(generator)
            try:
                widget.render(painter, QPoint(0, 0))
            finally:
                painter.end()
        else:
            if not widget.grab().save(str(path)):
                raise OSError(f"could not write {path}")

    def export_view_dialog(self, kind: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export view as {kind.upper()}", f"view.{kind}",
                                              f"{kind.upper()} (*.{kind})")
        if path:
            try:
                self.export_view(Path(path))
            except OSError as exc:
                self.show_error("Cannot export the view", str(exc))

    def export_matrices(self, folder: Path) -> list[Path]:
        """Every matrix of the current view as ``<name>.csv`` with row and column labels."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for view in self.current_views():
            for name, (matrix, rows, cols) in view.matrices().items():
                m = np.atleast_2d(np.asarray(matrix))
                safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
                path = folder / f"{safe}.csv"
                with open(path, "w", newline="", encoding="utf-8") as f:
                    writer = csv.writer(f)
                    writer.writerow(["", *(cols or range(m.shape[1]))])
                    for label, row in zip(rows or range(m.shape[0]), m, strict=False):
                        writer.writerow([label, *(f"{x:.9g}" for x in row)])
                written.append(path)
        return written

    def export_matrices_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export matrices into folder")
        if folder:
            try:
                written = self.export_matrices(Path(folder))
                self.statusBar().showMessage(f"Wrote {len(written)} CSV files to {folder}", 5000)
            except OSError as exc:
                self.show_error("Cannot export the matrices", str(exc))

    def export_cache(self, path: Path) -> None:
        self.scheduler.flush()
        np.savez_compressed(path, **self.document.results.cache.to_dict())

    def export_cache_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export cache", "cache.npz", "NumPy archive (*.npz)")
        if path:
            try:
                self.export_cache(Path(path))
            except OSError as exc:
                self.show_error("Cannot export the cache", str(exc))

    def export_script(self, path: Path) -> None:
        """The scenario as a self-contained NumPy script (what ``induction-gui export-script`` writes)."""
        from ..model.script_export import script_text

        text = script_text(self.document.scenario_for_saving(), filename=path.name)
        path.write_text(text, encoding="utf-8")

    def export_script_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export as Python script", "scenario.py", "Python (*.py)")
        if path:
            try:
                self.export_script(Path(path))
            except (OSError, ValueError) as exc:
                self.show_error("Cannot export the script", str(exc))

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<h3>{APP_NAME} {__version__}</h3><p>Edit tokens and attention-head weights and watch "
            "attention patterns, copied representations, predictions and circuit metrics change live. "
            "The engine follows TransformerLens' names and numbers.</p>",
        )

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
        self.scheduler.detach()
        for view in self._built_views():
            view.detach()
        for panel in (self.sequence_panel, self.weights_panel, self.training_panel, self.lesson_panel):
            detach = getattr(panel, "detach", None)
            if detach is not None:
                detach()

    def wait_idle(self) -> None:
        """Apply any pending recompute now (tests, screenshots)."""
        self.scheduler.flush()
        QApplication.processEvents()


def schedule_screenshot(window: MainWindow, path: Path, done: Callable[[bool], None]) -> None:
    """Render the window once it has painted, save it to ``path``, then call ``done(ok)``."""

    def shoot() -> None:
        window.wait_idle()
        ok = window.grab().save(str(path))
        done(ok)

    QTimer.singleShot(300, shoot)
