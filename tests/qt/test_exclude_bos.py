"""One ``exclude_bos`` for the whole window: the Metrics checkbox edits it, every view scores and words with it.

Before, the Attention view and the heads grid said "mul, exclude_bos", the
Metrics table had its own checkbox (off) and the Circuits view hard-coded
False, so the same head got different numbers on different tabs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from induction_gui import load_scenario, save_scenario
from induction_gui.model.labels import detector_variant
from induction_gui.qt.views.attention_view import kind_variant
from induction_gui.qt.views.circuits_view import CircuitsView
from induction_gui.qt.views.metrics_view import MetricsView
from induction_gui.qt.views.predictions_view import VALUE_ROLE


def _view(window, cls):  # noqa: ANN001,ANN202 - the window's lazily built view of a class
    index = next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == cls.title)
    window.tabs.setCurrentIndex(index)
    window.wait_idle()
    return next(v for v in window.views if isinstance(v, cls))


def _check_every_view_agrees(window, excl: bool) -> None:  # noqa: ANN001
    results = window.analysis.results
    scores = {key: results.score(key, "mul", excl) for key in
              ("previous_token_head", "duplicate_token_head", "induction_head")}  # [layer, head] each
    metrics = _view(window, MetricsView)
    assert metrics.exclude_bos.isChecked() == excl
    assert f"exclude_bos={excl}" in metrics.variant_caption.text()
    assert metrics.cell(1, 0, "induction").data(VALUE_ROLE) == pytest.approx(scores["induction_head"][1, 0])
    assert metrics.cell(0, 0, "previous-token").data(VALUE_ROLE) == pytest.approx(
        scores["previous_token_head"][0, 0])

    circuits = _view(window, CircuitsView)
    assert detector_variant("previous_token_head", "mul", excl) in circuits.kcomp_caption.text()

    window.tabs.setCurrentIndex(0)
    window.wait_idle()
    attention, grid = window.attention_view, window.heads_grid
    assert f"All detector scores ({kind_variant(excl)})" in attention.kind.text()
    assert f"detector scores ({kind_variant(excl)})" in grid.caption.text()
    for layer, row in enumerate(grid._kinds):
        for head, kind in enumerate(row):
            assert kind.variant == kind_variant(excl)
            assert kind.scores["induction_head"] == pytest.approx(float(scores["induction_head"][layer, head]),
                                                                  nan_ok=True)


def test_toggling_exclude_bos_changes_every_views_scores_and_captions(make_window, qtbot, tmp_path: Path) -> None:
    window = make_window("induction-circuit")
    window.document.set_selection(layer=1, head=0)
    assert window.document.exclude_bos  # the default: attention resting on BOS is not evidence
    _check_every_view_agrees(window, True)
    before = window.analysis.results.score("induction_head", "mul", True)[1, 0]

    metrics = _view(window, MetricsView)
    qtbot.mouseClick(metrics.exclude_bos, Qt.MouseButton.LeftButton)
    assert not window.document.exclude_bos
    assert window.analysis.results.score("induction_head", "mul", False)[1, 0] != pytest.approx(before)
    _check_every_view_agrees(window, False)

    # the scenario file keeps it, and a file without it reads as the default
    path = tmp_path / "s.json"
    save_scenario(window.document.scenario_for_saving(), path)
    assert load_scenario(path).view["exclude_bos"] is False
    assert "exclude_bos" not in load_scenario("induction-circuit").view
    window.document.replace_scenario(load_scenario(path), path)
    window.wait_idle()
    _check_every_view_agrees(window, False)
