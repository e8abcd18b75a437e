"""metrics.json words every entry exactly as :mod:`induction_gui.model.labels` does, which the window prints.

The dashboard's header tooltips are checked against the same report in
``tests/qt/test_analysis_views.py``; here the export side is pinned without Qt.
"""

from __future__ import annotations

import numpy as np
import pytest

from induction_gui import engine, load_scenario
from induction_gui.model import labels
from induction_gui.analysis.report import BASELINE_SAMPLES, build_report


@pytest.fixture(scope="module")
def report_and_scenario():  # noqa: ANN201 - (report, scenario)
    sc = load_scenario("repeated-random")  # [BOS, r, r]: every entry, the stripe and the loss split included
    _, _, report = build_report(sc.weights, sc.tokens, sc.overrides, vocab=sc.vocab, bos=sc.bos, seed=sc.seed)
    return report, sc


def _expected(report: dict, sc) -> dict[str, labels.MetricLabel]:  # noqa: ANN001 - a Scenario
    """The label each metrics.json entry must carry, built from the labels module alone."""
    metrics = report["metrics"]
    cfg = sc.weights.config
    n_block = (sc.tokens.size - 1) // 2
    mean, std = metrics["composition_score.baseline"]["value"]
    loss = np.array(metrics["loss.per_token"]["value"])  # [pos - 1]; the ICL label depends on its length only
    effects = engine.ablation_effects(sc.weights, sc.tokens, mode="zero", overrides=sc.overrides)
    out = {
        f"{pattern.removesuffix('_head')}.{measure}" + (".exclude_bos" if excl else ""):
            labels.detector(pattern, measure, excl)
        for pattern in labels.DETECTOR_DESCRIPTIONS
        for measure, excl in (("mul", False), ("mul", True), ("abs", False))
    }
    out |= {
        "prefix_matching": labels.MetricLabel(labels.PREFIX_MATCHING_DESCRIPTION,
                                              labels.detector_variant("induction_head", "mul", True)),
        "stripe.previous_token": labels.STRIPE_PREVIOUS_TOKEN,
        "stripe.current_token": labels.STRIPE_CURRENT_TOKEN,
        "stripe.first_token": labels.STRIPE_FIRST_TOKEN,
        "stripe.induction": labels.stripe_induction(n_block),
        "copying_score.ov": labels.COPYING_OV,
        "copying_score.full_ov": labels.COPYING_FULL_OV,
        "full_ov_top1_accuracy": labels.FULL_OV_TOP1,
        "composition_score.baseline": labels.composition_baseline(BASELINE_SAMPLES, sc.seed),
        "loss.per_token": labels.LOSS_PER_TOKEN,
        "loss.mean": labels.LOSS_MEAN,
        "loss.first_half": labels.loss_first_half(n_block),
        "loss.repeat_half": labels.loss_repeat_half(n_block),
        "icl_score": labels.icl(engine.icl_score(loss).variant_label),
        "logit_attribution.direct": labels.ATTRIBUTION_DIRECT,
        "logit_attribution.heads": labels.ATTRIBUTION_HEADS,
        "ablation.loss_change": labels.ablation_loss_change(effects.base_loss),
        "ablation.induction_change": labels.ablation_induction_change(effects.induction_variant),
    }
    out |= {
        f"composition_score.{mode}": labels.composition(mode, mean, std, BASELINE_SAMPLES, cfg.d_model, cfg.d_head,
                                                        sc.seed)
        for mode in engine.COMPOSITION_MODES
    }
    return out


def test_every_report_entry_is_worded_by_the_labels_module(report_and_scenario) -> None:  # noqa: ANN001
    report, sc = report_and_scenario
    expected = _expected(report, sc)
    metrics = report["metrics"]
    assert set(metrics) == set(expected), "a new metrics.json entry needs its label in model/labels.py"
    for key, label in expected.items():
        assert metrics[key]["description"] == label.description, key
        assert metrics[key]["variant"] == label.variant, key


def test_tooltip_carries_description_and_variant() -> None:
    tip = labels.COPYING_OV.tooltip()
    assert tip == f"{labels.COPYING_OV.description}\nvariant: {labels.COPYING_OV.variant}"
    assert "exclude_bos=True" in labels.detector("induction_head", "mul", True).tooltip()
    assert "(N+1)/(N+2) = 0.917" in labels.stripe_induction(10).variant
