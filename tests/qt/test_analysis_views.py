"""The analysis views show exactly the engine's numbers, label their variants, and clean up their workers.

Each test builds a document from a preset, shows a real view and compares what
the widgets hold (table cells, bar heights, heatmap data, labels) with the
engine computed independently. Tolerances: heatmaps store float32, so matrices
agree to ~1e-6 relative; scores computed by a separate forward pass in float32
agree to ~1e-5.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import Qt

import induction_gui
from induction_gui import engine
from induction_gui.analysis import Analysis
from induction_gui.model.document import Document
from induction_gui.qt.analysis_executor import QtExecutor
from induction_gui.model.labels import detector_variant
from induction_gui.analysis.report import BASELINE_SAMPLES, build_report
from induction_gui.qt.views.attribution_view import AttributionView
from induction_gui.qt.views.circuits_view import KCOMP_PAGE, PAGES, CircuitsView
from induction_gui.qt.views.metrics_view import COLUMNS, MetricsView
from induction_gui.qt.views.predictions_view import DELTA_ROLE, VALUE_ROLE, PredictionsView

SCORE_TOL = 1e-5  # float32 forward passes run separately
MATRIX_TOL = 1e-6  # float64 circuits stored as float32 in the heatmap


_EXECUTORS: list[QtExecutor] = []


@pytest.fixture(autouse=True)
def _no_worker_outlives_a_test() -> Iterator[None]:
    yield
    while _EXECUTORS:
        _EXECUTORS.pop().shutdown()


def _document(preset: str) -> Analysis:
    """A live analysis of a preset whose slow entries run in worker threads, as in the window."""
    executor = QtExecutor()
    _EXECUTORS.append(executor)
    analysis = Analysis(Document(induction_gui.load_scenario(preset)), executor=executor)
    analysis.recompute()
    return analysis


def _silence_previous_token_head(doc: Analysis) -> None:
    """An edit that zeroes layer 0's W_V: the previous-token head moves nothing, so induction fails downstream."""
    name = "blocks.0.attn.W_V"
    doc.document.set_weight(name, doc.scenario.weights[name] * 0.0)
    doc.recompute()


# -- metrics ------------------------------------------------------------------------------------


def test_metrics_table_equals_detector_and_exclude_bos_switches_variant(qtbot, show_view) -> None:  # noqa: ANN001
    doc = _document("repeated-random")
    view = MetricsView(doc)
    show_view(view)
    qtbot.waitUntil(lambda: view.baseline is not None, timeout=10_000)
    w, tokens = doc.scenario.weights, doc.scenario.tokens

    plain = engine.detect_head(w, tokens, "induction_head", exclude_bos=False, error_measure="mul")  # [layer, head]
    excl = engine.detect_head(w, tokens, "induction_head", exclude_bos=True, error_measure="mul")
    # the document's one setting, on by default (the heads' kinds are named with it too)
    assert view.exclude_bos.isChecked() and doc.document.exclude_bos
    assert view.cell(1, 0, "induction").data(VALUE_ROLE) == pytest.approx(excl[1, 0], abs=SCORE_TOL)
    assert "exclude_bos=True" in view.variant_caption.text()

    qtbot.mouseClick(view.exclude_bos, Qt.MouseButton.LeftButton)
    assert not view.exclude_bos.isChecked() and not doc.document.exclude_bos
    assert view.cell(1, 0, "induction").data(VALUE_ROLE) == pytest.approx(plain[1, 0], abs=SCORE_TOL)
    assert abs(excl[1, 0] - plain[1, 0]) > 0.1  # the trap METRICS.md warns about: the variants differ
    assert "exclude_bos=False" in view.variant_caption.text()
    qtbot.mouseClick(view.exclude_bos, Qt.MouseButton.LeftButton)  # back to the default for the checks below

    # the header tooltip carries the variant worded exactly as metrics.json does
    _, _, report = build_report(w, tokens, doc.scenario.overrides, bos=doc.scenario.bos, seed=doc.scenario.seed)
    tip = view.table.horizontalHeaderItem(2).toolTip()
    assert report["metrics"]["induction.mul.exclude_bos"]["variant"] in tip
    assert detector_variant("induction_head", "mul", True) in tip
    for column, key in (("induction stripe", "stripe.induction"), ("copying (OV)", "copying_score.ov"),
                        ("copying (full OV)", "copying_score.full_ov"), ("full-OV top-1", "full_ov_top1_accuracy")):
        tip = view.table.horizontalHeaderItem(COLUMNS.index(column)).toolTip()
        entry = report["metrics"][key]
        assert entry["description"] in tip and entry["variant"] in tip, column

    # stripe, copying and accuracy columns
    patterns = np.stack([doc.results.cache["pattern", layer][0] for layer in range(2)])  # [layer, head, q, k]
    assert view.cell(1, 0, "induction stripe").data(VALUE_ROLE) == pytest.approx(
        engine.induction_stripe_score(patterns, 10)[1, 0])
    assert view.cell(1, 0, "copying (full OV)").data(VALUE_ROLE) == pytest.approx(
        engine.copying_scores(w, full=True)[1, 0])
    assert view.cell(1, 0, "full-OV top-1").data(VALUE_ROLE) == pytest.approx(engine.ov_top1_accuracy(w)[1, 0])

    # the baseline is sampled, not hard-coded, and agrees with the export
    cfg = w.config
    expected = engine.composition_baseline(cfg.d_model, cfg.d_head, BASELINE_SAMPLES, doc.scenario.seed)
    assert view.baseline is not None and view.baseline.mean == pytest.approx(expected.mean)
    assert f"{expected.mean:.3f} ± {expected.std:.3f}" in view.baseline_label.text()
    assert not view.progress.isVisible()
    k = engine.composition_scores(w, "K")
    assert view.composition.data[0, 0] == pytest.approx(k[0, 0, 1, 0], rel=MATRIX_TOL)
    assert view.icl_value == pytest.approx(engine.icl_score(doc.results.loss).value)
    assert "scaled ICL: L(19) − L(2)" in view.icl_label.text()
    view.detach()


