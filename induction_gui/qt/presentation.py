"""Presentation mode: the window set up for a projector, and stepping through the course.

A teacher at the front of a room wants one key (F11) that makes everything
readable from the back (full screen, large fonts, a high-contrast colour map,
no editing docks) and one key (Esc, or F11 again) that puts every one of those
things back exactly as it was, so the next lesson preparation is not disturbed.
The settings file never records the presentation values: the teacher's own
font scale and colour map stay remembered.

The layout is the lesson as a full-height column at the right (a fixed share
of the width; each step takes the largest font at which it fits the column
whole), the step's view beside it, the training curves under the view when a
step shows them; no menu bar, status bar or editing docks. The column's title
bar becomes the presenter's bar (Prev, "3 / 9", Next, leave), and a clicker's
keys step the course or blank the screen (:mod:`.presentation_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, QByteArray, QObject, Qt, Signal
from PySide6.QtWidgets import QComboBox, QDockWidget, QMainWindow, QTabBar, QWidget

from .layout import clamp_rect
from .presentation_bar import PresenterBar
from .presentation_keys import BlankScreen, ClickerKeys

if TYPE_CHECKING:
    from .panels.lesson_panel import LessonPanel

DEFAULT_FONT_SCALE = 1.6  # ~18 pt: readable at 1280x720 from the back of a classroom
PRESENTATION_COLORMAP = "cividis"  # high contrast on washed-out projectors, and colour-blind safe
KEEP_COLORMAPS = ("gray", "cividis")  # the teacher already chose a high-contrast map: keep it
HIDDEN_DOCKS = ("sequence_dock", "weights_dock")  # editing tools; lesson and training docks stay
COMBO_MIN_CHARS = 10  # at projector font sizes, long choice names would make views wider than 1280 px
# 16:9 projectors have width to spare and no height: the lesson text sits at the right, full height,
# and the views keep every row (a lesson below them squashed the attention heatmap to a strip)
LESSON_WIDTH_FRACTION = 1 / 3
LESSON_MAX_FRACTION = 0.42  # a step too long for the column even in its smallest font widens it, up to this
LESSON_WIDEN_STEP = 0.03
ATTENTION_FRACTION = 0.66  # of the attention tab's width: the focused pattern large, the heads grid beside it
TRAINING_HEIGHT_FRACTION = 0.45  # the phase-change curves below the views, when the training dock is up


@dataclass
class _Saved:
    """What entering changed, so leaving restores it."""

    geometry: QByteArray = field(default_factory=QByteArray)
    window_state: Qt.WindowState = Qt.WindowState.WindowNoState
    docks: dict[str, bool] = field(default_factory=dict)
    font_scale: float = 1.0
    colormap: str = "viridis"
    status_bar: bool = True
    dock_layout: QByteArray = field(default_factory=QByteArray)  # saveState(): where every dock sat
    combos: dict[QComboBox, tuple[QComboBox.SizeAdjustPolicy, int, int]] = field(default_factory=dict)
    bottom_right_corner: Qt.DockWidgetArea = Qt.DockWidgetArea.BottomDockWidgetArea
    attention_split: list[int] = field(default_factory=list)  # attention view | heads grid widths
    menu_bar: bool = True
    tab_elide: Qt.TextElideMode = Qt.TextElideMode.ElideNone
    tab_scroll_buttons: bool = True
    lesson_features: QDockWidget.DockWidgetFeature = QDockWidget.DockWidgetFeature.NoDockWidgetFeatures
    lesson_title_bar: QWidget | None = None
    training_title_bar: QWidget | None = None


class Presentation(QObject):
    """Enters and leaves presentation mode on a main window; ``active`` says which.

    The window is the app's main window, not imported here (it imports this
    module): besides ``QMainWindow`` it offers ``settings``, ``tabs``,
    ``attention_splitter``, ``action_table``, ``font_scale``, ``colormap``,
    ``set_font_scale``, ``set_colormap``, ``set_view_presentation`` and the
    ``sequence_dock``, ``weights_dock`` (and maybe ``lesson_dock``,
    ``training_dock``, ``lesson_panel``, ``training_panel``, ``step_lesson``).
    """

    changed = Signal(bool)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.active = False
        self._saved: _Saved | None = None
        self.lesson_fraction = LESSON_WIDTH_FRACTION  # of the window's width; widened for a step too long for it
        self.bar = PresenterBar(self.step, self.leave, window)  # a hidden child until it is the lesson's title bar
        self.bar.hide()
        self._no_title = QWidget(window)  # an empty title bar: a dock without its title row
        self._no_title.hide()
        self.keys = ClickerKeys(window, self.step, self.toggle_blank)
        self.blank: BlankScreen | None = None  # the black cover, made the first time it is asked for

    # -- mode --------------------------------------------------------------------------------------
    def enter(self) -> None:
        """Full screen, projector fonts, high-contrast map, the lesson column and its bar, the clicker's keys."""
        if self.active:
            return
        w = self.window
        settings = w.settings
        tab_bar = w.tabs.tabBar()
        lesson = getattr(w, "lesson_dock", None)
        self._saved = _Saved(
            geometry=w.saveGeometry(),
            window_state=w.windowState(),
            docks={name: self._dock(name).isVisible() for name in HIDDEN_DOCKS},
            font_scale=w.font_scale,
            colormap=w.colormap,
            status_bar=w.statusBar().isVisible(),
            dock_layout=w.saveState(),
            bottom_right_corner=w.corner(Qt.Corner.BottomRightCorner),
            attention_split=w.attention_splitter.sizes(),
            menu_bar=w.menuBar().isVisible(),
            tab_elide=tab_bar.elideMode(),
            tab_scroll_buttons=tab_bar.usesScrollButtons(),
            lesson_features=lesson.features() if lesson is not None else QDockWidget.DockWidgetFeature(0),
            lesson_title_bar=lesson.titleBarWidget() if lesson is not None else None,
        )
        self.active = True
        self.lesson_fraction = LESSON_WIDTH_FRACTION
        for name in HIDDEN_DOCKS:
            self._dock(name).hide()
        w.menuBar().hide()  # the window's actions keep their keys; 720 rows are scarce
        w.statusBar().hide()  # recompute timings mean nothing to a class
        # every tab on the bar, elided if need be, rather than scroll arrows hiding some
        tab_bar.setElideMode(Qt.TextElideMode.ElideRight)
        tab_bar.setUsesScrollButtons(False)
        scale = max(settings.get("view/presentation_font_scale"), self._saved.font_scale)
        w.set_font_scale(scale)
        if self._saved.colormap not in KEEP_COLORMAPS:
            w.set_colormap(PRESENTATION_COLORMAP)
        # the teacher's own choices stay remembered, not the projector's
        settings.set("view/font_scale", self._saved.font_scale)
        settings.set("view/colormap", self._saved.colormap)
        # the right column runs the full height, so the lesson text beside the training curves keeps its rows
        w.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        if lesson is not None:  # the course is what a presentation steps through: always in view
            w.removeDockWidget(lesson)  # out of any tab group (the desk layouts tabify it with the weights)
            w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, lesson)
            lesson.show()
            lesson.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)  # no stray click closes it
            lesson.setTitleBarWidget(self.bar)
            self.bar.show()
        training_dock = getattr(w, "training_dock", None)
        if training_dock is not None:
            if training_dock.isVisible():
                w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, training_dock)
            training_dock.visibilityChanged.connect(self._on_training_dock_visibility)
            self._saved.training_title_bar = training_dock.titleBarWidget()
            training_dock.setTitleBarWidget(self._no_title)  # its curves say what they are: the row goes to them
        # no dock shares a tab group while presenting, yet moving the lesson out of its group left the
        # group's tab bar drawn, stale, over the column's last lines; leaving re-applies the saved state,
        # which shows the tab bars its groups use
        for bar in w.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            bar.hide()
        self._set_compact(True)
        panel = self._lesson_panel()
        if panel is not None:
            panel.step_changed.connect(self._on_step_changed)
            panel.fitted.connect(self._on_lesson_fitted)
        w.tabs.currentChanged.connect(self._update_bar)
        self._update_bar()
        # sized once the window is full screen
        QTimer.singleShot(0, self._size_docks)
        self._shrink_combos()
        w.tabs.currentChanged.connect(self._shrink_combos)  # views built later, in the mode
        self.keys.install()
        w.showFullScreen()
        self._sync_actions()
        self.changed.emit(True)

    def leave(self) -> None:
        """Put back the window state, geometry, docks, bars, font scale and colour map of before."""
        if not self.active or self._saved is None:
            return
        w = self.window
        saved = self._saved
        self.unblank()
        self.keys.remove()
        self.active = False
        self._saved = None
        w.tabs.currentChanged.disconnect(self._shrink_combos)
        w.tabs.currentChanged.disconnect(self._update_bar)
        panel = self._lesson_panel()
        if panel is not None:
            panel.step_changed.disconnect(self._on_step_changed)
            panel.fitted.disconnect(self._on_lesson_fitted)
        training_dock = getattr(w, "training_dock", None)
        if training_dock is not None:
            training_dock.visibilityChanged.disconnect(self._on_training_dock_visibility)
            training_dock.setTitleBarWidget(saved.training_title_bar)
        lesson = getattr(w, "lesson_dock", None)
        if lesson is not None:
            lesson.setTitleBarWidget(saved.lesson_title_bar)
            lesson.setFeatures(saved.lesson_features)
        self.bar.hide()
        w.setCorner(Qt.Corner.BottomRightCorner, saved.bottom_right_corner)
        if not saved.dock_layout.isEmpty():
            w.restoreState(saved.dock_layout)
        self._set_compact(False)
        if saved.attention_split:  # once the window has its size back, or the proportions come out wrong
            QTimer.singleShot(0, w.attention_splitter, lambda: w.attention_splitter.setSizes(saved.attention_split))
        for combo, (policy, chars, min_width) in saved.combos.items():
            combo.setSizeAdjustPolicy(policy)
            combo.setMinimumContentsLength(chars)
            combo.setMinimumWidth(min_width)
        tab_bar = w.tabs.tabBar()
        tab_bar.setElideMode(saved.tab_elide)
        tab_bar.setUsesScrollButtons(saved.tab_scroll_buttons)
        if saved.window_state & Qt.WindowState.WindowMaximized:
            w.showMaximized()
        else:
            w.showNormal()
            if not saved.geometry.isEmpty():
                w.restoreGeometry(saved.geometry)
        for name, visible in saved.docks.items():
            self._dock(name).setVisible(visible)
        w.menuBar().setVisible(saved.menu_bar)
        w.statusBar().setVisible(saved.status_bar)
        w.set_font_scale(saved.font_scale)
        w.set_colormap(saved.colormap)
        # once the desk fonts have reached the layouts: the docks restored above were measured at projector
        # size (wider minimums), which widened the dock column and could push the window past the screen
        QTimer.singleShot(0, w, lambda: self._fit_restored(saved.dock_layout))
        self._sync_actions()
        self.changed.emit(False)

    def _fit_restored(self, dock_layout: QByteArray) -> None:
        """The dock sizes of before, and the window back inside its screen."""
        w = self.window
        if self.active:  # entered again meanwhile
            return
        if not dock_layout.isEmpty():
            w.restoreState(dock_layout)
        screen = w.screen()
        if screen is not None and not screen.availableGeometry().contains(w.frameGeometry()):
            room = screen.availableGeometry()
            if w.isMaximized():  # the window manager (if any) owns a maximized window's size: ask again
                w.showNormal()
                w.showMaximized()
            if not room.contains(w.geometry()):
                w.setGeometry(clamp_rect(w.geometry(), room))

    def toggle(self) -> None:
        """F11: enter or leave."""
        if self.active:
            self.leave()
        else:
            self.enter()

    # -- stepping and blanking ------------------------------------------------------------------------
    def step(self, delta: int) -> None:
        """Next/previous lesson step if lessons exist, else the next centre tab (wrapping round).

        On a blank screen the key only lifts the blank: the class sees the step
        it left before anything moves on.
        """
        if self.is_blank:
            self.unblank()
            return
        step_lesson = getattr(self.window, "step_lesson", None)
        if callable(step_lesson):
            step_lesson(delta)
            return
        tabs = self.window.tabs
        if tabs.count():
            tabs.setCurrentIndex((tabs.currentIndex() + delta) % tabs.count())

    def position(self) -> tuple[int, int, bool]:
        """(index, count, wraps) of what stepping walks: the lesson's steps, or the centre tabs."""
        panel = self._lesson_panel()
        if panel is not None and panel.lesson is not None:
            return panel.index, len(panel.lesson.steps), False
        if panel is not None:
            return 0, 0, False  # a course that cannot be read: nothing to step
        tabs = self.window.tabs
        return tabs.currentIndex(), tabs.count(), True

    @property
    def is_blank(self) -> bool:
        return self.blank is not None and self.blank.isVisible()

    def toggle_blank(self) -> None:
        """B or ".": black screen (the class looks at the teacher), and back."""
        if self.is_blank:
            self.unblank()
        elif self.active:
            if self.blank is None:
                self.blank = BlankScreen(self.window, self.unblank)
            self.blank.cover()

    def unblank(self) -> None:
        if self.blank is not None:
            self.blank.hide()

    # -- helpers ------------------------------------------------------------------------------------------
    def _set_compact(self, on: bool) -> None:
        """The views, the lesson and the training panel in (or out of) their projector layouts."""
        w = self.window
        w.set_view_presentation(on)
        lesson = self._lesson_panel()
        if lesson is not None:  # the window's projector font is the largest the lesson may take
            lesson.set_compact(on, w.appearance.font_points if on else None)
        training = getattr(w, "training_panel", None)
        if training is not None:
            training.set_compact(on)
            if not training.isVisible():
                # Qt caches each widget's sizes in its layout and, for a hidden panel, does not drop the cache
                # when children are hidden: the dock then showed with the desk's width and pushed the window wider
                # than the screen
                for child in training.findChildren(QWidget):
                    child.updateGeometry()

    def _lesson_panel(self) -> LessonPanel | None:
        """The lesson panel if the window has the course (built now if need be), else None."""
        if not callable(getattr(self.window, "step_lesson", None)) or not hasattr(self.window, "lesson_dock"):
            return None
        return self.window.lesson_panel

    def _update_bar(self, *_: object) -> None:
        index, count, wraps = self.position()
        self.bar.set_position(index, count, wraps=wraps)

    def _on_step_changed(self, *_: object) -> None:
        """A new step: the bar says where, and a column widened for a long step gives the views their room back."""
        self._update_bar()
        if self.lesson_fraction != LESSON_WIDTH_FRACTION:
            self.lesson_fraction = LESSON_WIDTH_FRACTION
            QTimer.singleShot(0, self._size_docks)

    def _on_lesson_fitted(self, ok: bool) -> None:
        """A step too long for the column even in the smallest font: widen the column, until the next step."""
        if ok or not self.active or self.lesson_fraction >= LESSON_MAX_FRACTION:
            return
        self.lesson_fraction = min(self.lesson_fraction + LESSON_WIDEN_STEP, LESSON_MAX_FRACTION)
        QTimer.singleShot(0, self._size_docks)

    def _size_docks(self) -> None:
        """The lesson a third of the width at the right, the training curves under the views (if shown)."""
        if not self.active:
            return
        w = self.window
        total = sum(w.attention_splitter.sizes())
        w.attention_splitter.setSizes([round(total * ATTENTION_FRACTION), round(total * (1 - ATTENTION_FRACTION))])
        lesson = getattr(w, "lesson_dock", None)
        if lesson is not None and lesson.isVisible():
            # never wider than the views beside it allow: a column that pushed them past their minimum
            # would push the window past the screen's edge
            others = w.minimumSizeHint().width() - lesson.minimumSizeHint().width()
            width = min(int(w.width() * self.lesson_fraction), w.width() - others)
            w.resizeDocks([lesson], [max(width, lesson.minimumSizeHint().width())], Qt.Orientation.Horizontal)
        training_dock = getattr(w, "training_dock", None)
        if training_dock is not None and training_dock.isVisible():
            w.resizeDocks([training_dock], [int(w.height() * TRAINING_HEIGHT_FRACTION)], Qt.Orientation.Vertical)

    def _on_training_dock_visibility(self, visible: bool) -> None:
        """A lesson step opened the training dock during the presentation: put it under the views, sized."""
        if not (self.active and visible):
            return
        w = self.window
        if w.dockWidgetArea(w.training_dock) != Qt.DockWidgetArea.BottomDockWidgetArea:
            w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, w.training_dock)
        QTimer.singleShot(0, self._size_docks)

    def _shrink_combos(self, *_: object) -> None:
        """Let the views' choice boxes elide long names, so 1.6x fonts still fit a 1280-pixel projector.

        Combo boxes size to their longest entry by default; at projector font
        sizes one row of them set the window's minimum width beyond the screen
        and clipped the view. Leaving puts their sizing back.
        """
        if not self.active or self._saved is None:
            return
        for combo in self.window.tabs.findChildren(QComboBox):
            if combo in self._saved.combos:
                continue
            self._saved.combos[combo] = (combo.sizeAdjustPolicy(), combo.minimumContentsLength(),
                                         combo.minimumWidth())
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(COMBO_MIN_CHARS)
            # QComboBox caches its minimum size hint; an explicit minimum is what layouts then use
            combo.setMinimumWidth(combo.sizeHint().width())

    def _dock(self, name: str) -> QDockWidget:
        return getattr(self.window, name)

    def _sync_actions(self) -> None:
        actions = self.window.action_table
        if "presentation" in actions:
            actions["presentation"].setChecked(self.active)
        if "leave_presentation" in actions:
            actions["leave_presentation"].setEnabled(self.active)  # Esc is free outside presentation mode
