"""The "Markov chain" generator in the window: edit the matrix by typing in its table, generate, undo with Ctrl+Z."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from induction_gui.model.markov_chain import VIEW_KEY, default_chain, random_chain
from induction_gui.model.sequence_edit import GENERATORS
from induction_gui.qt.panels.markov_editor import MarkovEditor

CYCLE = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]  # 0 -> 1 -> 2 -> 0


def _choose_markov(window, k: int = 3) -> MarkovEditor:  # noqa: ANN001 - the MainWindow
    panel = window.sequence_panel
    panel.generator_combo.setCurrentIndex([s.key for s in GENERATORS].index("markov_chain"))
    panel.generator_form.markov_k_spin.setValue(k)
    editor = panel.generator_form.markov_editor
    assert editor.isVisible() and editor.table.rowCount() == k == editor.table.columnCount()
    return editor


def _focus(window, widget: QWidget) -> None:  # noqa: ANN001 - the MainWindow
    window.activateWindow()
    widget.setFocus()
    QApplication.processEvents()


def _type_in_cell(qtbot, window, editor: MarkovEditor, row: int, col: int, text: str) -> None:  # noqa: ANN001
    """Select the cell, type ``text`` (which opens its line editor) and press Enter, as a learner does."""
    table = editor.table
    _focus(window, table)
    table.setCurrentCell(row, col)
    qtbot.keyClicks(table, text[0])  # any key opens the cell's editor with that character
    qtbot.waitUntil(lambda: table.state() == table.State.EditingState)
    line = QApplication.focusWidget()
    assert line is not table
    qtbot.keyClicks(line, text[1:])
    qtbot.keyClick(line, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.state() != table.State.EditingState)


def test_type_a_cycle_generate_and_ctrl_z(qtbot, make_window) -> None:
    window = make_window()
    doc, stack = window.document, window.undo_stack
    editor = _choose_markov(window)
    assert "divided by its sum" in editor.caption.text() and editor.caption.isVisible()
    assert [editor.table.horizontalHeaderItem(j).text() for j in range(3)] == doc.scenario.vocab[1:4]
    for row, col in [(0, 0), (0, 2), (1, 0), (1, 1), (2, 1), (2, 2)]:  # zero every cell off the cycle
        _type_in_cell(qtbot, window, editor, row, col, "0")
    assert doc.scenario.view[VIEW_KEY] == CYCLE  # each row renormalized to its one remaining weight
    assert stack.count() == 6 and editor.table.item(0, 1).text() == "1"
    before_edit = [list(r) for r in doc.scenario.view[VIEW_KEY]]

    window.sequence_panel.generator_form.markov_length_spin.setValue(25)
    window.sequence_panel.seed_spin.setValue(5)
    tokens_before = doc.scenario.tokens.copy()
    window.sequence_panel.generate_button.click()
    tokens = doc.scenario.tokens  # [25]
    assert tokens.size == 25 and tokens[0] == doc.scenario.bos
    states = tokens[1:] - 1  # state j is the token id j + 1, after the start token
    assert (np.diff(states) % 3 == 1).all(), tokens
    assert "Markov chain" in window.sequence_panel.generator_description.text()

    _focus(window, editor.table)
    qtbot.keyClick(editor.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.scenario.tokens, tokens_before)
    assert doc.scenario.view[VIEW_KEY] == before_edit  # the chain is a separate step
    qtbot.keyClick(editor.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the last cell typed
    assert doc.scenario.view[VIEW_KEY][2] != CYCLE[2] and doc.scenario.view[VIEW_KEY][:2] == CYCLE[:2]
    assert editor.table.item(2, 2).text() != "0"  # the table follows the undo
    qtbot.keyClick(editor.table, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert doc.scenario.view[VIEW_KEY] == CYCLE


def test_a_bad_weight_is_refused_naming_the_row_and_is_no_undo_step(qtbot, make_window) -> None:
    window = make_window()
    doc, stack = window.document, window.undo_stack
    editor = _choose_markov(window)
    shown = editor.table.item(1, 2).text()
    _type_in_cell(qtbot, window, editor, 1, 2, "-3")
    assert editor.message.isVisible() and "row 1: weights must not be negative" in editor.message.text()
    assert stack.count() == 0 and VIEW_KEY not in doc.scenario.view
    assert editor.table.item(1, 2).text() == shown  # the document's value is put back
    _type_in_cell(qtbot, window, editor, 2, 0, "x")
    assert "row 2: “x” is not a number" in editor.message.text() and stack.count() == 0
    assert editor.set_cell(0, 1, "0")  # row 0 keeps weight on its other cells: accepted
    assert stack.count() == 1 and not editor.message.isVisible()
    assert doc.scenario.view[VIEW_KEY][0] == [0.5, 0.0, 0.5]
    assert editor.set_cell(0, 0, "0") and doc.scenario.view[VIEW_KEY][0] == [0.0, 0.0, 1.0]
    assert not editor.set_cell(0, 2, "0")  # its last weight: nothing left to go to
    assert "row 0: the weights are all zero" in editor.message.text()
    assert stack.count() == 2 and doc.scenario.view[VIEW_KEY][0] == [0.0, 0.0, 1.0]


def test_random_chain_is_seeded_undoable_and_follows_k(qtbot, make_window) -> None:
    window = make_window()
    doc, stack = window.document, window.undo_stack
    editor = _choose_markov(window, k=5)
    editor.alpha_spin.setValue(0.5)
    window.sequence_panel.seed_spin.setValue(9)
    qtbot.mouseClick(editor.random_button, Qt.MouseButton.LeftButton)
    assert doc.scenario.view[VIEW_KEY] == random_chain(5, 0.5, 9) and stack.count() == 1
    assert editor.table.rowCount() == 5
    stack.undo()
    assert VIEW_KEY not in doc.scenario.view  # exactly as before: no chain saved, the default one shown
    assert editor.table.item(0, 1).text() == f"{default_chain(5)[0][1]:.2f}"[1:]
    stack.redo()
    assert doc.scenario.view[VIEW_KEY] == random_chain(5, 0.5, 9)
    window.sequence_panel.generator_form.markov_k_spin.setValue(2)
    assert editor.table.rowCount() == 2 and stack.count() == 1  # choosing k is not an edit of the chain


def test_a_reopened_scenario_shows_its_saved_chain_at_its_size(qtbot, make_window, tmp_path) -> None:  # noqa: ANN001
    from induction_gui.model import load_scenario, save_scenario

    window = make_window()
    chain = random_chain(5, 2.0, 4)
    window.document.set_markov_chain(chain)
    path = tmp_path / "five.induction.json"
    save_scenario(window.document.scenario_for_saving(), path)
    window.document.replace_scenario(load_scenario(path), path)
    editor = _choose_markov(window, k=window.sequence_panel.generator_form.markov_k_spin.value())
    assert editor.k == 5 and editor.chain() == chain
    assert editor.table.item(4, 4).toolTip().endswith(f"{chain[4][4]:.4g}")



def test_a_chain_scenario_opens_on_the_chain_generator(make_window) -> None:  # noqa: ANN001
    window = make_window("statistical-induction")
    form = window.sequence_panel.generator_form
    assert form.spec.key == "markov_chain" and form.markov_k_spin.value() == 3
    assert make_window("induction-circuit").sequence_panel.generator_form.spec.key != "markov_chain"


def test_a_chain_generated_at_another_size_is_saved_with_its_sequence_in_one_undo_step(
    qtbot, make_window  # noqa: ANN001
) -> None:
    window = make_window("build-your-own")
    before_view, before_tokens = dict(window.document.scenario.view), window.document.scenario.tokens.copy()
    assert VIEW_KEY not in before_view  # the default 3-state chain
    _choose_markov(window, k=4)  # four states, the matrix left as it is
    qtbot.mouseClick(window.sequence_panel.generator_form.generate_button, Qt.MouseButton.LeftButton)
    window.wait_idle()
    chain = window.document.scenario.view[VIEW_KEY]
    assert len(chain) == 4 and all(len(row) == 4 for row in chain), "the chain the sequence came from is saved"
    assert window.undo_stack.count() == 1, "chain and sequence are one undo step"
    window.undo_stack.undo()
    assert VIEW_KEY not in window.document.scenario.view
    np.testing.assert_array_equal(window.document.scenario.tokens, before_tokens)
    window.undo_stack.redo()
    assert window.document.scenario.view[VIEW_KEY] == chain
