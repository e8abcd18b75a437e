"""The Circuits tab opens on the circuit that shows what the focused head is, and then keeps the learner's choice.

Before, it always opened on the token QK circuit; for the induction head L1H0
of the induction-circuit preset that is all zeros (its keys work through
K-composition), so a teacher saw an empty plot.
"""

from __future__ import annotations

import numpy as np
import pytest

from induction_gui import load_scenario
from induction_gui.analysis import Analysis
from induction_gui.model.document import Document
from induction_gui.resources import preset_names
from induction_gui.qt.views.circuits_view import EIG_PAGE, OV_PAGE, POS_PAGE, QK_PAGE, CircuitsView


def _view(show_view, preset: str) -> CircuitsView:  # noqa: ANN001
    analysis = Analysis(Document(load_scenario(preset)))
    analysis.recompute()
    view = CircuitsView(analysis)
    show_view(view)
    return view


def _shown_matrix(view: CircuitsView) -> np.ndarray:
    page = view.stack.currentIndex()
    heatmap = {QK_PAGE: view.qk, POS_PAGE: view.pos_attn, OV_PAGE: view.ov}.get(page, view.kcomp)
    return heatmap.data


@pytest.mark.parametrize(("preset", "head", "page"), [
    ("induction-circuit", (1, 0), OV_PAGE),  # an induction head: what it copies, not its blank QK
    ("induction-circuit", (0, 0), POS_PAGE),  # a previous-token head: attention to i−1 by position
    ("previous-token-head", (0, 0), POS_PAGE),
    ("duplicate-token-head", (0, 0), QK_PAGE),  # a query attends to its own token: the QK diagonal
])
def test_the_default_circuit_follows_what_the_head_is(qtbot, show_view, preset: str, head: tuple[int, int],
                                                      page: int) -> None:
    view = _view(show_view, preset)
    view.document.set_selection(layer=head[0], head=head[1])
    assert view.circuit_combo.currentIndex() == page and view.stack.currentIndex() == page
    assert np.abs(_shown_matrix(view)).max() > 0  # never an empty plot
    if (preset, head) == ("induction-circuit", (1, 0)):
        assert np.abs(view.qk.data).max() == 0  # the QK circuit the tab used to open on
    view.detach()


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_opens_the_circuits_tab_on_a_circuit_that_is_not_blank(qtbot, show_view, preset: str) -> None:
    view = _view(show_view, preset)
    assert np.abs(_shown_matrix(view)).max() > 0, view.circuit_combo.currentText()
    assert view.last_error is None
    view.detach()


def test_the_learners_choice_is_kept_for_every_head(qtbot, show_view) -> None:
    view = _view(show_view, "induction-circuit")  # focus L1H0: the full OV by default
    assert view.circuit_combo.currentIndex() == OV_PAGE
    view.circuit_combo.setCurrentIndex(QK_PAGE)  # the learner picks the QK circuit in the combo box
    view.circuit_combo.activated.emit(QK_PAGE)
    view.document.set_selection(layer=0, head=0)  # a previous-token head would default to positional
    assert view.circuit_combo.currentIndex() == QK_PAGE
    view.document.set_selection(layer=1, head=0)
    assert view.stack.currentIndex() == QK_PAGE

    lesson = _view(show_view, "induction-circuit")
    lesson.show_circuit(EIG_PAGE)  # a lesson step (or a menu) picks one: also kept
    lesson.document.set_selection(layer=0, head=0)
    assert lesson.stack.currentIndex() == EIG_PAGE
    view.detach()
    lesson.detach()
