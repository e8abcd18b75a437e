"""Direct logit attribution and head ablation: which paths write the correct logit, what removing a head does."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .attention import HeadOverride
from .detection_patterns import PREFIX_MATCHING_VARIANT
from .detectors import detect_head_from_patterns
from .forward import Overrides, check_tokens, run_with_cache
from .hooks import act_name
from .losses import per_token_loss
from .weights import Weights, block_names


# -- direct logit attribution ---------------------------------------------------------------


@dataclass(frozen=True)
class LogitAttribution:
    """The correct token's logit split into the paths that write it (direct logit attribution).

    For a single position the fields are numbers; for a half of a repeated
    sequence they are sums over its positions. ``total`` equals ``logit``.
    """

    direct: float  # u · (embed + pos_embed): the token and position embeddings read straight out
    heads: np.ndarray  # [n_layers, n_heads]: u · result of each head
    b_O: np.ndarray  # [n_layers]: u · b_O of each layer
    b_U: float  # the unembedding bias of the correct token (plus ln_final.b read out, for an LN model)
    logit: float  # the correct token's logit, from the cached final residual stream

    @property
    def total(self) -> float:
        """Sum of all parts; equals ``logit`` up to rounding."""
        return float(self.direct + self.heads.sum() + self.b_O.sum() + self.b_U)


def _attribution_parts(
    weights: Weights, cache: Mapping[str, np.ndarray], tokens: object, batch_index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every position's attribution parts, float64: direct [P], heads [P, L, H], b_O [P, L], b_U [P], logit [P].

    P = pos − 1: position t is attributed for predicting token t+1.
    """
    cfg = weights.config
    toks = np.asarray(tokens)
    toks = toks[None] if toks.ndim == 1 else toks  # [batch, pos]
    t = toks[batch_index].astype(np.int64)  # [pos]
    f = np.float64
    if cfg.vocab_out != cfg.d_vocab:
        raise ValueError(f"logit attribution: the model's {cfg.vocab_out} outputs are not next-token logits")
    # the columns first, then float64: never a float64 copy of a whole [d_model, d_vocab] unembedding
    U = np.asarray(weights["unembed.W_U"])[:, t[1:]].astype(f).T  # [P, d_model]: u of each position
    b_U = np.asarray(weights["unembed.b_U"])[t[1:]].astype(f)  # [P]
    ln = _final_norm(weights, cache, batch_index)  # a linear map once the cached scale is fixed
    emb = np.asarray(cache[act_name("embed")][batch_index, :-1], dtype=f)  # [P, d_model]
    if cfg.positional_embedding_type == "standard":  # shortformer and rotary keep positions out of the stream
        emb = emb + np.asarray(cache[act_name("pos_embed")][batch_index, :-1], dtype=f)  # [P, d_model]
    direct = np.einsum("pm,pm->p", ln(emb), U)  # [P]
    heads = np.zeros((len(t) - 1, cfg.n_layers, cfg.n_heads))  # [P, layer, head_index]
    b_O = np.zeros((len(t) - 1, cfg.n_layers))  # [P, layer]
    for layer in range(cfg.n_layers):
        result = np.asarray(cache[act_name("result", layer)][batch_index, :-1], dtype=f)  # [P, head_index, d_model]
        heads[:, layer] = np.einsum("phm,pm->ph", ln(result.transpose(1, 0, 2)).transpose(1, 0, 2), U)  # [P, head]
        bias = np.broadcast_to(np.asarray(weights[block_names(layer)["b_O"]], dtype=f), emb.shape)  # [P, d_model]
        b_O[:, layer] = np.einsum("pm,pm->p", ln(bias), U)  # [P]
    if cfg.normalization_type == "LN":  # the final LayerNorm's bias is read out with the unembedding bias
        b_U = b_U + U @ np.asarray(weights["ln_final.b"], dtype=f)  # [P]
    resid = np.asarray(cache["unembed.hook_in"][batch_index, :-1], dtype=f)  # [P, d_model]
    logit = np.einsum("pm,pm->p", resid, U) + np.asarray(weights["unembed.b_U"], dtype=f)[t[1:]]  # [P]
    return direct, heads, b_O, b_U, logit


def _final_norm(
    weights: Weights, cache: Mapping[str, np.ndarray], batch_index: int
) -> Callable[[np.ndarray], np.ndarray]:
    """``ln_final`` without its bias, with the scale frozen at its cached value: a linear map of [..., P, d_model].

    As TransformerLens' ``ActivationCache.apply_ln_to_stack``: centre (LN, LNPre),
    divide by the final residual stream's scale, multiply by the gain (LN, RMS).
    Identity for a model without normalisation.
    """
    kind = weights.config.normalization_type
    if kind is None:
        return lambda x: x
    scale = np.asarray(cache["ln_final.hook_scale"][batch_index, :-1], dtype=np.float64)  # [P, 1]
    w = np.asarray(weights["ln_final.w"], dtype=np.float64) if kind in ("LN", "RMS") else 1.0  # [d_model]

    def apply(x: np.ndarray) -> np.ndarray:
        if kind in ("LN", "LNPre"):
            x = x - x.mean(-1, keepdims=True)
        return x / scale * w

    return apply


def logit_attributions(
    weights: Weights, cache: Mapping[str, np.ndarray], tokens: object, *, batch_index: int = 0
) -> list[LogitAttribution]:
    """:func:`logit_attribution` of every predicting position (0 .. pos − 2), computed together."""
    direct, heads, b_O, b_U, logit = _attribution_parts(weights, cache, tokens, batch_index)
    return [LogitAttribution(float(direct[p]), heads[p], b_O[p], float(b_U[p]), float(logit[p]))
            for p in range(len(direct))]


