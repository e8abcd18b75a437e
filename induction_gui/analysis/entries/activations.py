"""Entries read from the forward pass: detector scores, stripes, loss, ICL, top-k, copied vectors.

Each reads ``forward`` (the results the views draw), so it is recomputed once
per forward pass and never for a view that is not shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ... import engine
from ..registry import entry
from ..sizes import logits_are_slow

if TYPE_CHECKING:
    from ..context import Context
    from ..results import Results

TOP_K = 3  # predictions shown per position


@entry("detector", inputs=("forward",))
def detector(ctx: Context, pattern: str, measure: str = "mul", exclude_bos: bool = False) -> np.ndarray:
    """[layer, head_index] TransformerLens head-detector score of one pattern and variant."""
    return ctx.results.score(pattern, measure, exclude_bos)


def repeated_block(tokens: np.ndarray, bos: int | None) -> int | None:
    """N if ``tokens`` is ``[BOS, r1..rN, r1..rN]`` (or ``[r1..rN, r1..rN]`` without a start token), else None."""
    body = tokens[1:] if bos is not None and tokens.size and tokens[0] == bos else tokens  # [pos]
    n = body.size // 2
    if n >= 1 and body.size == 2 * n and np.array_equal(body[:n], body[n:]):
        return n
    return None


@entry("repeated_block", inputs=("tokens",))
def bos_repeated_block(ctx: Context) -> int | None:
    """N if the sequence is ``[BOS, r1..rN, r1..rN]`` with the start token first, else None.

    The induction stripe and the first/repeat loss split are only defined on
    such sequences, so the views, lessons and metrics.json all ask this entry.
    """
    return _bos_block(ctx.tokens, ctx.state.bos)


def _bos_block(tokens: np.ndarray, bos: int | None) -> int | None:
    if bos is None or not tokens.size or tokens[0] != bos:
        return None
    return repeated_block(tokens, bos)


def _results_block(ctx: Context) -> int | None:
    """The repeated block of the sequence the results were computed on.

    Results may lag the document by a frame (a worker computes the new ones);
    a block length taken from the document's newer tokens would not fit their
    patterns (a 9-position pattern has no diagonal at offset −9).
    """
    return _bos_block(ctx.results.tokens, ctx.state.bos)


@entry("stripes", inputs=("forward", "tokens"))
def stripes(ctx: Context) -> dict[str, np.ndarray]:
    """The single-sequence stripe detectors of every head ([layer, head_index] each).

    ``previous_token``, ``current_token``, ``first_token`` always; ``induction``
    (mean of the diagonal at offset 1 − N) only on ``[BOS, r, r]`` sequences.
    """
    patterns = ctx.results.patterns()  # [layer, head_index, query_pos, key_pos]
    # a one-token sequence has no previous token: the score does not apply (NaN), it is not an error
    previous = (engine.previous_token_stripe_score(patterns) if patterns.shape[-1] > 1
                else np.full(patterns.shape[:2], np.nan))  # [layer, head_index]
    out = {
        "previous_token": np.asarray(previous),
        "current_token": np.asarray(engine.current_token_score(patterns)),
        "first_token": np.asarray(engine.first_token_score(patterns)),
    }
    n_block = _results_block(ctx)
    if n_block is not None:
        out["induction"] = np.asarray(engine.induction_stripe_score(patterns, n_block))
    return out


@entry("logits", inputs=("forward",), cost=logits_are_slow)
def logits(ctx: Context) -> Results:
    """The forward results with their logits, probabilities and loss (a worker unembeds a large model's)."""
    return ctx.results.unembed()


@entry("loss_halves", inputs=("forward", "tokens"), cost=logits_are_slow)
def loss_halves(ctx: Context) -> engine.RepeatLoss | None:
    """Mean loss on the first occurrences and on the repeats of ``[BOS, r, r]`` (None on other sequences)."""
    n_block = _results_block(ctx)
    if n_block is None:
        return None
    return engine.first_and_repeat_loss(ctx.results.loss, n_block)


@entry("icl", inputs=("forward",), cost=logits_are_slow)
def icl(ctx: Context) -> engine.IclScore | None:
    """The (scaled) in-context-learning score of the sequence, None below three tokens."""
    loss = ctx.results.loss  # [pos - 1]
    return engine.icl_score(loss) if loss.size >= 2 else None


@entry("top_k", inputs=("forward",), cost=logits_are_slow)
def top_k(ctx: Context, k: int = TOP_K) -> np.ndarray:
    """[pos, k] token ids of the k largest logits per position, largest first (ties: lower id first)."""
    return engine.top_k_tokens(ctx.results.logits, k)  # [pos, k]


LOGIT_COLUMNS = 256  # a vocabulary larger than this shows the logits of a subset of tokens


@entry("logit_columns", inputs=("forward",), cost=logits_are_slow)
def logit_columns(ctx: Context) -> np.ndarray | None:
    """Token ids whose logits the Predictions view shows: None (all) up to ``LOGIT_COLUMNS`` tokens, else the
    sequence's distinct tokens and every top-1 prediction, ascending (the sequence's first if over
    ``LOGIT_COLUMNS``)."""
    if ctx.config.d_vocab <= LOGIT_COLUMNS:
        return None
    seq = np.unique(ctx.tokens)  # [n] ascending
    best = np.setdiff1d(ctx.results.logits.argmax(axis=-1), seq)  # [m] ties: the lower id, as top_k
    return np.union1d(seq, best[: max(0, LOGIT_COLUMNS - seq.size)])[:LOGIT_COLUMNS]


@entry("head_output", inputs=("forward",))
def head_output(ctx: Context, layer: int, head: int) -> np.ndarray:
    """[pos, d_model] one head's output in the residual stream (``hook_result``; z · W_O if not cached)."""
    cache = ctx.results.cache
    if engine.act_name("result", layer) in cache:
        return cache["result", layer][0, :, head]  # [pos, d_model]
    z = cache["z", layer][0, :, head]  # [pos, d_head]
    w_o = ctx.weights[f"blocks.{layer}.attn.W_O"][head]  # [d_head, d_model]
    with np.errstate(all="ignore"):
        return z @ w_o  # [pos, d_model]


@entry("head_logit_effect", inputs=("forward",))
def head_logit_effect(ctx: Context, layer: int, head: int, query_pos: int) -> np.ndarray:
    """[d_vocab] direct effect of one head's output at ``query_pos`` on each logit: ``result[q] · W_U``."""
    w_u = ctx.weights["unembed.W_U"]  # [d_model, d_vocab]
    with np.errstate(all="ignore"):
        return ctx.get("head_output", layer=layer, head=head)[query_pos] @ w_u  # [d_vocab]
