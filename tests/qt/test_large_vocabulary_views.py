"""A large vocabulary in the window: circuits on a named subset, logits after the attention views."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from induction_gui import engine
from induction_gui.analysis import Analysis
from induction_gui.model.document import Document
from induction_gui.model.scenario import Scenario
from induction_gui.qt.analysis_executor import QtExecutor
from induction_gui.qt.views.attention_view import AttentionView
from induction_gui.qt.views.circuits_view import CircuitsView
from induction_gui.qt.views.predictions_view import PredictionsView

# a vocabulary above the display limit and an unembedding off the edit path, small enough to be quick
LARGE = engine.ModelConfig(n_layers=2, n_heads=8, d_model=512, d_head=64, d_vocab=8000, n_ctx=64)
MATRIX_TOL = 1e-6  # float64 circuits stored as float32 in the heatmap


@pytest.fixture
def analysis() -> Iterator[Analysis]:
    rng = np.random.default_rng(0)
    block = rng.integers(1, LARGE.d_vocab, 20)
    scenario = Scenario(title="large", vocab=[f"t{i}" for i in range(LARGE.d_vocab)],
                        tokens=np.concatenate([[0], block, block]), weights=engine.Weights.random(LARGE), bos=0)
    executor = QtExecutor()
    a = Analysis(Document(scenario), executor=executor)
    a.recompute()
    yield a
    a.detach()
    executor.shutdown()


def _finish(analysis: Analysis) -> None:
    analysis.executor.wait()  # type: ignore[union-attr]
    QApplication.processEvents()


def test_circuits_of_a_large_vocabulary_show_a_named_subset(qtbot, show_view, analysis: Analysis) -> None:  # noqa: ANN001
    view = CircuitsView(analysis)
    show_view(view)
    subset = analysis.get("circuit_tokens", kind="ov", layer=1, head=0)
    assert view.ov.data.shape == (64, 64)
    np.testing.assert_allclose(view.ov.data, engine.full_ov_circuit(analysis.scenario.weights, 1, 0, rows=subset.ids,
                                                                     cols=subset.ids), rtol=MATRIX_TOL, atol=1e-5)
    n_seq = np.unique(analysis.scenario.tokens).size
    assert f"the {n_seq} distinct tokens of the sequence and the {64 - n_seq} with the largest mean OV logit" \
        in view.ov_caption.text()
    assert "A subset" in view.qk_caption.text() and "A subset" in view.kcomp_caption.text()
    _finish(analysis)
    assert "sampled source tokens" in view.summary.text() and "computing" not in view.summary.text()
    assert view.last_error is None
    view.detach()


def test_attention_draws_first_and_predictions_say_computing_until_the_logits_come(
        qtbot, show_view, analysis: Analysis) -> None:  # noqa: ANN001
    attention = AttentionView(analysis)
    predictions = PredictionsView(analysis)
    show_view(attention)
    assert not analysis.results.unembedded  # the attention view drew without the logits
    show_view(predictions)
    assert "computing" in predictions.heading.text()
    _finish(analysis)
    _finish(analysis)  # top-k and the loss split follow the logits
    assert "computing" not in predictions.heading.text() and predictions.table.rowCount() == 41
    assert predictions.logits.data.shape[0] == 41 and predictions.logits.data.shape[1] <= 256
    for view in (attention, predictions):
        assert view.last_error is None
        view.detach()
