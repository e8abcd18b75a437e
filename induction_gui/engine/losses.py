"""Next-token loss, the first-versus-repeat split, and the in-context learning score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import budget


# -- loss and in-context learning ---------------------------------------------------------


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Max-subtracted log-softmax over the last axis, float64, so large logits do not overflow."""
    x = np.asarray(logits, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # an infinite logit gives NaN here, which the callers report as such
        shifted = x - x.max(axis=-1, keepdims=True)  # [..., d_vocab]
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def per_token_loss(logits: np.ndarray, tokens: object) -> np.ndarray:
    """Cross-entropy of the prediction at position i for token i+1.

    Parameters
    ----------
    logits
        [batch, pos, d_vocab] (or [pos, d_vocab]).
    tokens
        [batch, pos] (or [pos]).

    Returns
    -------
    np.ndarray
        [batch, pos − 1] float64 losses in nats.
    """
    lg = np.asarray(logits)
    lg = lg[None] if lg.ndim == 2 else lg  # [batch, pos, d_vocab]
    toks = np.asarray(tokens)
    toks = toks[None] if toks.ndim == 1 else toks  # [batch, pos]
    if lg.ndim != 3 or toks.shape != lg.shape[:2]:
        raise ValueError(f"per_token_loss: logits {list(lg.shape)} and tokens {list(toks.shape)} do not match")
    if toks.size and toks[:, 1:].max(initial=0) >= lg.shape[-1]:
        # a model whose d_vocab_out differs from d_vocab predicts classes, not next tokens
        raise ValueError(
            f"per_token_loss: token id {toks[:, 1:].max()} has no logit (the model has {lg.shape[-1]} outputs)"
        )
    nxt = toks[:, 1:, None].astype(np.int64)  # [batch, pos - 1, 1]
    out = np.empty(nxt.shape[:2], dtype=np.float64)  # [batch, pos - 1]
    # in position blocks: a float64 log-softmax of every logit at once is 2.4 GB at T = 2048, d_vocab 48,262
    step = budget.rows_per_chunk((lg.shape[0], lg.shape[-1]), np.float64, budget.TEMPORARY_BYTES // 4)
    for start in range(0, nxt.shape[1], step):
        rows = slice(start, start + step)
        logp = log_softmax(lg[:, :-1][:, rows])  # [batch, chunk, d_vocab]
        out[:, rows] = -np.take_along_axis(logp, nxt[:, rows], axis=-1)[..., 0]
    return out


class RepeatLoss(NamedTuple):
    """Mean loss on the first occurrence of a repeated block and on its repeat."""

    first: float  # predicting r1..rN the first time (loss columns 0..N−1)
    repeat: float  # predicting r1..rN again (loss columns N..2N−1)


def first_and_repeat_loss(loss: np.ndarray, n_block: int) -> RepeatLoss:
    """Split per-token loss of ``[BOS, r1..rN, r1..rN]`` into first-half and repeat means.

    Loss column i predicts token i+1, so columns 0..N−1 predict the first block
    and columns N..2N−1 the repeat; an induction head makes the second low.

    Parameters
    ----------
    loss
        [batch, pos − 1] from :func:`per_token_loss` (pos = 2N+1), or [pos − 1].
    """
    lo = np.asarray(loss, dtype=np.float64)
    lo = lo[None] if lo.ndim == 1 else lo  # [batch, pos - 1]
    if n_block < 1 or lo.shape[1] < 2 * n_block:
        raise ValueError(f"n_block: {n_block} needs at least {2 * n_block} loss columns, got {lo.shape[1]}")
    return RepeatLoss(float(lo[:, :n_block].mean()), float(lo[:, n_block : 2 * n_block].mean()))


@dataclass(frozen=True)
class IclScore:
    """An in-context-learning score with the loss columns it compares."""

    value: float  # mean over examples of L(late) − L(early); more negative = more in-context learning
    early_index: int  # loss column subtracted (prediction made at this position)
    late_index: int  # loss column taken
    variant_label: str  # e.g. "scaled ICL: L(19) − L(3)", shown beside the number


def icl_score(loss: np.ndarray, *, reference_length: int | None = None) -> IclScore:
    """Olsson et al.'s in-context-learning score, or its scaled version for short contexts.

    Olsson et al. take the loss at token 500 minus the loss at token 50. Toy
    contexts are far shorter, so when there are not more than 500 loss columns
    this uses ``L(last) − L(reference_length // 10)`` and says so in the label.

    Parameters
    ----------
    loss
        [batch, pos − 1] per-token loss (column i predicts token i+1), or [pos − 1].
    reference_length
        the length whose tenth is the early index: ``n_ctx`` to compare models,
        default the sequence length (pos).

    Returns
    -------
    IclScore
    """
    lo = np.asarray(loss, dtype=np.float64)
    lo = lo[None] if lo.ndim == 1 else lo  # [batch, pos - 1]
    n_cols = lo.shape[1]
    if n_cols > 500:
        early, late = 50, 500
        label = "Olsson ICL: L(500) − L(50)"
    else:
        ref = n_cols + 1 if reference_length is None else int(reference_length)
        early, late = ref // 10, n_cols - 1
        label = f"scaled ICL: L({late}) − L({early}) (last − length/10; Olsson uses L(500) − L(50))"
    if not 0 <= early < late:
        raise ValueError(f"icl_score: {n_cols} loss columns are too few to compare L({late}) with L({early})")
    value = float((lo[:, late] - lo[:, early]).mean())
    return IclScore(value, early, late, label)
