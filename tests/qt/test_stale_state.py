"""No view or read-out ever refers to a previous sequence or model.

A learner focuses a late query row and hovers a cell, then a generator
shortens the sequence or another model is opened: every view must draw the
new state (no IndexError such as "index 20 is out of bounds for axis 0 with
size 9"), the focus must move to a position and head that exist, and every
hover read-out must describe a cell of the new data or fall back to its hint.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from induction_gui import load_scenario
from induction_gui.analysis import Analysis
from induction_gui.model.document import Document
from induction_gui.qt.views.attention_view import AttentionView
from induction_gui.qt.views.base import View
from induction_gui.qt.views.copying_view import CopyingView
from induction_gui.qt.views.heads_grid import HeadsGrid
from induction_gui.qt.widgets.heatmap import Heatmap

LONG = "repeated-random"  # 2 layers x 2 heads, 21 tokens
SMALL_MODEL = "previous-token-head"  # 1 layer x 1 head, 9 tokens


def _hover_late_cells(view: View, row: int) -> None:
    """Move the mouse over row ``row`` (or the last row there is) of every heatmap of the view."""
    for heatmap in view.findChildren(Heatmap):
        rows, cols = heatmap.data.shape
        r = min(row, rows - 1)
        point = heatmap.plot.vb.mapViewToScene(QPointF(cols - 0.5, r + 0.5))
        heatmap.graphics.scene().sigMouseMoved.emit(point)


def _hover_last_thumbnail(grid: HeadsGrid) -> None:
    thumb = grid.thumbnails[-1][-1]
    grid.graphics.scene().sigMouseMoved.emit(thumb.vb.mapViewToScene(QPointF(1.5, 1.5)))


def _assert_readouts_current(view: View) -> None:
    """Every read-out describes a cell of the data drawn now, or shows its hint."""
    for heatmap in view.findChildren(Heatmap):
        hovered = heatmap._hovered
        if hovered is None:
            assert heatmap.readout.property("hint"), heatmap.readout.text()
        else:
            rows, cols = heatmap.data.shape
            assert 0 <= hovered[0] < rows and 0 <= hovered[1] < cols
            assert heatmap.readout.text() == heatmap.describe_cell(*hovered)


@pytest.mark.parametrize("tab", range(6))
def test_shortening_the_sequence_and_shrinking_the_model_with_a_late_focus_and_a_hover(make_window, tab) -> None:
    window = make_window(LONG)
    window.tabs.setCurrentIndex(tab)
    window.wait_idle()
    views = window._built_views()
    shown = [v for v in views if v.isVisible()]
    assert shown
    doc = window.document
    doc.set_selection(layer=1, head=1, query_pos=20)
    window.wait_idle()
    for view in shown:
        _hover_late_cells(view, 20)
        if isinstance(view, HeadsGrid):
            _hover_last_thumbnail(view)
            assert "L1H1" in view.status.text()

    panel = window.sequence_panel
    panel.generator_combo.setCurrentIndex(0)  # repeated random [BOS, r, r]
    panel.block_spin.setValue(4)
    panel.generate()
    window.wait_idle()
    assert doc.scenario.tokens.size == 9
    assert doc.selection.query_pos <= 8
    for view in shown:
        assert view.last_error is None, view.last_error
        _assert_readouts_current(view)
    if tab == 0:  # row 20 of the attention pattern is gone: the read-out is the hint again
        assert window.attention_view.heatmap._hovered is None
        assert "20:" not in window.attention_view.heatmap.readout.text()

    doc.replace_scenario(load_scenario(SMALL_MODEL))  # 1 layer, 1 head: L1H1 no longer exists
    window.wait_idle()
    assert (doc.selection.layer, doc.selection.head) == (0, 0)
    for view in shown:
        assert view.last_error is None, view.last_error
        _assert_readouts_current(view)
        if isinstance(view, HeadsGrid):
            assert "L1H1" not in view.status.text()


def test_the_selection_is_clamped_before_the_change_is_announced() -> None:
    """A listener of the sequence change sees a focus inside the new sequence, not after it."""
    doc = Document(load_scenario(LONG))
    doc.set_selection(query_pos=20)
    seen = []
    doc.events.scenario.connect(lambda change: seen.append((doc.selection.query_pos, doc.scenario.tokens.size)))
    doc.set_tokens(doc.scenario.tokens[:9])
    assert seen == [(8, 9)]


@pytest.mark.parametrize("view_class", [AttentionView, HeadsGrid, CopyingView])
def test_a_view_drawing_results_that_lag_the_document_draws_a_focus_that_exists(qtbot, show_view,
                                                                                 view_class) -> None:
    """Results computed in a worker arrive a frame after the edit: until then the focus may be past them."""
    analysis = Analysis(Document(load_scenario("induction-circuit")))  # 9 tokens
    analysis.recompute()
    view = view_class(analysis)
    show_view(view)
    doc = analysis.document
    long = np.concatenate([doc.scenario.tokens, doc.scenario.tokens[1:]])  # [17], not yet computed
    doc.set_tokens(long)
    doc.set_selection(query_pos=16)  # redraws from the 9-token results still shown
    assert view.last_error is None, view.last_error
    analysis.recompute()
    assert view.last_error is None, view.last_error
    view.detach()  # a view left connected to a live analysis outlives its widgets
