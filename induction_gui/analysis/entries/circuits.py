"""Weight-only entries: circuits of one head, copying and composition scores, the random baseline.

Each declares exactly the parameters it reads, so dragging a layer-1 weight
leaves every layer-0 circuit memoized, and an edit of the sequence leaves all
of them memoized.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from ... import engine
from ...engine.circuit_tokens import DISPLAY_LIMIT, TokenSubset, circuit_tokens
from ..registry import NotDefined, entry
from ..sizes import OV_TOP1_EXACT_SOURCES, OV_TOP1_SAMPLE, OV_TOP1_SEED, vocab_is_slow

if TYPE_CHECKING:
    from ..context import Context

_W_E = "weights/embed.W_E"
_W_U = "weights/unembed.W_U"
_W_POS = "weights/pos_embed.W_pos"
_ALL_OV = ("weights/blocks.*.attn.W_V", "weights/blocks.*.attn.W_O")
_HEAD_QK = ("weights/blocks.{layer}.attn.W_Q", "weights/blocks.{layer}.attn.W_K")
_HEAD_OV = ("weights/blocks.{layer}.attn.W_V", "weights/blocks.{layer}.attn.W_O")


@entry("copying_scores.ov", inputs=_ALL_OV)
def copying_ov(ctx: Context) -> np.ndarray:
    """[layer, head_index] Re(Σλ)/Σ|λ| over the eigenvalues of W_O W_V."""
    return engine.copying_scores(ctx.weights, full=False)


@entry("copying_scores.full_ov", inputs=(_W_E, *_ALL_OV, _W_U), cost=vocab_is_slow)
def copying_full_ov(ctx: Context) -> np.ndarray:
    """[layer, head_index] Re(Σλ)/Σ|λ| over the eigenvalues of W_O W_U W_E W_V."""
    _outputs_are_tokens(ctx)
    return engine.copying_scores(ctx.weights, full=True)


def _outputs_are_tokens(ctx: Context) -> None:
    """Full-OV quantities read a token's own logit: refuse a model whose outputs are other classes."""
    cfg = ctx.config
    if cfg.vocab_out != cfg.d_vocab:
        raise NotDefined(f"its {cfg.vocab_out} outputs are not its {cfg.d_vocab} tokens (d_vocab_out ≠ d_vocab), "
                         "so no token's own logit exists to copy onto")


def ov_top1_sources(d_vocab: int) -> np.ndarray | None:
    """The source tokens the full-OV top-1 accuracy averages over: all (None), or a fixed seeded sample."""
    if d_vocab <= OV_TOP1_EXACT_SOURCES:
        return None
    rng = np.random.default_rng(OV_TOP1_SEED)
    return np.sort(rng.choice(d_vocab, size=OV_TOP1_SAMPLE, replace=False))  # [sample]


@entry("ov_top1", inputs=(_W_E, *_ALL_OV, _W_U), cost=vocab_is_slow)
def ov_top1(ctx: Context) -> np.ndarray:
    """[layer, head_index] fraction of source tokens whose own logit is the largest in the full OV circuit
    (over every token, or a fixed sample of ``OV_TOP1_SAMPLE`` source tokens of a large vocabulary)."""
    _outputs_are_tokens(ctx)
    return engine.ov_top1_accuracy(ctx.weights, sources=ov_top1_sources(ctx.config.d_vocab))


@entry("ov_top1_sample", inputs=())
def ov_top1_sample(ctx: Context) -> str:
    """What the full-OV top-1 accuracy averages over when not every token: e.g. "512 sampled source tokens
    (seed 0) of 48,262"; "" when it is exact."""
    sources = ov_top1_sources(ctx.config.d_vocab)
    if sources is None:
        return ""
    return f"{sources.size:,} sampled source tokens (seed {OV_TOP1_SEED}) of {ctx.config.d_vocab:,}"


@entry("ov_eigenvalues", inputs=(_W_E, *_HEAD_OV, _W_U), cost=vocab_is_slow)
def ov_eigenvalues(ctx: Context, layer: int, head: int, full: bool) -> np.ndarray:
    """[d_head] complex eigenvalues of one head's OV (or full OV) circuit."""
    if full:
        _outputs_are_tokens(ctx)
    return engine.ov_eigenvalues(ctx.weights, layer, head, full=full)


