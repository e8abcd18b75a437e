"""Presentation mode (F11, --present, PgDn/PgUp stepping) and the light/dark theme switch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from induction_gui.app import build_gui_parser
from induction_gui.qt import colormaps, theme


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
    assert window.presentation.active and window.actions["presentation"].isChecked()
    assert not window.sequence_dock.isVisible() and not window.weights_dock.isVisible()
    assert window._font_scale == pytest.approx(1.6)
    assert window._colormap == "cividis"
    assert not window.statusBar().isVisible()
    assert all(v.colormap_name == "cividis" for v in window._built_views())
    assert window.windowState() & Qt.WindowState.WindowFullScreen
    # the teacher's own choices stay remembered, not the projector's
    assert window.settings.get("view/font_scale") == pytest.approx(1.0)
    assert window.settings.get("view/colormap") == "viridis"

    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.presentation.active and not window.actions["presentation"].isChecked()
    assert window.sequence_dock.isVisible() and window.weights_dock.isVisible()
    assert window._font_scale == pytest.approx(1.0)
    assert window._colormap == "viridis"
    assert not window.windowState() & Qt.WindowState.WindowFullScreen
    assert window.statusBar().isVisible()
    assert not window.actions["leave_presentation"].isEnabled(), "Esc is free again outside the mode"


def test_toggle_restores_hidden_dock_and_keeps_high_contrast_choice(make_window) -> None:
    window = make_window()
    window.weights_dock.hide()
    window.set_colormap("gray")
    window.presentation.toggle()
    assert window._colormap == "gray", "a high-contrast map chosen by the teacher is kept"
    window.presentation.toggle()
    assert window.sequence_dock.isVisible() and not window.weights_dock.isVisible()
    assert window._colormap == "gray"


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
    window.actions["next_step"].trigger()
    window.actions["previous_step"].trigger()
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


def test_presentation_keeps_a_compact_lesson_below_the_views(make_window) -> None:
    window = make_window()
    window.lesson_dock.show()
    window.lesson_dock.raise_()
    window.presentation.enter()
    panel = window.lesson_panel
    assert panel.chooser.isHidden() and panel.buttons_row.isHidden(), "PgDn/PgUp replace the buttons"
    assert not panel.text.isHidden(), "the step text stays on the projector"
    assert window.dockWidgetArea(window.lesson_dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    window.presentation.leave()
    assert not panel.chooser.isHidden() and not panel.buttons_row.isHidden()
    assert window.dockWidgetArea(window.lesson_dock) == Qt.DockWidgetArea.RightDockWidgetArea