def test_metrics_edit_while_baseline_runs_cancels_it(qtbot, show_view) -> None:  # noqa: ANN001
    doc = _document("repeated-random")
    view = MetricsView(doc)
    view.baseline_samples = 50_000  # long enough to be running when the edit arrives
    ready: list[str] = []
    doc.events.ready.connect(ready.append)
    with qtbot.waitSignal(doc.executor.busy, timeout=5_000):
        show_view(view)
    qtbot.waitUntil(lambda: view.progress.isVisible() and view.progress.value() > 0, timeout=5_000)
    assert doc.running == ["composition_baseline"] and view.baseline is None

    # the learner opens the scenario again with another seed: the old baseline no longer applies
    scenario = induction_gui.load_scenario("repeated-random")
    scenario.seed = 7
    view.baseline_samples = 300
    doc.document.replace_scenario(scenario)
    doc.recompute()
    qtbot.waitUntil(lambda: view.baseline is not None, timeout=10_000)
    doc.executor.wait()
    assert ready == ["composition_baseline"], "the superseded 50,000-sample job never delivered"
    assert view.baseline.seed == 7 and view.baseline.samples.size == 300
    assert "seed 7" in view.baseline_label.text()
    view.detach()
    assert not doc.executor.running


def test_metrics_compare_mode_shows_difference(qtbot, show_view) -> None:  # noqa: ANN001
    doc = _document("induction-circuit")
    view = MetricsView(doc)
    show_view(view)
    qtbot.waitUntil(lambda: view.baseline is not None, timeout=10_000)
    excl = doc.document.exclude_bos  # the table scores with the document's one setting
    before = doc.results.score("induction_head", "mul", excl)[1, 0]
    doc.pin()
    _silence_previous_token_head(doc)
    after = doc.results.score("induction_head", "mul", excl)[1, 0]
    item = view.cell(1, 0, "induction")
    assert item.data(VALUE_ROLE) == pytest.approx(after)
    assert item.data(DELTA_ROLE) == pytest.approx(after - before)
    assert "Δ" in item.text() and abs(after - before) > 0.1
    assert view.cell(0, 0, "copying (OV)").data(DELTA_ROLE) is not None  # weight-only columns compare too
    assert "pinned" in view.icl_label.text()
    view.detach()


# -- predictions ------------------------------------------------------------------------------------


def test_predictions_table_is_top_k_of_logits_and_loss_split(qtbot, show_view) -> None:  # noqa: ANN001
    doc = _document("repeated-random")
    view = PredictionsView(doc)
    show_view(view)
    res = doc.results
    n = res.tokens.size
    assert view.table.rowCount() == n
    for i in range(n):
        expected = np.argsort(-res.logits[i].astype(np.float64), kind="stable")[:3]
        shown = [view.table.item(i, 3 + k).data(VALUE_ROLE) for k in range(3)]
        assert [t for t, _ in shown] == expected.tolist()
        assert [p for _, p in shown] == pytest.approx(res.probs[i, expected])
        if i + 1 < n:
            assert view.table.item(i, 6).data(VALUE_ROLE) == bool(expected[0] == res.tokens[i + 1])
    assert np.array_equal(view.analysis.get("top_k", k=3), np.argsort(-res.logits, axis=-1, kind="stable")[:, :3])
    halves = engine.first_and_repeat_loss(res.loss, 10)
    assert (view.first_loss, view.repeat_loss) == pytest.approx((halves.first, halves.repeat))
    assert f"{halves.first:.3f}" in view.summary.text() and "repeat" in view.summary.text()
    assert view.logits.data.shape == res.logits.shape

    # compare mode: the pinned loss curve is drawn too
    doc.pin()
    _silence_previous_token_head(doc)
    assert view.pinned_curve is not None and np.allclose(view.pinned_curve, doc.pinned.results.loss)
    assert "Pinned" in view.summary.text()

    # the model drives the table, and a click on the table drives the model
    doc.document.set_selection(query_pos=3)
    assert view.table.currentRow() == 3
    rect = view.table.visualItemRect(view.table.item(4, 1))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert doc.document.selection.query_pos == 4
    view.detach()


