"""Presentation mode (F11, --present, PgDn/PgUp stepping) and the light/dark theme switch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from induction_gui.app import build_gui_parser
from induction_gui.qt import theme
from induction_gui.qt.widgets import colormaps
from induction_gui.qt.widgets.style import EXPLANATION
from induction_gui.resources import resource_path

PROJECTOR = QSize(1280, 720)


@pytest.fixture
def keep_palette() -> Iterator[None]:
    """The theme changes the application palette; later tests get the one from before."""
    app = QApplication.instance()
    before = QPalette(app.palette())
    yield
    app.setPalette(before)


def test_f11_enters_and_leaves_presentation(make_window, qtbot) -> None:
    window = make_window()
    window.set_font_scale(1.0)
    window.set_colormap("viridis")
    assert window.sequence_dock.isVisible() and window.weights_dock.isVisible()

    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert window.presentation.active and window.action_table["presentation"].isChecked()
    assert not window.sequence_dock.isVisible() and not window.weights_dock.isVisible()
    assert window._font_scale == pytest.approx(1.6)
    assert window.colormap == "cividis"
    assert not window.statusBar().isVisible()
    assert all(v.colormap_name == "cividis" for v in window._built_views())
    assert window.windowState() & Qt.WindowState.WindowFullScreen
    # the teacher's own choices stay remembered, not the projector's
    assert window.settings.get("view/font_scale") == pytest.approx(1.0)
    assert window.settings.get("view/colormap") == "viridis"

    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.presentation.active and not window.action_table["presentation"].isChecked()
    assert window.sequence_dock.isVisible() and window.weights_dock.isVisible()
    assert window._font_scale == pytest.approx(1.0)
    assert window.colormap == "viridis"
    assert not window.windowState() & Qt.WindowState.WindowFullScreen
    assert window.statusBar().isVisible()
    assert not window.action_table["leave_presentation"].isEnabled(), "Esc is free again outside the mode"


def test_toggle_restores_hidden_dock_and_keeps_high_contrast_choice(make_window) -> None:
    window = make_window()
    window.weights_dock.hide()
    window.set_colormap("gray")
    window.presentation.toggle()
    assert window.colormap == "gray", "a high-contrast map chosen by the teacher is kept"
    window.presentation.toggle()
    assert window.sequence_dock.isVisible() and not window.weights_dock.isVisible()
    assert window.colormap == "gray"


def test_present_flag_is_parsed() -> None:
    parser = build_gui_parser()
    args = parser.parse_args(["--present", "induction-circuit"])
    assert args.present and args.scenario == "induction-circuit"
    assert not parser.parse_args([]).present


def test_page_down_cycles_tabs_without_a_lesson(make_window, qtbot) -> None:
    window = make_window()
    del window.step_lesson  # a window without the course falls back to walking the views
    window.tabs.setCurrentIndex(0)
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert window.tabs.currentIndex() == 1
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert window.tabs.currentIndex() == window.tabs.count() - 1, "stepping wraps round"


def test_page_down_steps_lesson_when_there_is_one(make_window, monkeypatch: pytest.MonkeyPatch) -> None:
    window = make_window()
    steps: list[int] = []
    monkeypatch.setattr(window, "step_lesson", steps.append, raising=False)
    window.tabs.setCurrentIndex(0)
    window.action_table["next_step"].trigger()
    window.action_table["previous_step"].trigger()
    assert steps == [1, -1]
    assert window.tabs.currentIndex() == 0, "lessons decide what is shown"


def test_theme_switch_changes_palette_and_is_remembered(make_window, keep_palette) -> None:
    window = make_window()
    window.theme_actions["dark"].trigger()
    window_colour = QApplication.instance().palette().color(QPalette.ColorRole.Window)
    assert window_colour.lightness() < 80
    assert window.settings.get("view/theme") == "dark"
    assert window.theme_actions["dark"].isChecked() and not window.theme_actions["light"].isChecked()
    window.theme_actions["light"].trigger()
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() > 200
    assert window.settings.get("view/theme") == "light"


def test_remembered_dark_theme_is_applied_at_start(make_window, settings, keep_palette) -> None:
    settings.set("view/theme", "dark")
    window = make_window()
    assert window.theme_actions["dark"].isChecked()
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert theme.apply_plot_theme(window, "dark") > 0  # the canvases are found, whatever the policy


def test_colour_map_menu_offers_safe_and_high_contrast_maps() -> None:
    assert "cividis" in colormaps.SEQUENTIAL.values() and "gray" in colormaps.SEQUENTIAL.values()


def test_presentation_screenshot_at_projector_size(make_window, tmp_path: Path) -> None:
    window = make_window()
    window.presentation.enter()
    window.showNormal()  # offscreen "full screen" is the virtual screen; the projector here is 1280x720
    window.resize(1280, 720)
    window.wait_idle()
    image = window.grab()
    assert image.width() == 1280 and image.height() == 720
    for i in range(window.tabs.count()):  # projector fonts must not make any view wider than the screen
        window.tabs.setCurrentIndex(i)
        window.wait_idle()
        assert window.minimumSizeHint().width() <= 1280, window.tabs.tabText(i)
    assert image.save(str(tmp_path / "present.png"))
    window.presentation.leave()


@pytest.fixture
def projector(settle) -> Callable[[QWidget], None]:
    """Presentation mode at 1280x720 (offscreen "full screen" is the virtual screen, not a projector)."""

    def enter(window) -> None:
        window.lesson_dock.show()
        window.presentation.enter()
        window.showNormal()
        window.resize(PROJECTOR)
        window.wait_idle()
        settle(window)  # the docks are sized on a later turn of the event loop

    return enter


def _largest_plot_height(widget) -> int:
    """Height of the biggest visible pyqtgraph canvas under ``widget``: what the class actually sees."""
    heights = [v.height() for v in widget.findChildren(pg.GraphicsView) if v.isVisible()]
    return max(heights, default=0)


def test_presentation_puts_a_compact_lesson_beside_the_views(make_window, projector) -> None:
    window = make_window()
    projector(window)
    panel = window.lesson_panel
    assert panel.chooser.isHidden() and panel.buttons_row.isHidden(), "PgDn/PgUp replace the buttons"
    assert not panel.text.isHidden(), "the step text stays on the projector"
    # 16:9 has width to spare: the lesson is a column at the right, the views keep every row
    assert window.dockWidgetArea(window.lesson_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert window.lesson_dock.height() > 0.8 * PROJECTOR.height()
    assert 0.2 * PROJECTOR.width() < window.lesson_dock.width() < 0.4 * PROJECTOR.width()
    window.presentation.leave()
    assert not panel.chooser.isHidden() and not panel.buttons_row.isHidden()
    assert window.corner(Qt.Corner.BottomRightCorner) == Qt.DockWidgetArea.BottomDockWidgetArea


def test_presentation_hides_explanations_and_shortens_the_row_profile(make_window, projector, settle) -> None:
    window = make_window()
    view, grid = window.attention_view, window.heads_grid
    assert not view.kind.isHidden() and not grid.caption.isHidden()
    split_before = window.attention_splitter.sizes()
    projector(window)
    assert view.presenting and grid.presenting
    assert view.kind.isHidden() and view.heatmap.readout.isHidden() and grid.caption.isHidden()
    assert view.heatmap.plot.getAxis("left").labelText == "query position"
    assert view.row_profile.vb.isVisible()
    assert view.row_profile.vb.height() == pytest.approx(80, abs=2), "a short profile leaves the pattern the rows"
    assert view.heatmap.plot.vb.height() > 300
    sizes = window.attention_splitter.sizes()
    assert sizes[0] > 1.8 * sizes[1], "the focused pattern gets most of the width"
    # lines grow with the projector fonts
    marker_width = view.heatmap.row_marker.lines[0].pen.widthF()
    assert marker_width == pytest.approx(3 * window.appearance.font_points / 11.0)
    window.presentation.leave()
    assert not view.presenting and not view.kind.isHidden() and not view.heatmap.readout.isHidden()
    assert not grid.caption.isHidden()
    assert view.row_profile.vb.height() == pytest.approx(150, abs=2)
    assert view.heatmap.plot.getAxis("left").labelText == "query position (token attending)"
    settle(window)  # the split is restored on a later turn of the event loop
    sizes = window.attention_splitter.sizes()
    assert sizes[0] / sizes[1] == pytest.approx(split_before[0] / split_before[1], rel=0.05)


def test_views_built_during_the_presentation_take_its_layout(make_window, projector) -> None:
    window = make_window()
    projector(window)
    circuits = window.views[[v.title for v in window.views].index("Circuits")]
    assert circuits.presenting and circuits.source_label.text() == "through:"
    window.presentation.leave()
    assert not circuits.presenting and circuits.source_label.text() == "K-composition through:"


def test_a_hidden_warning_stays_hidden_when_the_presentation_ends(make_window, projector) -> None:
    """Only what the mode hid comes back: a widget the view hides for its own reasons stays hidden."""
    window = make_window()
    view = window.attention_view
    view.heatmap.readout.hide()  # as a view would for its own reasons
    projector(window)
    window.presentation.leave()
    assert view.heatmap.readout.isHidden()


def test_training_dock_is_compact_under_the_views(make_window, projector) -> None:
    window = make_window("trained-toy")
    window.open_training_run(resource_path("runs", "trained-toy"))
    panel = window.training_panel
    window.training_dock.show()
    window.wait_idle()
    projector(window)
    assert window.dockWidgetArea(window.training_dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert panel.splitter.widget(0).isHidden() and panel.start_button.isHidden()
    shown = [k for k, w in panel.curves.plots.items() if not w.isHidden()]
    assert shown == ["split", "prefix"], "the phase-change pair, side by side"
    assert not panel.slider.isHidden() and panel.slider.value() == panel.slider.maximum()
    assert window.minimumSizeHint().height() <= PROJECTOR.height()
    window.presentation.leave()
    assert not panel.splitter.widget(0).isHidden() and not panel.start_button.isHidden()
    assert all(not w.isHidden() for w in panel.curves.plots.values())


def test_whole_course_fits_a_projector_step_by_step(make_window, projector, settle) -> None:
    """Every step of the built-in course, stepped with PgDn: nothing wider or taller than 1280x720, big plots.

    The X-level screenshots of the same walk were looked at by eye; this keeps
    what they showed from regressing: the lesson at the right, the step's
    view on screen with a plot the back row can read.
    """
    window = make_window("lecture-demo")
    projector(window)
    panel = window.lesson_panel
    panel.go_to(0, force=True)
    for index in range(len(panel.lesson.steps)):
        if index:
            assert QApplication.activeWindow() is window, "the keyboard must still reach the window"
            QTest.keyClick(window, Qt.Key.Key_PageDown)
        window.wait_idle()
        settle(window)
        step = panel.lesson.steps[index]
        assert panel.index == index, f"PgDn did not reach step {index + 1}"
        hint = window.minimumSizeHint()
        assert hint.width() <= PROJECTOR.width() and hint.height() <= PROJECTOR.height(), (index, hint)
        assert window.size() == PROJECTOR, (index, window.size())
        assert window.dockWidgetArea(window.lesson_dock) == Qt.DockWidgetArea.RightDockWidgetArea
        page = window.tabs.currentWidget()
        floor = 150 if window.training_dock.isVisible() else 260
        assert _largest_plot_height(page) >= floor, (step.title, _largest_plot_height(page))
        explained = [w for w in page.findChildren(QWidget) if w.property(EXPLANATION) and w.isVisible()]
        assert not explained, (step.title, explained)
    assert panel.index == len(panel.lesson.steps) - 1
    window.presentation.leave()


class _WindowShowSpy(QObject):
    """Records every top-level window shown while installed."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[str] = []

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Show and isinstance(obj, QWidget) and obj.isWindow():
            self.shown.append(type(obj).__name__)
        return False


