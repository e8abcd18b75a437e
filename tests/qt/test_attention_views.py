"""The attention pattern, all-heads grid and copied-representation views, driven both ways.

Model → widget: after a recompute the pixels are the engine's numbers. Widget →
model: a real mouse click on a cell or thumbnail changes the analysis's
selection. Each test builds real widgets on a preset and checks state, never
pixels, except the screenshot smoke test which only checks something was drawn.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication

import pyqtgraph as pg

from induction_gui import load_scenario
from induction_gui.analysis import Analysis
from induction_gui.model.document import Document
from induction_gui.qt.views.attention_view import AttentionView
from induction_gui.qt.views.base import View
from induction_gui.qt.views.copying_view import CopyingView
from induction_gui.qt.views.heads_grid import FOCUS_WIDTH, HeadsGrid
from induction_gui.qt.widgets.heatmap import Heatmap

VIEWS: list[type[View]] = [AttentionView, HeadsGrid, CopyingView]


@pytest.fixture
def analysis() -> Analysis:
    """The two-layer induction circuit: L0H0 previous-token head, L1H0 induction head; focus L1H0, query 5:A."""
    analysis = Analysis(Document(load_scenario("induction-circuit")))
    analysis.recompute()
    return analysis


def _shown(qtbot, view: View) -> View:
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    QApplication.processEvents()
    return view


def _viewport_point(graphics: pg.GraphicsView, scene_point: QPointF) -> QPoint:
    """Where a scene point is on the graphics widget's viewport (what a mouse click needs)."""
    return graphics.mapFromScene(scene_point)


def _cell_point(heatmap: Heatmap, row: int, col: int) -> QPoint:
    return _viewport_point(heatmap.graphics, heatmap.plot.vb.mapViewToScene(QPointF(col + 0.5, row + 0.5)))


def _disable_induction_head(analysis: Analysis) -> None:
    """Zero L1's key weights: every score is 0, so L1H0 spreads its attention evenly over the prefix."""
    name = "blocks.1.attn.W_K"
    analysis.document.set_weight(name, np.zeros_like(analysis.scenario.weights[name]))
    analysis.recompute()


def _overflow_layer_1(analysis: Analysis) -> None:
    """Weights so large that L1's attention scores overflow: the patterns become NaN."""
    for name in ("blocks.1.attn.W_Q", "blocks.1.attn.W_K"):
        analysis.document.set_weight(name, np.full_like(analysis.scenario.weights[name], 1e30))
    analysis.recompute()


# -- AttentionView ----------------------------------------------------------------------------------


def test_attention_view_draws_the_focused_heads_pattern_and_names_its_kind(qtbot, analysis: Analysis) -> None:
    view = _shown(qtbot, AttentionView(analysis))
    results = analysis.latest_results
    np.testing.assert_array_equal(view.heatmap.data, results.pattern(1, 0).astype(np.float32))
    assert view.heading.text() == "Attention pattern — layer 1 head 0 (induction head?)"
    assert "L1H0 looks like an induction head (score 1.00, mul, exclude_bos)" in view.kind.text()
    assert view.heatmap.row_marker.isVisible() and view.heatmap.row_marker.getRegion() == (5, 6)
    axis_ticks = view.heatmap.plot.getAxis("left")._tickLevels[0]
    assert [label for _, label in axis_ticks] == ["0:<s>", "1:A", "2:B", "3:C", "4:D", "5:A", "6:B", "7:C", "8:D"]
    assert "most to key 2:B (1.00)" in view.row_profile.caption.text
    np.testing.assert_allclose(view.row_profile.bars.opts["height"], results.pattern(1, 0)[5])


def test_a_low_view_gives_the_pattern_the_height_of_the_row_profile(qtbot, analysis: Analysis) -> None:
    """Under the training dock of a 720-row screen the fixed-height bars left the pattern a strip of pixels."""
    from induction_gui.qt.views.attention_view import DESK_FULL_PROFILE_VIEW_HEIGHT, _RowProfile

    view = _shown(qtbot, AttentionView(analysis))  # 800 px high: the full profile
    assert view._profile_height == _RowProfile.HEIGHT and view.row_profile.vb.isVisible()
    view.resize(1200, DESK_FULL_PROFILE_VIEW_HEIGHT - 40)
    qtbot.waitUntil(lambda: view._profile_height == _RowProfile.PRESENTATION_HEIGHT)
    view.resize(1200, 300)
    qtbot.waitUntil(lambda: view._profile_height == 0)
    assert not view.row_profile.vb.isVisible()
    qtbot.waitUntil(lambda: view.heatmap.plot.vb.height() >= 100)  # the pattern has the height now


