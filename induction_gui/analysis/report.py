"""Every head's scores for one scenario and sequence, each labelled with its variant.

The report serializes the analysis entries the window draws, so a number on
screen can always be checked headless and the two cannot disagree. Every entry
says what it is, which variant of the metric it uses and what its axes are,
worded by :mod:`induction_gui.model.labels` as the window words it; a teacher
should never have to guess whether an induction score excluded the start token.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import engine
from ..engine.forward import Overrides
from ..model import labels
from .analysis import Analysis, EntryFailed
from .entries.activations import repeated_block

REPORT_FORMAT = "induction-gui.metrics"
REPORT_VERSION = 1
# Samples of the composition-score baseline: enough for a stable mean (±0.002), still < 50 ms.
BASELINE_SAMPLES = 200
# The detector variants written to metrics.json (the dashboard offers the same ones).
REPORTED_VARIANTS: tuple[tuple[str, bool], ...] = (("mul", False), ("mul", True), ("abs", False))

__all__ = ["BASELINE_SAMPLES", "REPORT_FORMAT", "REPORT_VERSION", "build_report", "metrics_of", "repeated_block"]


def _metric(value: Any, label: labels.MetricLabel, axes: list[str]) -> dict[str, Any]:
    """One labelled entry; arrays become nested lists of Python floats; a value this model lacks says why."""
    if isinstance(value, EntryFailed):
        return {"description": label.description, "variant": label.variant, "axes": axes, "value": None,
                "not_defined": value.message}
    if isinstance(value, np.ndarray):
        value = value.astype(np.float64).tolist()
    elif isinstance(value, np.floating | float):
        value = float(value)
    return {"description": label.description, "variant": label.variant, "axes": axes, "value": value}


def _detector_metrics(a: Analysis) -> dict[str, Any]:
    """The three TransformerLens head detectors in the variants the dashboard offers."""
    out: dict[str, Any] = {}
    for pattern in labels.DETECTOR_DESCRIPTIONS:
        for measure, exclude_bos in REPORTED_VARIANTS:
            key = f"{pattern.removesuffix('_head')}.{measure}" + (".exclude_bos" if exclude_bos else "")
            score = a.get("detector", pattern=pattern, measure=measure, exclude_bos=exclude_bos)  # [layer, head]
            out[key] = _metric(score, labels.detector(pattern, measure, exclude_bos), ["layer", "head"])
    return out


def _circuit_metrics(a: Analysis) -> dict[str, Any]:
    """Weight-only circuit scores: copying, full-OV accuracy, composition against its baseline."""
    state = a.state()
    cfg, seed = state.config, state.seed
    out: dict[str, Any] = {
        "copying_score.ov": _metric(a.get("copying_scores.ov"), labels.COPYING_OV, ["layer", "head"]),
        "copying_score.full_ov": _metric(a.get("copying_scores.full_ov"), labels.COPYING_FULL_OV, ["layer", "head"]),
        "full_ov_top1_accuracy": _metric(a.get("ov_top1"), labels.FULL_OV_TOP1, ["layer", "head"]),
    }
    if cfg.n_layers >= 2 and cfg.n_heads >= 1:
        baseline = a.get("composition_baseline", d_model=cfg.d_model, d_head=cfg.d_head,
                         n_samples=BASELINE_SAMPLES, seed=seed)
        for mode in engine.COMPOSITION_MODES:
            label = labels.composition(mode, baseline.mean, baseline.std, BASELINE_SAMPLES, cfg.d_model, cfg.d_head,
                                       seed)
            out[f"composition_score.{mode}"] = _metric(
                a.get("composition_scores", mode=mode), label, ["layer", "head", "later layer", "later head"]
            )
        out["composition_score.baseline"] = _metric(
            np.array([baseline.mean, baseline.std]), labels.composition_baseline(BASELINE_SAMPLES, seed),
            ["mean, std"],
        )
    return out


def _loss_metrics(a: Analysis) -> dict[str, Any]:
    """Per-token loss, its split into first and repeated part, and the ICL score."""
    loss = a.results.loss  # [pos - 1]
    out: dict[str, Any] = {
        "loss.per_token": _metric(loss, labels.LOSS_PER_TOKEN, ["position"]),
        "loss.mean": _metric(float(loss.mean()), labels.LOSS_MEAN, []),
    }
    halves, n_block = a.get("loss_halves"), a.get("repeated_block")
    if halves is not None:
        out["loss.first_half"] = _metric(halves.first, labels.loss_first_half(n_block), [])
        out["loss.repeat_half"] = _metric(halves.repeat, labels.loss_repeat_half(n_block), [])
    icl = a.get("icl")
    if icl is not None:
        out["icl_score"] = _metric(icl.value, labels.icl(icl.variant_label), [])
    return out


def _pattern_metrics(a: Analysis) -> dict[str, Any]:
    """Single-sequence stripe detectors of every head (ARENA / TransformerLens demo scores)."""
    stripes = a.get("stripes")
    out: dict[str, Any] = {
        "stripe.previous_token": _metric(stripes["previous_token"], labels.STRIPE_PREVIOUS_TOKEN, ["layer", "head"]),
        "stripe.current_token": _metric(stripes["current_token"], labels.STRIPE_CURRENT_TOKEN, ["layer", "head"]),
        "stripe.first_token": _metric(stripes["first_token"], labels.STRIPE_FIRST_TOKEN, ["layer", "head"]),
    }
    if "induction" in stripes:
        out["stripe.induction"] = _metric(
            stripes["induction"], labels.stripe_induction(a.get("repeated_block")), ["layer", "head"]
        )
    return out


def _attribution_metrics(a: Analysis) -> dict[str, Any]:
    """Direct logit attribution of the correct next token at every position."""
    parts = [a.get("logit_attribution", position=p) for p in range(a.state().tokens.size - 1)]
    if not parts:
        return {}
    return {
        "logit_attribution.direct": _metric(np.array([p.direct for p in parts]), labels.ATTRIBUTION_DIRECT,
                                            ["position"]),
        "logit_attribution.heads": _metric(np.array([p.heads for p in parts]), labels.ATTRIBUTION_HEADS,
                                           ["position", "layer", "head"]),
    }


def _ablation_metrics(a: Analysis) -> dict[str, Any]:
    """What zero-ablating each head does to the loss and to every head's induction score."""
    effects = a.get("ablation_effects", mode="zero")
    return {
        "ablation.loss_change": _metric(
            effects.loss_change, labels.ablation_loss_change(effects.base_loss), ["layer", "head"]
        ),
        "ablation.induction_change": _metric(
            effects.induction_change, labels.ablation_induction_change(effects.induction_variant),
            ["ablated layer", "ablated head", "layer", "head"],
        ),
    }