@entry("circuit_tokens", inputs=("tokens", _W_E, _W_U, "weights/blocks.*.attn.W_*"))
def circuit_tokens_entry(ctx: Context, kind: str, layer: int, head: int, prev_layer: int = -1,
                         prev_head: int = -1) -> TokenSubset | None:
    """The tokens a vocabulary-sized circuit is shown on: None (all of them) up to ``DISPLAY_LIMIT`` tokens,
    else the sequence's distinct tokens and the ones the circuit ranks highest from them."""
    if ctx.config.d_vocab <= DISPLAY_LIMIT:
        return None
    prev = (prev_layer, prev_head) if prev_layer >= 0 else None
    return circuit_tokens(ctx.weights, kind, ctx.tokens, layer, head, prev=prev)  # type: ignore[arg-type]


@entry("full_qk", inputs=(_W_E, *_HEAD_QK))
def full_qk(ctx: Context, layer: int, head: int, tokens: tuple[int, ...] | None = None) -> np.ndarray:
    """[query_token, key_token] W_E W_QK W_Eᵀ of one head (unscaled, no biases), on ``tokens`` if given."""
    return engine.full_qk_circuit(ctx.weights, layer, head, rows=tokens, cols=tokens)


@entry("full_ov", inputs=(_W_E, *_HEAD_OV, _W_U))
def full_ov(ctx: Context, layer: int, head: int, tokens: tuple[int, ...] | None = None) -> np.ndarray:
    """[source_token, output_token] W_E W_OV W_U of one head, on ``tokens`` if given."""
    _outputs_are_tokens(ctx)
    return engine.full_ov_circuit(ctx.weights, layer, head, rows=tokens, cols=tokens)


@entry("positional", inputs=(_W_POS, *_HEAD_QK))
def positional(ctx: Context, layer: int, head: int, n_pos: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Key-query alignment by position: raw W_pos W_QK W_posᵀ, its causal softmax ([n_pos, n_pos] each),
    and the softmax's previous-token stripe mean(diag(A, −1)) (NaN below two positions)."""
    if ctx.config.positional_embedding_type == "rotary":
        raise NotDefined("rotary positions have no W_pos: position enters by rotating queries and keys, "
                         "so there is no positional QK circuit of the embedding")
    raw = engine.positional_qk_circuit(ctx.weights, layer, head)[:n_pos, :n_pos]  # [query_pos, key_pos]
    attn = engine.positional_attention(ctx.weights, layer, head, n_pos=n_pos)  # [query_pos, key_pos]
    prev = float(engine.previous_token_stripe_score(attn)) if n_pos >= 2 else float("nan")
    return raw, attn, prev


@entry("k_composition", inputs=(_W_E, "weights/blocks.{prev_layer}.attn.W_V", "weights/blocks.{prev_layer}.attn.W_O",
                                *_HEAD_QK))
def k_composition(ctx: Context, prev_layer: int, prev_head: int, layer: int, head: int,
                  tokens: tuple[int, ...] | None = None) -> np.ndarray:
    """[query_token, previous_token_of_key] K-composition circuit of a previous-token head into a later head,
    on ``tokens`` if given."""
    return engine.k_composition_circuit(ctx.weights, prev=(prev_layer, prev_head), ind=(layer, head),
                                        rows=tokens, cols=tokens)


@entry("composition_scores", inputs=("weights/blocks.*.attn.W_*",))
def composition_scores(ctx: Context, mode: str) -> np.ndarray:
    """[layer, head_index, later layer, later head] Q-, K- or V-composition scores (Elhage et al. 2021)."""
    return engine.composition_scores(ctx.weights, mode)  # type: ignore[arg-type]


@entry("composition_baseline", inputs=(), cost="slow")
def composition_baseline(ctx: Context, d_model: int, d_head: int, n_samples: int,
                         seed: int) -> Iterator[tuple[int, int]]:
    """Mean ± std of composition scores of random rank-d_head products: what "high" means for this model size."""
    return (yield from engine.iter_composition_baseline(d_model, d_head, n_samples, seed))
