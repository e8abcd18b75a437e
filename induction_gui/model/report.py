"""Every head's scores for one scenario and sequence, each labelled with its variant.

One function builds the numbers the metrics dashboard shows and ``export``
writes to ``metrics.json``, so a number on screen can always be checked
headless. Every entry says what it is, which variant of the metric it uses and
what its axes are; a teacher should never have to guess whether an induction
score excluded the start token.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import engine
from ..engine.forward import Overrides

REPORT_FORMAT = "induction-gui.metrics"
REPORT_VERSION = 1
# Samples of the composition-score baseline: enough for a stable mean (±0.002), still < 50 ms.
BASELINE_SAMPLES = 200


def repeated_block(tokens: np.ndarray, bos: int | None) -> int | None:
    """N if ``tokens`` is ``[BOS, r1..rN, r1..rN]`` (or ``[r1..rN, r1..rN]`` without a start token), else None.

    The stripe score and the first/repeat loss split only make sense on such sequences.
    """
    body = tokens[1:] if bos is not None and tokens.size and tokens[0] == bos else tokens  # [pos]
    n = body.size // 2
    if n >= 1 and body.size == 2 * n and np.array_equal(body[:n], body[n:]):
        return n
    return None


def _metric(value: Any, description: str, variant: str, axes: list[str]) -> dict[str, Any]:
    """One labelled entry; arrays become nested lists of Python floats."""
    if isinstance(value, np.ndarray):
        value = value.astype(np.float64).tolist()
    elif isinstance(value, np.floating | float):
        value = float(value)
    return {"description": description, "variant": variant, "axes": axes, "value": value}


def _detector_metrics(weights: engine.Weights, cache: engine.ActivationCache, tokens: np.ndarray) -> dict[str, Any]:
    """The three TransformerLens head detectors in the variants the dashboard offers."""
    out: dict[str, Any] = {}
    descriptions = {
        "previous_token_head": "attention from position i to i-1 (a sub-diagonal stripe)",
        "duplicate_token_head": "attention to earlier occurrences of the current token",
        "induction_head": "attention to the token after an earlier occurrence of the current token",
    }
    for pattern, description in descriptions.items():
        for measure, exclude_bos in (("mul", False), ("mul", True), ("abs", False)):
            key = f"{pattern.removesuffix('_head')}.{measure}" + (".exclude_bos" if exclude_bos else "")
            score = engine.detect_head_from_patterns(
                cache, tokens, pattern, exclude_bos=exclude_bos, error_measure=measure
            )  # [layer, head_index]
            variant = (
                f"TransformerLens detect_head: {pattern}, error_measure={measure}, "
                f"exclude_bos={exclude_bos}, exclude_current_token=False"
            )
            out[key] = _metric(score, description, variant, ["layer", "head"])
    return out


def _circuit_metrics(weights: engine.Weights, seed: int) -> dict[str, Any]:
    """Weight-only circuit scores: copying, full-OV accuracy, composition against its baseline."""
    cfg = weights.config
    out: dict[str, Any] = {
        "copying_score.ov": _metric(
            engine.copying_scores(weights, full=False),
            "how much the OV circuit copies: Re(sum of eigenvalues) / sum of |eigenvalues|, in [-1, 1]",
            "eigenvalues of W_O W_V [d_head, d_head]",
            ["layer", "head"],
        ),
        "copying_score.full_ov": _metric(
            engine.copying_scores(weights, full=True),
            "copying score of the full OV circuit (token in, logit out)",
            "eigenvalues of W_O W_U W_E W_V [d_head, d_head]",
            ["layer", "head"],
        ),
        "full_ov_top1_accuracy": _metric(
            engine.ov_top1_accuracy(weights),
            "fraction of source tokens whose own logit is the largest the head writes",
            "mean_i[argmax_j (W_E W_V W_O W_U)[i, j] == i]",
            ["layer", "head"],
        ),
    }
    if cfg.n_layers >= 2 and cfg.n_heads >= 1:
        baseline = engine.composition_baseline(cfg.d_model, cfg.d_head, n_samples=BASELINE_SAMPLES, seed=seed)
        for mode in engine.COMPOSITION_MODES:
            out[f"composition_score.{mode}"] = _metric(
                engine.composition_scores(weights, mode),
                f"{mode}-composition of an earlier head's output into a later head (Elhage et al. 2021)",
                f"||L R||_F / (||L||_F ||R||_F), zero unless layer of the first head is lower; "
                f"random baseline {baseline.mean:.3f} ± {baseline.std:.3f} "
                f"({BASELINE_SAMPLES} samples, d_model {cfg.d_model}, d_head {cfg.d_head}, seed {seed})",
                ["layer", "head", "later layer", "later head"],
            )
        out["composition_score.baseline"] = _metric(
            np.array([baseline.mean, baseline.std]),
            "composition score of random heads of the same sizes: [mean, std]",
            f"{BASELINE_SAMPLES} seeded samples of random rank-d_head products (seed {seed})",
            ["mean, std"],
        )
    return out


def _loss_metrics(logits: np.ndarray, tokens: np.ndarray, bos: int | None) -> dict[str, Any]:
    """Per-token loss, its split into first and repeated part, and the ICL score."""
    loss = engine.per_token_loss(logits, tokens)[0]  # [pos - 1]
    out: dict[str, Any] = {
        "loss.per_token": _metric(
            loss, "cross-entropy of the prediction at position i for token i+1", "natural log, nats", ["position"]
        ),
        "loss.mean": _metric(float(loss.mean()), "mean per-token loss", "natural log, nats", []),
    }
    n_block = repeated_block(tokens, bos)
    if n_block is not None and bos is not None and tokens[0] == bos:
        halves = engine.first_and_repeat_loss(loss, n_block)
        span = f"[BOS, r1..r{n_block}, r1..r{n_block}]"
        out["loss.first_half"] = _metric(
            halves.first, "mean loss on the first occurrence (unpredictable)",
            f"loss columns 0..{n_block - 1} of {span}", [],
        )
        out["loss.repeat_half"] = _metric(
            halves.repeat, "mean loss on the repeat (predictable by induction)",
            f"loss columns {n_block}..{2 * n_block - 1} of {span}", [],
        )
    if loss.size >= 2:
        icl = engine.icl_score(loss)
        out["icl_score"] = _metric(
            icl.value,
            "in-context learning score: late loss minus early loss (more negative = more in-context learning)",
            icl.variant_label,
            [],
        )
    return out


def _pattern_metrics(cache: engine.ActivationCache, tokens: np.ndarray, bos: int | None, n_layers: int) -> dict[str, Any]:
    """Single-sequence stripe detectors of every head (ARENA / TransformerLens demo scores)."""
    patterns = np.stack([cache["pattern", layer][0] for layer in range(n_layers)])  # [layer, head_index, q, k]
    out: dict[str, Any] = {
        "stripe.previous_token": _metric(
            engine.previous_token_stripe_score(patterns), "mean attention from i to i-1", "mean(diag(A, -1))",
            ["layer", "head"],
        ),
        "stripe.current_token": _metric(
            engine.current_token_score(patterns), "mean attention of a position to itself", "mean(diag(A))",
            ["layer", "head"],
        ),
        "stripe.first_token": _metric(
            engine.first_token_score(patterns), "mean attention to position 0 (resting on the start token)",
            "mean(A[:, 0])", ["layer", "head"],
        ),
    }
    n_block = repeated_block(tokens, bos)
    if n_block is not None and bos is not None and tokens[0] == bos:
        out["stripe.induction"] = _metric(
            engine.induction_stripe_score(patterns, n_block),
            "mean attention on the induction stripe of a repeated sequence",
            f"mean(diag(A, offset=1-N)) with N={n_block} on [BOS, r, r]; a perfect head resting on BOS "
            f"scores (N+1)/(N+2) = {(n_block + 1) / (n_block + 2):.3f}",
            ["layer", "head"],
        )
    return out


def _attribution_metrics(
    weights: engine.Weights, cache: engine.ActivationCache, tokens: np.ndarray
) -> dict[str, Any]:
    """Direct logit attribution of the correct next token at every position."""
    n_pos = tokens.size
    direct, heads = [], []
    for position in range(n_pos - 1):
        part = engine.logit_attribution(weights, cache, tokens, position)
        direct.append(part.direct)
        heads.append(part.heads)  # [layer, head_index]
    if not direct:
        return {}
    return {
        "logit_attribution.direct": _metric(
            np.array(direct), "contribution of the embeddings (direct path) to the correct next token's logit",
            "W_U[:, t_{i+1}] · (embed_i + pos_embed_i)", ["position"],
        ),
        "logit_attribution.heads": _metric(
            np.array(heads), "each head's contribution to the correct next token's logit",
            "W_U[:, t_{i+1}] · result^{l,h}_i (direct effect only)", ["position", "layer", "head"],
        ),
    }


def _ablation_metrics(weights: engine.Weights, tokens: np.ndarray, overrides: Overrides) -> dict[str, Any]:
    """What zero-ablating each head does to the loss and to every head's induction score."""
    effects = engine.ablation_effects(weights, tokens, mode="zero", overrides=overrides)
    return {
        "ablation.loss_change": _metric(
            effects.loss_change, "change of mean loss when the head's output is zero-ablated",
            f"zero ablation of z; base loss {effects.base_loss:.4f}", ["layer", "head"],
        ),
        "ablation.induction_change": _metric(
            effects.induction_change, "change of each later head's induction score when a head is zero-ablated",
            effects.induction_variant, ["ablated layer", "ablated head", "layer", "head"],
        ),
    }


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
    overrides = dict(overrides or {})
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)  # [pos]
    logits, cache = engine.run_with_cache(weights, tokens, overrides)
    cfg = weights.config
    metrics: dict[str, Any] = {}
    metrics |= _detector_metrics(weights, cache, tokens)
    metrics["prefix_matching"] = metrics["induction.mul.exclude_bos"] | {
        "description": "prefix-matching score: the induction detector as Olsson et al. use it",
    }
    metrics |= _pattern_metrics(cache, tokens, bos, cfg.n_layers)
    metrics |= _circuit_metrics(weights, seed)
    metrics |= _loss_metrics(logits, tokens, bos)
    metrics |= _attribution_metrics(weights, cache, tokens)
    metrics |= _ablation_metrics(weights, tokens, overrides)
    report = {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "scenario": {
            "title": title,
            "config": cfg.to_dict(),
            "tokens": tokens.tolist(),
            "token_strings": [vocab[t] for t in tokens] if vocab else None,
            "bos": bos,
            "overrides": sorted(f"L{layer}H{head}" for layer, head in overrides),
        },
        "metrics": metrics,
    }
    return logits, cache, report
