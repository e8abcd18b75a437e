"""Training batches that make an induction head worth learning, and detectors scored on them.

Each sequence is the start token (id 0) followed by a block of L *distinct*
random content tokens tiled to the end of the context. Within the first block
nothing can be predicted (every token is new); from the first repeat on, every
token can be predicted by looking up where the current token occurred before
and copying what followed it: exactly an induction head's job. Drawing L per
sequence (``random-blocks``) is what forces the model to learn *induction*
rather than a positional shortcut; with a fixed period (``fixed-period``) a
head that attends ``period − 1`` positions back does as well, and that is what
the model learns instead (Olsson et al. 2022 discuss the same trap).
"""

from __future__ import annotations

from collections.abc import Callable

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .markov import sample_chains

if TYPE_CHECKING:
    from .train_config import TrainConfig

START_TOKEN = 0  # the start (BOS) token id; content tokens are 1..d_vocab-1


@dataclass(frozen=True, eq=False)
class Batch:
    """One training batch and which loss columns an induction head can help.

    Loss column i is the prediction made at position i for token i+1.
    """

    tokens: np.ndarray  # [batch, n_ctx] int64: start token, then a block tiled to the end
    first_mask: np.ndarray  # [batch, n_ctx - 1] bool: columns predicting a token of the first block
    repeat_mask: np.ndarray  # [batch, n_ctx - 1] bool: columns predicting a repeated token
    block_lengths: np.ndarray  # [batch] int64: L of each sequence


def tiled_blocks(block_lengths: np.ndarray, n_ctx: int, d_vocab: int, rng: np.random.Generator) -> Batch:
    """Sequences ``[start, r1..rL, r1..rL, ...]`` cut to ``n_ctx`` tokens, one L per row.

    Parameters
    ----------
    block_lengths
        [batch] L of each sequence, each in 1..min(d_vocab − 1, n_ctx − 1).
    n_ctx
        tokens per sequence, the start token included.
    d_vocab
        the vocabulary size; content tokens are drawn from 1..d_vocab − 1.
    rng
        the only source of randomness, so a batch is fixed by the generator's state.

    Returns
    -------
    Batch
    """
    lengths = np.asarray(block_lengths, dtype=np.int64)  # [batch]
    n_batch = lengths.shape[0]
    n_content = d_vocab - 1
    width = int(lengths.max())
    # distinct tokens per row: the first `width` entries of a random permutation of the content ids
    perm = np.argsort(rng.random((n_batch, n_content)), axis=1)[:, :width] + 1  # [batch, width]
    offset = np.arange(n_ctx - 1) % lengths[:, None]  # [batch, n_ctx - 1]: index into the block
    tokens = np.empty((n_batch, n_ctx), dtype=np.int64)  # [batch, n_ctx]
    tokens[:, 0] = START_TOKEN
    tokens[:, 1:] = np.take_along_axis(perm, offset, axis=1)  # [batch, n_ctx - 1]
    # column i predicts token i+1, a repeat once i+1 > L
    column = np.arange(n_ctx - 1)[None, :]  # [1, n_ctx - 1]
    repeat = column >= lengths[:, None]  # [batch, n_ctx - 1]
    return Batch(tokens, ~repeat, repeat, lengths)


def markov_batch(tokens: np.ndarray) -> Batch:
    """A batch of in-context Markov chain sequences (no start token: position 0 is a state too).

    The "first" columns are those whose current state has not yet been a
    current state earlier in the sequence: no transition out of it has been
    seen, so counting cannot help; the "repeat" columns are the others, where
    a statistical induction head finds what followed the current state before.
    ``block_lengths`` has no meaning here and is 0.

    Parameters
    ----------
    tokens
        [batch, T] int64 states (token id = state).
    """
    n_batch, n_pos = tokens.shape
    current = tokens[:, :-1]  # [batch, T - 1]: the state each loss column predicts from
    states = np.arange(int(current.max(initial=0)) + 1)  # [k]
    # [batch, k]: where each state is first current (argmax finds the first True; an absent state is never looked up)
    first = np.argmax(current[:, :, None] == states, axis=1)
    seen = np.arange(n_pos - 1) > np.take_along_axis(first, current, axis=1)  # [batch, T - 1]: seen before
    return Batch(tokens, ~seen, seen, np.zeros(n_batch, dtype=np.int64))


def make_batch(config: TrainConfig, rng: np.random.Generator) -> Batch:
    """A batch of ``config.dataset`` sequences drawn from ``rng``.

    ``random-blocks``: L uniform in [min_block, max_block] per sequence.
    ``fixed-period``: L = ``config.period`` (default n_ctx // 2) for every
    sequence, "the first half repeated": the counter-example.
    ``markov-chains``: a fresh random chain per sequence (:func:`~.markov.sample_chains`).
    """
    if config.dataset == "markov-chains":
        return markov_batch(sample_chains(config.markov_task, config.batch_size, rng).tokens)
    if config.dataset == "fixed-period":
        lengths = np.full(config.batch_size, config.effective_period, dtype=np.int64)  # [batch]
    else:
        lengths = rng.integers(config.min_block, config.max_block + 1, size=config.batch_size)  # [batch]
    return tiled_blocks(lengths, config.n_ctx, config.d_vocab, rng)