# -- attribution ------------------------------------------------------------------------------------


def test_attribution_bars_sum_to_logit_and_ablation_matches_engine(qtbot, show_view) -> None:  # noqa: ANN001
    doc = _document("induction-circuit")  # focus L1H0, query position 5
    view = AttributionView(doc)
    show_view(view)
    qtbot.waitUntil(lambda: view.effects is not None, timeout=10_000)  # ablation runs in a worker
    res = doc.results
    pos = doc.document.selection.query_pos
    logit = float(res.logits[pos, res.tokens[pos + 1]])
    assert sum(v for _, v in view.parts) == pytest.approx(logit, abs=1e-3)
    assert view.attribution is not None and view.attribution.logit == pytest.approx(logit, abs=1e-4)
    assert "Logit of B at position 5" in view.heading.text()
    assert "✓ parts add up" in view.sum_label.text()

    effects = engine.ablation_effects(doc.scenario.weights, res.tokens, mode="zero")
    assert np.allclose(view.effects.loss_change, effects.loss_change)
    # rows: ablated heads L0H0..L1H1; columns: layer-1 heads; ablating the previous-token head kills induction
    assert view.induction.data[0, 0] == pytest.approx(effects.induction_change[0, 0, 1, 0], abs=SCORE_TOL)
    assert view.induction.data[0, 0] < -0.5
    assert "L0H0" in view.ablation_label.text()

    doc.document.set_selection(query_pos=res.tokens.size - 1)  # the last position has no next token
    assert view.position == res.tokens.size - 2 and "no next token" in view.heading.text()
    view.detach()


# -- circuits -----------------------------------------------------------------------------------------


def test_circuits_show_engine_matrices_and_k_composition_source(qtbot, show_view) -> None:  # noqa: ANN001
    doc = _document("induction-circuit")
    view = CircuitsView(doc)
    show_view(view)
    w = doc.scenario.weights
    assert np.allclose(view.ov.data, engine.full_ov_circuit(w, 1, 0), rtol=MATRIX_TOL, atol=1e-5)
    assert np.allclose(view.qk.data, engine.full_qk_circuit(w, 1, 0), rtol=MATRIX_TOL, atol=1e-5)
    prev = doc.results.score("previous_token_head", "mul", False)
    assert view.k_source == (0, int(np.argmax(prev[0])))
    kc = engine.k_composition_circuit(w, prev=view.k_source, ind=(1, 0))
    assert np.allclose(view.kcomp.data, kc, rtol=MATRIX_TOL, atol=1e-4)
    assert "13 of 13" in view.kcomp_caption.text()
    assert f"{engine.copying_scores(w, full=True)[1, 0]:+.3f}" in view.eig_captions[1].text()
    assert "W_O W_U W_E W_V" in view.eig_captions[1].text() and "W_O W_V" in view.eig_captions[0].text()

    view.show_circuit(KCOMP_PAGE)
    assert view.stack.currentIndex() == KCOMP_PAGE
    view.source_combo.setCurrentIndex(view.source_combo.findData(1))  # L0H1 by hand
    view.source_combo.activated.emit(view.source_combo.currentIndex())
    assert view.k_source == (0, 1)

    doc.document.set_selection(layer=0, head=0)  # a layer-0 head composes with nothing
    assert view.k_source is None and not view.source_combo.isEnabled()
    attn = engine.positional_attention(w, 0, 0, n_pos=doc.results.tokens.size)
    assert np.allclose(view.pos_attn.data, attn, atol=1e-6)
    view.detach()


# -- screenshots ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["repeated-random", "induction-circuit"])
@pytest.mark.parametrize("view_class", [PredictionsView, CircuitsView, MetricsView, AttributionView])
def test_views_render_at_projector_size(qtbot, show_view, tmp_path, preset: str, view_class: type) -> None:  # noqa: ANN001
    doc = _document(preset)
    view = view_class(doc)
    show_view(view)
    if isinstance(view, MetricsView):
        qtbot.waitUntil(lambda: view.baseline is not None, timeout=10_000)
    if isinstance(view, AttributionView):
        qtbot.waitUntil(lambda: view.effects is not None, timeout=10_000)
    if isinstance(view, CircuitsView):
        assert view.circuit_combo.count() == len(PAGES)
    image = view.grab()
    path = tmp_path / f"{view_class.__name__}-{preset}.png"
    assert image.save(str(path)) and path.stat().st_size > 10_000
    assert view.title and view.tooltip
    view.detach()