def logit_attribution(
    weights: Weights, cache: Mapping[str, np.ndarray], tokens: object, position: int, *, batch_index: int = 0
) -> LogitAttribution:
    """Split the logit of the next token at ``position`` into direct, per-head and bias parts.

    With ``u = W_U[:, t_{position+1}]``: direct ``u·(embed + pos_embed)``, each
    head ``u·result^{l,h}``, each layer ``u·b_O^l``, and ``b_U``. They add up
    exactly to the logit: a final normalisation, if the model has one, is
    applied to each part with the scale frozen at its cached value (as
    TransformerLens' ``apply_ln_to_stack``), which makes it linear.

    Parameters
    ----------
    weights
        the model the cache came from.
    cache
        activations of ``run_with_cache`` (needs embed, pos_embed, result, resid_post).
    tokens
        [pos] or [batch, pos].
    position
        the predicting position, 0 ≤ position < pos − 1 (negative counts from the end).
    batch_index
        which sequence of the batch.
    """
    direct, heads, b_O, b_U, logit = _attribution_parts(weights, cache, tokens, batch_index)
    n = len(direct)
    if not -n <= position < n:
        raise ValueError(f"position: {position} has no next token to predict (valid 0..{n - 1})")
    p = position
    return LogitAttribution(float(direct[p]), heads[p], b_O[p], float(b_U[p]), float(logit[p]))


def logit_attribution_by_half(
    weights: Weights, cache: Mapping[str, np.ndarray], tokens: object, n_block: int, *, batch_index: int = 0
) -> tuple[LogitAttribution, LogitAttribution]:
    """Attribution summed over the first block and over its repeat of ``[BOS, r1..rN, r1..rN]``.

    Positions 0..N−1 predict the first block, N..2N−1 the repeat; induction
    heads should dominate the second.

    Returns
    -------
    first, repeat
        each a :class:`LogitAttribution` whose fields are sums over N positions.
    """
    direct, heads, b_O, b_U, logit = _attribution_parts(weights, cache, tokens, batch_index)
    if n_block < 1 or len(direct) < 2 * n_block:
        raise ValueError(f"n_block: {n_block} needs a sequence of at least {2 * n_block + 1} tokens")
    halves = (slice(0, n_block), slice(n_block, 2 * n_block))
    first, repeat = (
        LogitAttribution(
            direct=float(direct[s].sum()),
            heads=heads[s].sum(axis=0),  # [n_layers, n_heads]
            b_O=b_O[s].sum(axis=0),  # [n_layers]
            b_U=float(b_U[s].sum()),
            logit=float(logit[s].sum()),
        )
        for s in halves
    )
    return first, repeat


# -- ablation -------------------------------------------------------------------------


@dataclass(frozen=True)
class AblationEffects:
    """What ablating each head does, one forward pass per head."""

    mode: str  # "zero" or "mean"
    base_loss: float  # mean per-token loss with nothing ablated
    loss_change: np.ndarray  # [n_layers, n_heads]: mean loss with head (l, h) ablated − base_loss
    base_induction: np.ndarray  # [n_layers, n_heads]: induction scores with nothing ablated
    induction_change: np.ndarray  # [l, h, l2, h2]: change of head (l2, h2)'s score when (l, h) is ablated
    induction_variant: str = PREFIX_MATCHING_VARIANT  # the detector behind the induction scores


def ablation_effects(
    weights: Weights,
    tokens: object,
    *,
    mode: Literal["zero", "mean"] = "zero",
    overrides: Overrides | None = None,
) -> AblationEffects:
    """Ablate each head in turn and measure the change in loss and in every head's induction score.

    The induction score is :data:`PREFIX_MATCHING_VARIANT` (``mul``,
    ``exclude_bos=True``), from the ablated run's own patterns. Ablating the
    previous-token head of an induction circuit should destroy the induction
    head's score; ablating an unrelated head should not change it. A head's own
    pattern and earlier layers never change (ablation acts on its output).

    Parameters
    ----------
    weights
        the model.
    tokens
        [pos] or [batch, pos]; mean ablation averages z over batch and positions.
    mode
        ``"zero"`` or ``"mean"`` ablation (see :class:`HeadOverride`).
    overrides
        the scenario's other per-head overrides, kept in every run; an ablated
        head keeps its own override and gains the ablation.
    """
    cfg = weights.config
    toks = check_tokens(tokens, cfg.d_vocab, cfg.n_ctx)  # [batch, pos]
    base = dict(overrides or {})

    def measure(ov: Overrides) -> tuple[float, np.ndarray]:
        logits, cache = run_with_cache(weights, toks, ov)
        loss = float(per_token_loss(logits, toks).mean())
        score = detect_head_from_patterns(cache, toks, "induction_head", exclude_bos=True)  # [layer, head_index]
        return loss, score

    base_loss, base_score = measure(base)
    L, H = cfg.n_layers, cfg.n_heads
    loss_change = np.zeros((L, H))  # [layer, head_index]
    induction_change = np.zeros((L, H, L, H))  # [layer, head_index, layer, head_index]
    for layer in range(L):
        for head in range(H):
            ov = dict(base)
            ov[(layer, head)] = dataclasses.replace(ov.get((layer, head), HeadOverride()), ablation=mode)
            loss, score = measure(ov)
            loss_change[layer, head] = loss - base_loss
            induction_change[layer, head] = score - base_score
    return AblationEffects(mode, base_loss, loss_change, base_score, induction_change)