def test_a_low_view_leaves_its_explanations_out_and_brings_them_back(qtbot, analysis: Analysis) -> None:
    """The training dock under the views of a 720-row screen: prose gives its lines to the plots, as on a projector."""
    from induction_gui.qt.views.base import LOW_VIEW_HEIGHT, LOW_VIEW_MARGIN

    view = _shown(qtbot, AttentionView(analysis))
    assert view.kind.isVisible() and view.heading.isVisible()
    view.resize(1200, LOW_VIEW_HEIGHT - 100)
    qtbot.waitUntil(lambda: not view.kind.isVisible())
    assert view.heading.isVisible()  # the heading names the head: not an explanation
    view.resize(1200, LOW_VIEW_HEIGHT + LOW_VIEW_MARGIN // 2)  # inside the margin: no flicker back
    QApplication.processEvents()
    assert not view.kind.isVisible()
    view.resize(1200, LOW_VIEW_HEIGHT - 100)
    view.set_presentation(True)  # presentation hides them too, and shows them when it ends
    view.set_presentation(False)
    assert not view.kind.isVisible(), "still low: still left out"
    view.resize(1200, 800)
    qtbot.waitUntil(view.kind.isVisible)


def test_previous_token_head_is_named_as_such(qtbot, analysis: Analysis) -> None:
    analysis.document.set_selection(layer=0, head=0)
    view = _shown(qtbot, AttentionView(analysis))
    assert "(previous-token head?)" in view.heading.text()
    assert "looks like a previous-token head (score 1.00, mul, exclude_bos)" in view.kind.text()


def test_mouse_click_on_a_cell_focuses_its_query_row(qtbot, analysis: Analysis) -> None:
    view = _shown(qtbot, AttentionView(analysis))
    qtbot.mouseClick(view.heatmap.graphics.viewport(), Qt.MouseButton.LeftButton,
                     pos=_cell_point(view.heatmap, 7, 3))
    assert analysis.document.selection.query_pos == 7
    assert view.heatmap.row_marker.getRegion() == (7, 8)  # the view followed the selection


def test_hover_reads_out_query_key_and_weight(qtbot, analysis: Analysis) -> None:
    view = _shown(qtbot, AttentionView(analysis))
    scene_point = view.heatmap.plot.vb.mapViewToScene(QPointF(2.5, 5.5))
    view.heatmap.graphics.scene().sigMouseMoved.emit(scene_point)
    assert view.heatmap.readout.text() == "query 5:A → key 2:B: weight 1.00"


def test_weight_edit_updates_the_pattern(qtbot, analysis: Analysis) -> None:
    view = _shown(qtbot, AttentionView(analysis))
    _disable_induction_head(analysis)
    pattern = analysis.latest_results.pattern(1, 0)
    np.testing.assert_allclose(pattern[5, :6], 1 / 6, rtol=1e-5)  # the edit really changed the head
    np.testing.assert_array_equal(view.heatmap.data, pattern.astype(np.float32))
    assert "induction head?" not in view.heading.text()


def test_pin_then_edit_shows_the_difference(qtbot, analysis: Analysis) -> None:
    view = _shown(qtbot, AttentionView(analysis))
    before = analysis.latest_results.pattern(1, 0).copy()
    analysis.pin()
    assert not view.compare_note.isHidden()
    np.testing.assert_array_equal(view.heatmap.data, 0.0)  # nothing changed yet
    _disable_induction_head(analysis)
    after = analysis.latest_results.pattern(1, 0)
    assert view.comparing
    assert "difference from pinned" in view.heading.text()
    np.testing.assert_allclose(view.heatmap.data, after - before, atol=1e-6)
    assert view.heatmap.image.levels.tolist() == [-1.0, 1.0]  # diverging, fixed: colours mean the same number
    assert "pinned 1.00" in view.heatmap.describe_cell(5, 2)
    assert any("difference from pinned" in name for name in view.matrices())
    analysis.unpin()
    assert not view.comparing and view.compare_note.isHidden()
    np.testing.assert_array_equal(view.heatmap.data, after.astype(np.float32))


def test_nan_results_show_a_warning(qtbot, analysis: Analysis) -> None:
    view = _shown(qtbot, AttentionView(analysis))
    assert view.warnings.isHidden() and view.heatmap.warning.isHidden()
    _overflow_layer_1(analysis)
    assert not view.warnings.isHidden()
    assert "hook_pattern" in view.warnings.text()
    assert not view.heatmap.warning.isHidden()  # the heatmap's own "drawn as 0" note
    assert np.isnan(view.heatmap.data).all()


# -- HeadsGrid ----------------------------------------------------------------------------------------


def test_heads_grid_draws_every_head_with_its_scores(qtbot, analysis: Analysis) -> None:
    grid = _shown(qtbot, HeadsGrid(analysis))
    results = analysis.latest_results
    assert len(grid.thumbnails) == 2 and all(len(row) == 2 for row in grid.thumbnails)
    for layer in range(2):
        for head in range(2):
            thumb = grid.thumbnails[layer][head]
            np.testing.assert_array_equal(thumb.image.image, results.pattern(layer, head).astype(np.float32))
            assert thumb.caption.text.count(f"L{layer}H{head}") == 1
    assert "previous-token head" in grid.thumbnails[0][0].caption.text
    assert "induction head" in grid.thumbnails[1][0].caption.text
    assert grid.thumbnails[1][0].vb.border.widthF() == FOCUS_WIDTH
    assert grid.thumbnails[0][0].vb.border.widthF() != FOCUS_WIDTH


def test_clicking_a_thumbnail_focuses_that_head(qtbot, analysis: Analysis) -> None:
    grid = _shown(qtbot, HeadsGrid(analysis))
    thumb = grid.thumbnails[0][1]
    centre = thumb.vb.mapViewToScene(QPointF(4.5, 4.5))
    qtbot.mouseClick(grid.graphics.viewport(), Qt.MouseButton.LeftButton,
                     pos=_viewport_point(grid.graphics, centre))
    assert (analysis.document.selection.layer, analysis.document.selection.head) == (0, 1)
    assert thumb.vb.border.widthF() == FOCUS_WIDTH
    assert grid.thumbnails[1][0].vb.border.widthF() != FOCUS_WIDTH


def test_hovering_a_thumbnail_previews_name_and_scores(qtbot, analysis: Analysis) -> None:
    grid = _shown(qtbot, HeadsGrid(analysis))
    with qtbot.waitSignal(grid.hovered) as blocker:
        grid.graphics.scene().sigMouseMoved.emit(grid.thumbnails[0][0].vb.mapViewToScene(QPointF(1.5, 1.5)))
    assert blocker.args == [0, 0]
    text = grid.status.text()
    assert text.startswith("L0H0 (layer 0 head 0): looks like a previous-token head")
    assert "previous-token 1.00" in text and "(mul, exclude_bos)" in text
    assert grid.graphics.toolTip() == text


def test_heads_grid_reuses_its_images_and_follows_edits(qtbot, analysis: Analysis) -> None:
    grid = _shown(qtbot, HeadsGrid(analysis))
    images = [id(t.image) for row in grid.thumbnails for t in row]
    _disable_induction_head(analysis)
    analysis.document.set_tokens([0, 1, 2, 1, 2])  # a shorter sequence, same model shape
    analysis.recompute()
    assert [id(t.image) for row in grid.thumbnails for t in row] == images
    np.testing.assert_array_equal(grid.thumbnails[1][0].image.image,
                                  analysis.latest_results.pattern(1, 0).astype(np.float32))


def test_heads_grid_shows_differences_when_pinned(qtbot, analysis: Analysis) -> None:
    grid = _shown(qtbot, HeadsGrid(analysis))
    before = analysis.latest_results.pattern(1, 0).copy()
    analysis.pin()
    _disable_induction_head(analysis)
    np.testing.assert_allclose(grid.thumbnails[1][0].image.image, analysis.latest_results.pattern(1, 0) - before,
                               atol=1e-6)
    np.testing.assert_array_equal(grid.thumbnails[0][0].image.image, 0.0)  # layer 0 is untouched
    assert "difference from pinned" in grid.caption.text()


# -- CopyingView -----------------------------------------------------------------------------------------


def test_copying_view_names_the_attended_and_boosted_token(qtbot, analysis: Analysis) -> None:
    view = _shown(qtbot, CopyingView(analysis))
    cache = analysis.latest_results.cache
    np.testing.assert_array_equal(view.heatmap.data, cache["z", 1][0, :, 0].astype(np.float32))
    summary = view.summary.text()
    assert "attends mostly to 2:B (weight 1.00)" in summary
    assert "boosts B by +20.0" in summary and "copies the attended token B" in summary
    w_u = analysis.scenario.weights["unembed.W_U"]
    np.testing.assert_allclose(view.matrices()["logit change from L1H0 at query 5:A (result · W_U)"][0][0],
                               cache["result", 1][0, 5, 0] @ w_u, rtol=1e-6)
    ticks = view.bars_plot.getAxis("left")._tickLevels[0]
    assert ticks[0][1] == "B (attended)"  # the most boosted token is the attended one


def test_copying_view_switches_to_hook_result_and_follows_clicks(qtbot, analysis: Analysis) -> None:
    view = _shown(qtbot, CopyingView(analysis))
    view.show_result.setChecked(True)
    np.testing.assert_array_equal(view.heatmap.data, analysis.latest_results.cache["result", 1][0, :, 0])
    qtbot.mouseClick(view.heatmap.graphics.viewport(), Qt.MouseButton.LeftButton,
                     pos=_cell_point(view.heatmap, 6, 10))
    assert analysis.document.selection.query_pos == 6
    assert "attends mostly to 3:C" in view.summary.text() and "boosts C by +20.0" in view.summary.text()


def test_copying_view_says_when_a_head_reaches_no_logit(qtbot, analysis: Analysis) -> None:
    analysis.document.set_selection(layer=0, head=0)
    view = _shown(qtbot, CopyingView(analysis))
    assert "moves no logit" in view.summary.text()  # the previous-token head writes for the next layer


def test_copying_view_follows_an_edit_and_shows_nan(qtbot, analysis: Analysis) -> None:
    view = _shown(qtbot, CopyingView(analysis))
    _disable_induction_head(analysis)
    assert "attends mostly to 0:<s> (weight 0.17)" in view.summary.text()
    _overflow_layer_1(analysis)
    assert not view.warnings.isHidden() and "not a finite number" in view.summary.text()


# -- every view ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("view_class", VIEWS, ids=lambda c: c.__name__)
def test_hidden_view_redraws_only_when_shown(qtbot, analysis: Analysis, view_class: type[View]) -> None:
    view = view_class(analysis)
    qtbot.addWidget(view)
    calls: list[int] = []
    original: Callable[[], None] = view.refresh
    view.refresh = lambda: (calls.append(1), original())[1]  # type: ignore[method-assign]
    _disable_induction_head(analysis)
    analysis.document.set_selection(query_pos=7)
    assert calls == []  # hidden: nothing drawn, only marked out of date
    view.resize(1200, 800)
    view.show()
    QApplication.processEvents()
    assert calls == [1]
    view.hide()
    analysis.document.set_selection(query_pos=6)
    assert calls == [1]


@pytest.mark.parametrize("view_class", VIEWS, ids=lambda c: c.__name__)
def test_matrices_are_labelled(qtbot, analysis: Analysis, view_class: type[View]) -> None:
    view = _shown(qtbot, view_class(analysis))
    matrices = view.matrices()
    assert matrices
    for name, (matrix, rows, cols) in matrices.items():
        assert matrix.ndim == 2, name
        assert rows is not None and len(rows) == matrix.shape[0], name
        assert cols is not None and len(cols) == matrix.shape[1], name


@pytest.mark.parametrize("preset", ["induction-circuit", "repeated-random", "lecture-demo", "previous-token-head"])
def test_views_draw_every_preset(qtbot, preset: str, tmp_path) -> None:
    analysis = Analysis(Document(load_scenario(preset)))
    analysis.recompute()
    for view_class in VIEWS:
        view = _shown(qtbot, view_class(analysis))
        view.set_font_size(16.0)
        view.set_colormap("cividis")
        image = view.grab().toImage()
        assert image.width() >= 1000 and image.height() >= 700
        path = tmp_path / f"{preset}-{view_class.__name__}.png"
        assert image.save(str(path))
        colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 37)}
        assert len(colours) > 5, f"{view_class.__name__} on {preset} looks blank"


def test_font_size_reaches_labels_and_axes(qtbot, analysis: Analysis) -> None:
    view = _shown(qtbot, AttentionView(analysis))
    view.set_font_size(18.0)
    assert view.kind.font().pointSizeF() == 18.0
    assert view.heading.font().pointSizeF() > 18.0
    assert view.heatmap.plot.getAxis("bottom").style["tickFont"].pointSizeF() == 18.0
