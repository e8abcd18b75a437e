"""What a teacher does in class, with the window alone: lecture demo, build the circuit, break it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from induction_gui.qt.panels.head_controls import HeadControls


def _induction_score(window) -> float:
    return float(window.analysis.results.score("induction_head", "mul", True)[1, 0])


def test_lecture_demo_reads_as_the_printout(make_window) -> None:
    window = make_window("lecture-demo")
    window.tabs.setCurrentIndex(0)
    window.wait_idle()
    shown = window.attention_view.heatmap.data  # [query_pos, key_pos] as drawn
    pattern = window.analysis.results.pattern(0, 0)  # [query_pos, key_pos]
    assert np.all(pattern[0] == 0), "row 0 has no earlier token and stays zero"
    assert np.allclose(np.diag(pattern, -1), 1 / (1 + 1e-8))
    np.testing.assert_allclose(shown, pattern, atol=1e-7)


def test_build_the_circuit_from_head_presets_then_break_it(make_window, qtbot) -> None:
    window = make_window("build-your-own")
    doc = window.document
    controls = window.weights_panel.findChild(HeadControls)
    assert controls is not None
    assert _induction_score(window) < 0.3, "a random model has no induction head"

    # layer 0 head 0 -> previous-token head
    doc.set_selection(layer=0, head=0)
    qtbot.mouseClick(controls.preset_buttons["previous_token"], Qt.MouseButton.LeftButton)
    window.wait_idle()
    prev = float(window.analysis.results.score("previous_token_head", "mul", True)[0, 0])
    assert prev > 0.9, f"previous-token score {prev:.2f}"

    # layer 1 head 0 -> induction head (K-composition with L0H0)
    doc.set_selection(layer=1, head=0)
    qtbot.mouseClick(controls.preset_buttons["induction"], Qt.MouseButton.LeftButton)
    window.wait_idle()
    built = _induction_score(window)
    assert built > 0.5, f"induction score {built:.2f} after the presets"
    n = (doc.scenario.tokens.size - 1) // 2
    loss = window.analysis.results.loss
    assert loss[n + 1:].mean() < loss[:n].mean(), "the repeat became more predictable"
    assert window.undo_stack.count() == 2, "each preset is one undo step"

    # break it: ablate the previous-token head
    doc.set_selection(layer=0, head=0)
    qtbot.mouseClick(controls.ablate_buttons["zero"], Qt.MouseButton.LeftButton)
    window.wait_idle()
    assert _induction_score(window) < built - 0.3, "ablating the previous-token head breaks induction"
    window.action_table["undo"].trigger()
    window.wait_idle()
    assert abs(_induction_score(window) - built) < 1e-6

    # break it another way: shift the induction head's keys with the key-shift control
    doc.set_selection(layer=1, head=0)
    controls.shift_spin.setValue(3)
    window.wait_idle()
    assert doc.override((1, 0)).key_shift == 3
    assert _induction_score(window) < built - 0.3, "shifted keys no longer find the token after the match"

    # undo everything: back to the random model
    while window.undo_stack.canUndo():
        window.action_table["undo"].trigger()
    window.wait_idle()
    assert _induction_score(window) < 0.3