def induction_targets(tokens: np.ndarray) -> np.ndarray:
    """The induction detection pattern of every sequence, as a boolean mask.

    ``D[b, i, j]`` iff ``1 ≤ j ≤ i`` and ``t_{j-1} == t_i`` with ``j − 1 < i``,
    exactly :func:`induction_gui.engine.metrics.induction_pattern` per row.

    Parameters
    ----------
    tokens
        [batch, pos] int.

    Returns
    -------
    np.ndarray
        [batch, query_pos, key_pos] bool; column 0 is False.
    """
    n_batch, n_pos = tokens.shape
    # a narrow copy compares several times faster than int64 ids
    t = tokens.astype(np.int16 if tokens.max(initial=0) < 2**15 else np.int64)  # [batch, pos]
    out = np.zeros((n_batch, n_pos, n_pos), dtype=bool)  # [batch, query_pos, key_pos]
    strictly_lower = np.tri(n_pos, n_pos - 1, k=-1, dtype=bool)  # [query_pos, key_pos - 1]: j - 1 < i
    np.equal(t[:, :, None], t[:, None, :-1], out=out[:, :, 1:])  # [batch, query_pos, key_pos - 1]
    out[:, :, 1:] &= strictly_lower
    return out


def batch_detector_scores(
    patterns: list[np.ndarray], induction: np.ndarray | None = None, *, tokens: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Prefix-matching and previous-token scores of every head, averaged over the batch.

    The same numbers as :func:`induction_gui.engine.metrics.detect_head_from_patterns`
    with ``"induction_head", exclude_bos=True`` (PREFIX_MATCHING_VARIANT) and
    ``"previous_token_head"`` (PREVIOUS_TOKEN_VARIANT), but from the training
    step's own patterns, with no Python loop over sequences, no float64 copy
    of the patterns and no second forward pass: a training step can afford it.

    Parameters
    ----------
    patterns
        per layer [batch, head_index, query_pos, key_pos]
    induction
        [batch, query_pos, key_pos] bool from :func:`induction_targets`; or None, and then
    tokens
        [batch, pos] ids of a small vocabulary (a Markov run's k states): the
        prefix-matching mass is read from A · onehot(previous token), [pos, k]
        per sequence, instead of a [pos, pos] mask (the same sum: A is exactly
        0 above the diagonal, where the mask is too), several times faster.

    Returns
    -------
    prefix_matching, previous_token
        [n_layers, n_heads] float64 each.
    """
    n_batch, n_heads, n_pos = patterns[0].shape[:3]
    numerator = _mask_numerator(induction) if induction is not None else _onehot_numerator(tokens)
    prefix, previous = [], []
    for a in patterns:
        flat = a.reshape(n_batch, n_heads, n_pos * n_pos)  # [batch, head_index, q·k]
        total = flat.sum(axis=-1).astype(np.float64)  # [batch, head_index]: Σ A (≈ pos, every row sums to 1)
        num = numerator(a)  # [batch, head_index]: attention on the induction targets
        den = total - a[..., :, 0].sum(axis=-1, dtype=np.float64)  # [batch, head_index]: column 0 excluded
        prefix.append(np.divide(num, den, out=np.zeros_like(num), where=den > 1e-12).mean(axis=0))  # [head_index]
        sub = np.diagonal(a, offset=-1, axis1=-2, axis2=-1).sum(axis=-1, dtype=np.float64)  # [batch, head_index]
        previous.append(np.divide(sub, total, out=np.zeros_like(sub), where=total > 1e-12).mean(axis=0))
    return np.stack(prefix), np.stack(previous)  # [layer, head_index] each


def _mask_numerator(induction: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Σ A·D per sequence and head with the mask D [batch, query_pos, key_pos] of :func:`induction_targets`."""
    n_batch, n_pos = induction.shape[:2]
    detect = induction.reshape(n_batch, n_pos * n_pos, 1).astype(np.float32)  # [batch, q·k, 1]

    def numerator(a: np.ndarray) -> np.ndarray:
        flat = a.reshape(n_batch, a.shape[1], n_pos * n_pos)  # [batch, head_index, q·k]
        return np.matmul(flat, detect.astype(a.dtype, copy=False))[..., 0].astype(np.float64)  # [batch, head_index]

    return numerator


def _onehot_numerator(tokens: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
    """Σ_i Σ_{j ≥ 1} A[i, j]·[t_{j-1} = t_i] per sequence and head, through the previous token's one-hot."""
    if tokens is None:
        raise ValueError("batch_detector_scores: give the induction mask or the tokens")
    n_batch, n_pos = tokens.shape
    previous = np.zeros((n_batch, n_pos, int(tokens.max(initial=0)) + 1), dtype=np.float32)  # [batch, key_pos, vocab]
    previous[np.arange(n_batch)[:, None], np.arange(1, n_pos), tokens[:, :-1]] = 1.0  # key j ≥ 1 carries t_{j-1}
    current = np.zeros_like(previous)  # [batch, query_pos, vocab]: the query's own token
    current[np.arange(n_batch)[:, None], np.arange(n_pos), tokens] = 1.0

    def numerator(a: np.ndarray) -> np.ndarray:
        by_token = np.matmul(a, previous[:, None].astype(a.dtype, copy=False))  # [batch, head_index, query_pos, vocab]
        by_token *= current[:, None]  # keep the mass on keys after the query's own token
        return by_token.sum(axis=(-2, -1), dtype=np.float64)  # [batch, head_index]

    return numerator
