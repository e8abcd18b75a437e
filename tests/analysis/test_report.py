"""The labelled metrics report behind metrics.json and the dashboard."""

from __future__ import annotations

import json

import numpy as np

from induction_gui import engine, load_scenario
from induction_gui.analysis.report import build_report, repeated_block


def test_repeated_block_recognises_bos_r_r_only() -> None:
    assert repeated_block(np.array([0, 3, 4, 5, 3, 4, 5]), bos=0) == 3
    assert repeated_block(np.array([3, 4, 3, 4]), bos=None) == 2
    assert repeated_block(np.array([0, 3, 4, 5, 3, 4, 6]), bos=0) is None
    assert repeated_block(np.array([0, 3, 4, 3]), bos=0) is None


def test_report_on_repeated_random_labels_and_splits() -> None:
    sc = load_scenario("repeated-random")
    logits, cache, report = build_report(sc.weights, sc.tokens, sc.overrides, vocab=sc.vocab, bos=sc.bos)
    json.dumps(report, allow_nan=False)  # JSON-ready, no NaN
    m = report["metrics"]
    n = (sc.tokens.size - 1) // 2
    stripe = np.array(m["stripe.induction"]["value"])
    # a perfect induction head resting on BOS scores (N+1)/(N+2) on the stripe
    assert abs(stripe[1, 0] - (n + 1) / (n + 2)) < 1e-3
    assert f"N={n}" in m["stripe.induction"]["variant"]
    assert m["loss.repeat_half"]["value"] < 0.5 * m["loss.first_half"]["value"]
    assert m["icl_score"]["value"] < 0 and "scaled ICL" in m["icl_score"]["variant"]
    # the report's detector equals the public function
    np.testing.assert_allclose(
        m["induction.mul.exclude_bos"]["value"],
        engine.detect_head(sc.weights, sc.tokens, "induction_head", exclude_bos=True),
        atol=1e-6,
    )
    comp_k = np.array(m["composition_score.K"]["value"])
    baseline_mean = m["composition_score.baseline"]["value"][0]
    assert comp_k[0, 0, 1, 0] > baseline_mean, "the circuit's K-composition stands out of the random baseline"
    heads = np.array(m["logit_attribution.heads"]["value"])  # [position, layer, head]
    assert heads.shape == (sc.tokens.size - 1, 2, 2)
    assert heads[n + 2 :, 1, 0].min() > 10, "the induction head writes the correct logit on the repeat"


def test_report_without_repeat_has_no_stripe_or_split() -> None:
    sc = load_scenario("no-repeat")
    _, _, report = build_report(sc.weights, sc.tokens, sc.overrides, vocab=sc.vocab, bos=sc.bos)
    assert "stripe.induction" not in report["metrics"]
    assert "loss.first_half" not in report["metrics"]
