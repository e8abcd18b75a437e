"""Keys and onboarding: the undo keys in fields and in the window, Ctrl+1…Ctrl+N, the Help menu, preset titles."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from induction_gui.model.scenario import preset_infos
from induction_gui.qt import help as help_module
from induction_gui.qt.views.base import View


def _focus(window, widget: QWidget) -> None:  # noqa: ANN001 - the MainWindow
    """Give ``widget`` the keyboard focus (offscreen windows may need to be made active first)."""
    window.activateWindow()
    widget.setFocus()
    QApplication.processEvents()


# -- Ctrl+Z / Ctrl+Shift+Z ---------------------------------------------------------------------------------------


def test_ctrl_z_in_a_document_spin_box_undoes_the_document(qtbot, make_window) -> None:
    """The key shift spin box is written back by the document, so it has no typing of its own to undo."""
    window = make_window()
    spin = window.weights_panel.head_controls.shift_spin
    key = window.weights_panel.head_controls.key
    _focus(window, spin)
    qtbot.keyClick(spin, Qt.Key.Key_Up)
    assert window.document.override(key).key_shift == 1 and window.undo_stack.index() == 1
    qtbot.keyClick(spin, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.undo_stack.index() == 0
    assert window.document.override(key).key_shift == 0 and spin.value() == 0
    qtbot.keyClick(spin, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.undo_stack.index() == 1 and window.document.override(key).key_shift == 1


def test_ctrl_z_in_a_field_with_typing_undoes_the_field_only(qtbot, make_window) -> None:
    """The generator's seed is typed, not yet a document edit: Ctrl+Z takes back the typing."""
    window = make_window()
    spin = window.sequence_panel.seed_spin
    qtbot.keyClick(window.weights_panel.head_controls.shift_spin, Qt.Key.Key_Up)  # a document step to keep
    steps = window.undo_stack.index()
    _focus(window, spin)
    before = spin.value()
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, "77")
    assert spin.value() == 77
    qtbot.keyClick(spin, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert spin.value() == before
    assert window.undo_stack.index() == steps  # the document's step is untouched
    qtbot.keyClick(spin, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert spin.value() == 77 and window.undo_stack.index() == steps


def test_ctrl_z_elsewhere_in_the_window_undoes_the_document(qtbot, make_window) -> None:
    window = make_window()
    tokens = window.document.scenario.tokens.copy()
    window.sequence_panel.delete_token()
    assert window.document.scenario.tokens.size == tokens.size - 1
    _focus(window, window.tabs.tabBar())
    qtbot.keyClick(window.tabs.tabBar(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(window.document.scenario.tokens, tokens)


# -- Ctrl+1 … Ctrl+N ----------------------------------------------------------------------------------------------


def test_every_tab_has_an_action_and_a_shortcut_that_selects_it(qtbot, make_window) -> None:
    window = make_window()
    n = window.tabs.count()
    assert n >= 6
    actions = [window.action_table[f"tab{i + 1}"] for i in range(n)]
    assert [a.text() for a in actions] == [window.tabs.tabText(i) for i in range(n)]
    view_menu = next(m for m in (a.menu() for a in window.menuBar().actions()) if m.title() == "&View")
    assert all(a in view_menu.actions() for a in actions)
    for i in reversed(range(n)):  # from the last, so no step starts on the tab it should reach
        actions[i].trigger()  # as the menu does: triggered(bool) must not reach the slot as an index
        assert window.tabs.currentIndex() == i
    window.tabs.setCurrentIndex(n - 1)
    _focus(window, window.tabs.tabBar())
    for i in range(min(n, 9)):
        assert actions[i].shortcut() == QKeySequence(f"Ctrl+{i + 1}")
        qtbot.keyClick(window.tabs.tabBar(), getattr(Qt.Key, f"Key_{i + 1}"), Qt.KeyboardModifier.ControlModifier)
        assert window.tabs.currentIndex() == i


# -- Help ----------------------------------------------------------------------------------------------------------


def test_the_shortcuts_dialog_lists_every_action_with_a_shortcut(qtbot, make_window) -> None:
    window = make_window()
    window.action_table["shortcuts"].trigger()
    dialog = next(w for w in QApplication.topLevelWidgets()
                  if isinstance(w, help_module.ShortcutsDialog) and w.isVisible())
    qtbot.addWidget(dialog)
    listed = {dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    expected = [a for a in window.action_table.values() if a.shortcuts()]
    assert len(expected) > 15
    for action in expected:
        keys = listed[help_module.action_label(action)]
        for shortcut in action.shortcuts():
            assert shortcut.toString(QKeySequence.SequenceFormat.NativeText) in keys
    assert listed["Undo"] == "Ctrl+Z"
    assert "Ctrl+Shift+Z" in listed["Redo"]
    assert listed["Training"] == "Ctrl+T"  # the docks' toggles too
    assert listed[window.tabs.tabText(1)] == "Ctrl+2"
    dialog.close()


def test_what_am_i_looking_at_explains_each_tab_from_its_views(qtbot, make_window) -> None:
    window = make_window()
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        title, text = help_module.explanation(window)
        assert title == window.tabs.tabText(i)
        views = help_module.page_views(window.tabs.widget(i))
        assert views, f"tab {title} shows no view"
        for view in views:
            cls = type(view)
            assert len(help_module.view_help(cls)) > 80, f"{cls.__name__} needs a help_text"
            assert help_module.view_help(cls)[:40] in text.replace("&#x27;", "'")
    window.tabs.setCurrentIndex(0)
    window.action_table["what_is_this"].trigger()
    box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    text = box.text()
    assert text.index("Attention pattern") < text.index("All heads")  # in reading order: the pattern is left
    box.close()
    assert window.action_table["what_is_this"].shortcut() == QKeySequence("F1")


def test_a_view_without_help_text_falls_back_to_its_tooltip() -> None:
    class Bare(View):
        title = "Bare"
        tooltip = "One sentence."

    assert help_module.view_help(Bare) == "One sentence."


def test_about_names_the_versions_and_the_licence_is_bundled(monkeypatch: pytest.MonkeyPatch, make_window) -> None:
    import platform

    import numpy

    import induction_gui

    window = make_window()
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    window.action_table["about"].trigger()
    assert shown and f"{help_module.APP_NAME} {induction_gui.__version__}" in shown[0]
    for version in (platform.python_version(), numpy.__version__, help_module.qVersion()):
        assert version in shown[0]
    window.action_table["licence"].trigger()
    dialog = next(w for w in QApplication.topLevelWidgets()
                  if isinstance(w, help_module.LicenceDialog) and w.isVisible())
    text = dialog.text.toPlainText()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY" in text
    dialog.close()


# -- preset titles ---------------------------------------------------------------------------------------------------


def test_open_preset_lists_titles_with_description_and_stem_in_the_tooltip(qtbot, make_window) -> None:
    window = make_window()
    window.presets_menu.aboutToShow.emit()
    actions = window.presets_menu.actions()
    infos = sorted(preset_infos(), key=lambda i: i.title.casefold())
    assert [a.text().replace("&&", "&") for a in actions] == [i.title for i in infos]
    for action, info in zip(actions, infos, strict=True):
        assert info.name in action.toolTip() and info.description in action.toolTip()
        assert action.text() != info.name  # a human title, not the file stem
    target = next(a for a in actions if a.data() == "no-repeat")
    target.trigger()
    assert window.document.scenario.title == target.text().replace("&&", "&")
