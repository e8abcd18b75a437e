"""The weights panel both ways: widgets drive the document through undoable commands, the document drives the widgets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QAbstractItemView, QLineEdit

from induction_gui import load_scenario
from induction_gui.engine import HeadOverride, shift_matrix
from induction_gui.analysis import Analysis
from induction_gui.model.document import Document
from induction_gui.qt.commands import SetWeightCommand
from induction_gui.qt.panels.weights_panel import WeightsPanel

HEAD_MATRICES = ("W_Q", "W_K", "W_V", "W_O")


@pytest.fixture
def doc() -> Document:
    # the hand-built circuit: 2 layers × 2 heads, d_model 85, d_head 32, selection L1H0
    return Document(load_scenario("induction-circuit"))


@pytest.fixture
def stack() -> QUndoStack:
    return QUndoStack()


@pytest.fixture
def panel(qtbot, doc: Document, stack: QUndoStack) -> Iterator[WeightsPanel]:
    p = WeightsPanel(doc, stack)
    qtbot.addWidget(p)
    p.resize(420, 900)
    p.show()
    yield p
    p.detach()


def _edit_cell(qtbot, panel: WeightsPanel, row: int, col: int, text: str) -> None:
    """Open the real item editor, type into it and press Enter."""
    table = panel.editor.table
    index = panel.editor.model.index(row, col)
    table.setCurrentIndex(index)
    table.edit(index)
    editors = [e for e in table.viewport().findChildren(QLineEdit) if e.isVisible()]
    assert len(editors) == 1
    editor = editors[0]
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # the delegate commits on a queued call after Enter
    qtbot.waitUntil(lambda: table.state() != QAbstractItemView.State.EditingState, timeout=2000)


def test_typing_in_a_cell_sets_the_weight_and_undo_restores_it(qtbot, panel, doc, stack) -> None:
    assert panel.editor.name == "blocks.1.attn.W_Q" and panel.editor.slice_index == (0,)
    before = float(doc.scenario.weights["blocks.1.attn.W_Q"][0, 3, 2])
    _edit_cell(qtbot, panel, 3, 2, "0.25")
    assert doc.scenario.weights["blocks.1.attn.W_Q"][0, 3, 2] == pytest.approx(0.25)
    assert stack.count() == 1
    assert panel.editor.model.data(panel.editor.model.index(3, 2)) == "0.25"
    stack.undo()
    assert doc.scenario.weights["blocks.1.attn.W_Q"][0, 3, 2] == before
    assert panel.editor.model.matrix[3, 2] == before  # the table followed the undo


@pytest.mark.parametrize(("text", "problem"), [("abc", "not a number"), ("nan", "not a finite number"),
                                               ("-inf", "not a finite number")])
def test_refused_input_never_reaches_the_document_and_says_why(qtbot, panel, doc, stack, text, problem) -> None:
    before = doc.scenario.weights.copy()
    _edit_cell(qtbot, panel, 1, 1, text)
    assert doc.scenario.weights == before
    assert stack.count() == 0
    assert panel.editor.error.isVisible()
    assert problem in panel.editor.error.text()
    assert "model dim d1, head dim h1" in panel.editor.error.text()


def test_the_table_shows_a_weight_set_elsewhere(panel, doc, stack) -> None:
    panel.set_parameter("W_E")
    assert panel.editor.name == "embed.W_E"
    assert panel.editor.model.headerData(2, Qt.Orientation.Vertical) == doc.scenario.vocab[2]
    new = doc.scenario.weights["embed.W_E"].copy()
    new[2, 5] = -3.5
    stack.push(SetWeightCommand(doc, "embed.W_E", new))
    assert panel.editor.model.matrix[2, 5] == -3.5
    assert panel.editor.model.data(panel.editor.model.index(2, 5)) == "-3.5"
    assert panel.editor.heatmap.data[2, 5] == -3.5


def test_axis_labels_name_what_rows_and_columns_are(panel, doc) -> None:
    m = panel.editor.model
    panel.set_parameter("W_U")
    assert m.headerData(0, Qt.Orientation.Horizontal) == doc.scenario.vocab[0]
    assert m.headerData(4, Qt.Orientation.Vertical) == "d4"
    panel.set_parameter("W_pos")
    assert m.rowCount() == doc.scenario.weights.config.n_ctx and m.headerData(7, Qt.Orientation.Vertical) == "7"
    panel.set_parameter("W_O")
    assert m.headerData(0, Qt.Orientation.Vertical) == "h0" and m.columnCount() == 85


def test_head_selectors_and_document_selection_are_bound_both_ways(panel, doc) -> None:
    panel.head_combo.setCurrentIndex(1)
    assert (doc.selection.layer, doc.selection.head) == (1, 1)
    assert panel.editor.slice_index == (1,)
    panel.layer_combo.setCurrentIndex(0)
    assert doc.selection.layer == 0 and panel.editor.name == "blocks.0.attn.W_Q"
    doc.set_selection(layer=1, head=0)
    assert panel.layer_combo.currentIndex() == 1 and panel.head_combo.currentIndex() == 0
    assert panel.head_controls.title.text() == "Head L1H0"
    assert panel.editor.slice_index == (0,)


def test_a_score_scale_drag_is_one_undo_step(panel, doc, stack) -> None:
    slider = panel.head_controls.scale_slider
    slider.setSliderDown(True)  # the mouse grabs the handle
    for value in (110, 130, 150, 175, 200):
        slider.setValue(value)
    slider.setSliderDown(False)
    assert doc.override((1, 0)).score_scale == 2.0
    assert panel.head_controls.scale_spin.value() == 2.0
    assert stack.count() == 1
    stack.undo()
    assert doc.override((1, 0)).score_scale == 1.0
    assert slider.value() == 100


def test_key_shift_normalisation_and_ablation_set_the_override(panel, doc, stack) -> None:
    hc = panel.head_controls
    hc.shift_spin.setValue(1)
    assert doc.override((1, 0)).key_shift == 1
    hc.norm_buttons["linear"].click()
    assert doc.override((1, 0)).normalization == "linear"
    hc.ablate_buttons["zero"].click()
    assert doc.override((1, 0)).ablation == "zero"
    assert doc.override((1, 0)).key_shift == 1  # earlier experiments are kept
    assert stack.count() == 3
    stack.undo()
    assert doc.override((1, 0)).ablation is None and hc.ablate_buttons[None].isChecked()


def test_fixed_pattern_mode_uses_the_shift_matrix_normalised(qtbot, panel, doc, stack) -> None:
    hc = panel.head_controls
    doc.set_selection(layer=0, head=1)
    hc.fixed_check.click()
    o = doc.override((0, 1))
    n_ctx = doc.scenario.weights.config.n_ctx
    np.testing.assert_array_equal(o.fixed_pattern, shift_matrix(n_ctx))
    assert o.normalization == "linear" and hc.norm_buttons["linear"].isChecked()
    n = doc.scenario.tokens.size
    expected = shift_matrix(n) / (shift_matrix(n).sum(axis=1, keepdims=True) + o.eps)
    np.testing.assert_allclose(Analysis(doc).recompute().pattern(0, 1), expected, atol=1e-6)
    assert hc.pattern_view.isVisible()

    # clicking a cell of the pattern heatmap toggles it
    view = hc.pattern_view
    qtbot.waitUntil(lambda: view.plot.vb.width() > 10)
    scene_pos = view.plot.vb.mapViewToScene(QPointF(0.5, 2.5))  # key 0, query 2
    qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.graphics.mapFromScene(scene_pos))
    assert doc.override((0, 1)).fixed_pattern[2, 0] == 1.0
    assert stack.count() == 2
    hc.fixed_check.click()
    assert doc.override((0, 1)).fixed_pattern is None
    stack.undo()
    stack.undo()
    stack.undo()
    assert (0, 1) not in doc.scenario.overrides


@pytest.mark.parametrize("preset", ["previous_token", "induction", "identity_copy", "zero", "random"])
def test_each_head_preset_is_one_undo_step(panel, doc, stack, preset) -> None:
    if preset == "induction":
        stack.push(SetWeightCommand(doc, "blocks.1.attn.W_Q", np.zeros_like(doc.scenario.weights["blocks.1.attn.W_Q"])))
    before = doc.scenario.weights.copy()
    start = stack.count()
    panel.head_controls.preset_buttons[preset].click()
    assert not (panel.head_controls.status.isVisible() and "#b00020" in panel.head_controls.status.styleSheet()), \
        panel.head_controls.status.text()
    changed = [m for m in HEAD_MATRICES if not np.array_equal(doc.scenario.weights[f"blocks.1.attn.{m}"][0],
                                                              before[f"blocks.1.attn.{m}"][0])]
    assert changed
    assert np.array_equal(doc.scenario.weights["blocks.1.attn.W_Q"][1], before["blocks.1.attn.W_Q"][1])
    assert stack.count() == start + 1
    stack.undo()
    assert doc.scenario.weights == before


def test_induction_preset_is_only_offered_from_layer_one(panel, doc) -> None:
    assert panel.head_controls.preset_buttons["induction"].isEnabled()
    doc.set_selection(layer=0)
    assert not panel.head_controls.preset_buttons["induction"].isEnabled()


def test_a_preset_that_cannot_work_says_why_and_changes_nothing(panel, doc, stack) -> None:
    for l0 in (0, 1):  # no previous-token head left in layer 0
        doc.set_selection(layer=0, head=l0)
        panel.head_controls.preset_buttons["zero"].click()
    doc.set_selection(layer=1, head=1)
    before, count = doc.scenario.weights.copy(), stack.count()
    panel.head_controls.preset_buttons["induction"].click()
    assert doc.scenario.weights == before and stack.count() == count
    assert "previous-token head" in panel.head_controls.status.text()


def test_reset_head_restores_the_scenario(panel, doc, stack) -> None:
    original = doc.scenario.weights.copy()
    hc = panel.head_controls
    hc.preset_buttons["random"].click()
    hc.shift_spin.setValue(2)
    assert doc.scenario.weights != original
    hc.preset_buttons["reset"].click()
    assert doc.scenario.weights == original
    assert doc.override((1, 0)) == HeadOverride()
    assert hc.shift_spin.value() == 0
    stack.undo()  # reset is one step
    assert doc.override((1, 0)).key_shift == 2


def test_reset_follows_a_replaced_scenario(panel, doc, stack) -> None:
    doc.replace_scenario(load_scenario("induction-circuit"))
    doc.set_selection(layer=1, head=0)
    original = doc.scenario.weights.copy()
    panel.head_controls.preset_buttons["zero"].click()
    panel.head_controls.preset_buttons["reset"].click()
    assert doc.scenario.weights == original


def test_screenshot_is_tidy(panel, tmp_path: Path) -> None:
    image = panel.grab()
    assert image.width() == 420 and image.height() == 900
    assert image.save(str(tmp_path / "weights_panel.png"))
