"""Presentation mode driven as a teacher drives it: a clicker's keys, the blank screen, the on-screen bar, Esc.

Keys are sent to the window (offscreen, no widget has the focus, as when the
teacher clicked on a plot) or to an editing widget, which keeps them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QLineEdit, QSpinBox, QTableWidget, QWidget

PROJECTOR = QSize(1280, 720)


@pytest.fixture
def presenting(make_window, settle) -> Callable[[], QWidget]:
    """A window on the course's first step, in presentation mode at 1280x720."""

    def make():
        window = make_window("lecture-demo")
        window.presentation.enter()
        window.showNormal()  # offscreen "full screen" is the virtual screen; the projector here is 1280x720
        window.resize(PROJECTOR)
        window.lesson_panel.go_to(0, force=True)
        window.wait_idle()
        settle(window)
        return window

    return make


def key(qtbot, widget: QWidget, k: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(widget, k, modifier)
    widget.window().wait_idle()


def test_clicker_keys_step_the_lesson(presenting, qtbot) -> None:
    window = presenting()
    panel = window.lesson_panel
    key(qtbot, window, Qt.Key.Key_Right)
    assert panel.index == 1
    key(qtbot, window, Qt.Key.Key_Space)
    assert panel.index == 2
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert panel.index == 3
    key(qtbot, window, Qt.Key.Key_Left)
    assert panel.index == 2
    key(qtbot, window, Qt.Key.Key_Space, Qt.KeyboardModifier.ShiftModifier)
    assert panel.index == 1
    key(qtbot, window.lesson_panel.text, Qt.Key.Key_Backspace)  # the lesson's own (read-only) prose
    assert panel.index == 0
    key(qtbot, window, Qt.Key.Key_PageUp)
    assert panel.index == 0, "the first step stays the first"
    assert window.presentation.bar.position_label.text() == f"1 / {len(panel.lesson.steps)}"


def test_b_and_period_blank_the_screen_and_a_key_brings_it_back(presenting, qtbot) -> None:
    window = presenting()
    presentation, panel = window.presentation, window.lesson_panel
    key(qtbot, window, Qt.Key.Key_B)
    assert presentation.is_blank
    assert presentation.blank.geometry() == window.rect(), "black over the whole window"
    key(qtbot, window, Qt.Key.Key_B)
    assert not presentation.is_blank
    key(qtbot, window, Qt.Key.Key_Period)
    assert presentation.is_blank
    key(qtbot, window, Qt.Key.Key_Right)
    assert not presentation.is_blank and panel.index == 0, "a clicker's Next lifts the blank before moving on"
    key(qtbot, window, Qt.Key.Key_Period)
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert not presentation.is_blank and panel.index == 0
    key(qtbot, window, Qt.Key.Key_Period)
    qtbot.mouseClick(presentation.blank, Qt.MouseButton.LeftButton)
    assert not presentation.is_blank, "a click lifts it too"


def test_esc_leaves_a_blank_screen_and_the_mode(presenting, qtbot) -> None:
    window = presenting()
    key(qtbot, window, Qt.Key.Key_B)
    assert window.presentation.is_blank
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.presentation.active and not window.presentation.is_blank


def test_keys_do_nothing_special_outside_the_mode(make_window, qtbot) -> None:
    window = make_window("lecture-demo")
    panel = window.lesson_panel
    panel.go_to(0, force=True)
    for k in (Qt.Key.Key_Right, Qt.Key.Key_Space, Qt.Key.Key_B, Qt.Key.Key_Period, Qt.Key.Key_Left):
        key(qtbot, window, k)
    assert panel.index == 0 and not window.presentation.is_blank
    window.presentation.enter()
    window.presentation.leave()
    key(qtbot, window, Qt.Key.Key_Right)
    key(qtbot, window, Qt.Key.Key_B)
    assert panel.index == 0 and not window.presentation.is_blank, "leaving takes the keys back"


def test_editing_widgets_keep_their_keys(presenting, qtbot) -> None:
    """A spin box's arrows, a text field's letters and spaces, a table's arrows: never the clicker's."""
    window = presenting()
    panel, presentation = window.lesson_panel, window.presentation
    page = window.tabs.currentWidget()
    spin = QSpinBox(page)
    spin.setRange(0, 10)
    spin.setValue(5)
    spin.show()
    key(qtbot, spin, Qt.Key.Key_Up)
    assert spin.value() == 6
    spin.lineEdit().setCursorPosition(1)
    key(qtbot, spin, Qt.Key.Key_Left)
    assert spin.lineEdit().cursorPosition() == 0, "Left moved the spin box's cursor"
    key(qtbot, spin, Qt.Key.Key_Right)
    assert spin.lineEdit().cursorPosition() == 1
    assert panel.index == 0
    field = QLineEdit(page)
    field.show()
    qtbot.keyClicks(field, "b. b")
    key(qtbot, field, Qt.Key.Key_Backspace)
    assert field.text() == "b. " and not presentation.is_blank and panel.index == 0
    table = QTableWidget(3, 3, page)
    table.show()
    table.setCurrentCell(0, 0)
    key(qtbot, table, Qt.Key.Key_Right)
    assert table.currentColumn() == 1 and panel.index == 0
    key(qtbot, window, Qt.Key.Key_Right)
    assert panel.index == 1, "outside the editors the arrow steps again"


def test_prev_and_next_buttons_step_and_are_off_at_the_ends(presenting, qtbot) -> None:
    window = presenting()
    panel, bar = window.lesson_panel, window.presentation.bar
    count = len(panel.lesson.steps)
    assert bar.isVisible() and window.lesson_dock.titleBarWidget() is bar, "the bar heads the lesson column"
    assert not bar.prev_button.isEnabled() and bar.next_button.isEnabled()
    assert "PgDn" in bar.next_button.toolTip().replace("Page Down", "PgDn")
    assert "Page Up" in bar.prev_button.toolTip() and "Esc" in bar.leave_button.toolTip()
    qtbot.mouseClick(bar.next_button, Qt.MouseButton.LeftButton)
    window.wait_idle()
    assert panel.index == 1 and bar.position_label.text() == f"2 / {count}" and bar.prev_button.isEnabled()
    qtbot.mouseClick(bar.prev_button, Qt.MouseButton.LeftButton)
    window.wait_idle()
    assert panel.index == 0
    panel.go_to(count - 1)
    window.wait_idle()
    assert bar.position_label.text() == f"{count} / {count}"
    assert bar.prev_button.isEnabled() and not bar.next_button.isEnabled()
    qtbot.mouseClick(bar.leave_button, Qt.MouseButton.LeftButton)
    assert not window.presentation.active and not bar.isVisible()


def _layout(window) -> dict[str, object]:
    """Where every dock is, whether it shows, what it is tabbed with, and the window's bars."""
    docks = window.findChildren(QDockWidget)
    return {
        "docks": {d.objectName(): (window.dockWidgetArea(d), d.isVisible(), d.features(), d.titleBarWidget(),
                                   sorted(t.objectName() for t in window.tabifiedDockWidgets(d)))
                  for d in docks},
        "menu": window.menuBar().isVisible(),
        "status": window.statusBar().isVisible(),
        "tabs": (window.tabs.tabBar().elideMode(), window.tabs.tabBar().usesScrollButtons()),
    }


def test_esc_restores_whatever_layout_was_there(make_window, qtbot, settle) -> None:
    """Not only the default layout: a compact one (docks tabbed together) comes back as it was."""
    window = make_window("lecture-demo")
    window.tabifyDockWidget(window.sequence_dock, window.weights_dock)  # as a small-screen layout might
    window.tabifyDockWidget(window.sequence_dock, window.lesson_dock)
    window.training_dock.show()
    window.wait_idle()
    settle(window)
    before = _layout(window)
    assert before["docks"]["dock_lesson"][4] == ["dock_sequence", "dock_weights"]
    window.presentation.enter()
    settle(window)
    during = _layout(window)
    assert during["docks"]["dock_lesson"][:2] == (Qt.DockWidgetArea.RightDockWidgetArea, True)
    assert during["docks"]["dock_lesson"][4] == [], "alone in its column"
    assert not during["docks"]["dock_sequence"][1] and not during["docks"]["dock_weights"][1]
    assert not during["menu"] and not during["status"]
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    settle(window)
    assert _layout(window) == before


def test_a_step_too_long_for_the_column_widens_it(presenting, settle) -> None:
    """On a short screen the longest step does not fit even the smallest font: the column grows, up to a cap."""
    from induction_gui.qt.presentation import LESSON_MAX_FRACTION, LESSON_WIDTH_FRACTION

    window = presenting()
    panel = window.lesson_panel
    assert window.lesson_dock.width() == pytest.approx(PROJECTOR.width() * LESSON_WIDTH_FRACTION, abs=8)
    window.resize(1280, 480)
    panel.go_to(next(i for i, s in enumerate(panel.lesson.steps) if s.title.startswith("Circuit analysis")))
    window.wait_idle()
    settle(window)
    fraction = window.presentation.lesson_fraction
    assert LESSON_WIDTH_FRACTION < fraction < LESSON_MAX_FRACTION, "a little wider, and the step fits"
    assert panel.fit_points is not None and window.lesson_dock.width() == pytest.approx(1280 * fraction, abs=8)
    window.resize(1280, 340)
    window.wait_idle()
    settle(window)
    assert window.presentation.lesson_fraction == pytest.approx(LESSON_MAX_FRACTION), "never wider than the cap"
    assert window.lesson_dock.width() == pytest.approx(1280 * LESSON_MAX_FRACTION, abs=8)
    assert panel.fit_points is None, "still too long: the prose scrolls rather than vanish"
    assert panel.text.verticalScrollBar().maximum() > 0
    window.resize(PROJECTOR)
    panel.step(1)  # the next step: the views get their room back
    window.wait_idle()
    settle(window)
    assert window.presentation.lesson_fraction == LESSON_WIDTH_FRACTION
    assert window.lesson_dock.width() == pytest.approx(PROJECTOR.width() * LESSON_WIDTH_FRACTION, abs=8)


def test_dock_shortcuts_work_with_the_menu_bar_hidden(presenting, qtbot) -> None:
    """Ctrl+T lives in the View menu, which presentation mode hides with the menu bar (the last step trains)."""
    window = presenting()
    assert window.menuBar().isHidden()
    bar = window.tabs.tabBar()
    window.activateWindow()
    bar.setFocus()
    QApplication.processEvents()
    training = window.training_dock.isVisible()
    qtbot.keyClick(bar, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.training_dock.isVisible() is not training)
    # the lesson column is fixed while presenting: Ctrl+L does not close it under the teacher's hands
    qtbot.keyClick(bar, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.lesson_dock.isVisible()


def test_leaving_after_the_last_step_gives_back_the_desk_layout(make_window, qtbot, settle) -> None:
    """The docks were restored while the projector fonts still widened their minimums: the dock column came
    back wider than the teacher left it (the Xvfb walk checks the window fits its screen afterwards)."""
    window = make_window("lecture-demo")
    window.lesson_panel  # built, as a teacher who opened the Lesson tab before presenting
    window.wait_idle()
    settle(window)
    column = window.sequence_dock.width()
    window.presentation.enter()
    window.lesson_panel.go_to(len(window.lesson_panel.lesson.steps) - 1, force=True)  # the training step
    window.wait_idle()
    settle(window)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    settle(window)
    assert abs(window.sequence_dock.width() - column) <= 4, (column, window.sequence_dock.width())
