"""The window's actions: one table of key, text, slot, shortcut and tip.

Menus, tests and presentation mode find an action by its key in
``MainWindow.action_table`` (not ``actions``: that name is ``QWidget.actions()``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence

from . import help as help_dialogs
from .undo_keys import install_undo_keys

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow, QTabWidget

S = QKeySequence.StandardKey


def add_action(window: QMainWindow, table: dict[str, QAction], key: str, text: str, slot: Callable[[], object],
               shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None, tip: str = "") -> QAction:
    """A window-wide action (its shortcut works wherever the focus is), entered in ``table`` under ``key``."""
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setStatusTip(tip or text.replace("&", ""))
    action.setToolTip(tip or text.replace("&", ""))
    action.triggered.connect(slot)
    table[key] = action
    window.addAction(action)
    return action


def build_actions(w) -> dict[str, QAction]:  # noqa: ANN001 - the MainWindow (not imported: it imports us)
    """Every action of the main window ``w``, by key, wired to the window's slots."""
    table: dict[str, QAction] = {}

    def add(key: str, text: str, slot: Callable[[], object],
            shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None, tip: str = "") -> QAction:
        return add_action(w, table, key, text, slot, shortcut, tip)

    add("new", "&New", w.new_document, S.New, "Start again from the default scenario")
    add("open", "&Open…", w.open_dialog, S.Open, "Open a scenario file")
    add("save", "&Save", w.save, S.Save, "Save the scenario")
    add("save_as", "Save &As…", w.save_as_dialog, S.SaveAs, "Save the scenario under a new name")
    add("export_png", "Export View as &PNG…", lambda: w.export_view_dialog("png"), None,
        "Save the current view as a picture")
    add("export_svg", "Export View as S&VG…", lambda: w.export_view_dialog("svg"), None,
        "Save the current view as a vector drawing")
    add("export_csv", "Export View &Matrices as CSV…", w.export_matrices_dialog, None,
        "Save the matrices of the current view as CSV files")
    add("open_model", "Open &Model…", w.open_model_dialog, None,
        "Open a TransformerLens model folder: config.json + model.safetensors (+ tokenizer.json)")
    add("open_run", "Open &Training Run…", w.open_training_run_dialog, None,
        "Open a training run folder: its loss curves and checkpoints, without retraining")
    add("export_script", "Export as Python &Script…", w.export_script_dialog, None,
        "Save a NumPy-only script that rebuilds this scenario and prints its attention weights "
        "and copied representations, as the lecture did")
    add("export_npz", "Export &Cache as NPZ…", w.export_cache_dialog, None,
        "Save every activation (TransformerLens hook names) as a NumPy .npz file")
    add("quit", "&Quit", w.close, S.Quit)
    undo = w.undo_stack.createUndoAction(w, "&Undo")
    undo.setShortcut(QKeySequence(S.Undo))
    redo = w.undo_stack.createRedoAction(w, "&Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    table["undo"], table["redo"] = undo, redo
    w.addAction(undo)
    w.addAction(redo)
    # in a spin box or text field the keys undo the field's typing when it has some, else the document
    w.undo_keys = install_undo_keys(w, w.undo_stack, undo, redo)
    add("pin", "&Pin for Comparison", w.toggle_pin, "Ctrl+P",
        "Keep the current results; the views then show the difference after edits")
    table["pin"].setCheckable(True)
    add("font_bigger", "&Larger Text", lambda: w.set_font_scale(w.font_scale * 1.15), S.ZoomIn)
    add("font_smaller", "&Smaller Text", lambda: w.set_font_scale(w.font_scale / 1.15), S.ZoomOut)
    add("font_reset", "&Normal Text Size", lambda: w.set_font_scale(1.0), "Ctrl+0")
    add("reset_layout", "Reset &Layout", w.reset_layout, None, "Put the docks back where they were")
    add("shortcuts", "&Keyboard Shortcuts", lambda: help_dialogs.show_shortcuts(w), "Ctrl+/",
        "Every keyboard shortcut of the window")
    add("what_is_this", "&What Am I Looking At?", lambda: help_dialogs.show_explanation(w), "F1",
        "What the current view shows, in the lecture's terms (F1)")
    add("about", "&About", w.show_about, None, "Name, version and the versions of Python, Qt and NumPy")
    add("licence", "&Licence", lambda: help_dialogs.show_licence(w), None,
        "The licence this program is distributed under")
    add("presentation", "&Presentation Mode", w.presentation.toggle, "F11",
        "Full screen, large text and a high-contrast colour map for a projector (F11, Esc leaves)")
    table["presentation"].setCheckable(True)
    add("leave_presentation", "Leave Presentation Mode", w.presentation.leave, "Esc")
    table["leave_presentation"].setEnabled(False)  # Esc belongs to the widgets outside the mode
    add("next_step", "&Next Step", lambda: w.presentation.step(+1), "PgDown",
        "The next lesson step, or the next view (Page Down)")
    add("previous_step", "P&revious Step", lambda: w.presentation.step(-1), "PgUp",
        "The previous lesson step, or the previous view (Page Up)")
    return table


def tab_selector(tabs: QTabWidget, index: int) -> Callable[[], None]:
    """A slot that shows tab ``index``.

    A function of no arguments on purpose: a ``lambda i=i: ...`` connected to
    ``triggered(bool)`` receives the checked state as ``i`` (False, tab 0).
    """

    def select() -> None:
        tabs.setCurrentIndex(index)

    return select


def add_tab_actions(w) -> list[QAction]:  # noqa: ANN001 - the MainWindow, once its centre tabs exist
    """One action per centre tab, named as the tab, Ctrl+1…Ctrl+9 for the first nine (``tab1``, ``tab2``, ...)."""
    made = []
    for i in range(w.tabs.count()):
        name = w.tabs.tabText(i)
        shortcut = f"Ctrl+{i + 1}" if i < 9 else None
        tip = f"Show the {name.replace('&', '')} view" + (f" ({shortcut})" if shortcut else "")
        made.append(add_action(w, w.action_table, f"tab{i + 1}", name, tab_selector(w.tabs, i), shortcut, tip))
    return made