def metrics_of(a: Analysis) -> dict[str, Any]:
    """Every labelled metric of an analysis (what ``metrics.json`` holds under ``metrics``)."""
    metrics: dict[str, Any] = {}
    metrics |= _detector_metrics(a)
    metrics["prefix_matching"] = metrics["induction.mul.exclude_bos"] | {
        "description": labels.PREFIX_MATCHING_DESCRIPTION,
    }
    metrics |= _pattern_metrics(a)
    metrics |= _circuit_metrics(a)
    metrics |= _loss_metrics(a)
    metrics |= _attribution_metrics(a)
    metrics |= _ablation_metrics(a)
    return metrics


def build_report(
    weights: engine.Weights,
    tokens: np.ndarray,
    overrides: Overrides | None = None,
    *,
    vocab: list[str] | None = None,
    bos: int | None = None,
    seed: int = 0,
    title: str = "",
) -> tuple[np.ndarray, engine.ActivationCache, dict[str, Any]]:
    """Run the model once and score every head.

    Parameters
    ----------
    weights, tokens, overrides
        the model, one sequence [pos], and the per-head experiments.
    vocab, bos, seed, title
        labels for the report and the composition baseline's seed.

    Returns
    -------
    logits [1, pos, d_vocab], the cache, and the report (JSON-ready dict).
    """
    a = Analysis.of(weights, tokens, overrides, bos=bos, seed=seed, vocab=tuple(vocab or ()))
    state = a.state()
    results = a.results
    report = {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "scenario": {
            "title": title,
            "config": state.config.to_dict(),
            "tokens": state.tokens.tolist(),
            "token_strings": [vocab[t] for t in state.tokens] if vocab else None,
            "bos": bos,
            "overrides": sorted(f"L{layer}H{head}" for layer, head in state.overrides),
        },
        "metrics": metrics_of(a),
    }
    return results.logits[None], results.cache, report