def test_opening_every_view_shows_no_stray_window(make_window) -> None:
    """A widget shown before it has a parent flashes up as its own window and takes the keyboard focus:
    PgDn then stopped stepping the lesson after the first visit to a heatmap view."""
    window = make_window()
    spy = _WindowShowSpy()
    app = QApplication.instance()
    app.installEventFilter(spy)
    try:
        for i in range(window.tabs.count()):
            window.tabs.setCurrentIndex(i)
            window.wait_idle()
        window.training_dock.show()
        window.wait_idle()
    finally:
        app.removeEventFilter(spy)
    assert spy.shown == []
    assert QApplication.activeWindow() is window


def test_dark_theme_keeps_view_text_readable(make_window, keep_palette) -> None:
    """Captions and untinted table cells take the palette's text colour; tinted cells keep black text."""
    window = make_window()
    window.theme_actions["dark"].trigger()
    views = {v.title: v for v in window.views}
    predictions = views["Predictions"]
    window.tabs.setCurrentIndex([window.tabs.tabText(i).replace("&", "") for i in range(window.tabs.count())]
                                .index("Predictions"))
    window.wait_idle()
    text = predictions.heading.palette().color(QPalette.ColorRole.WindowText)
    assert text.lightness() > 180, "a heading on the dark window must be light"
    assert predictions.heading.styleSheet() == ""
    table = predictions.table
    plain = [table.item(r, 0) for r in range(table.rowCount())]
    assert all(item.foreground().style() == Qt.BrushStyle.NoBrush for item in plain), "palette text on dark cells"
    tinted = [table.item(r, c) for r in range(table.rowCount()) for c in range(table.columnCount())
              if table.item(r, c) is not None and table.item(r, c).background().style() != Qt.BrushStyle.NoBrush]
    assert tinted, "the preset has correct predictions, shown on light green"
    assert all(item.foreground().color().lightness() < 60 for item in tinted)
