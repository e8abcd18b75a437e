"""The k largest logits per position, without sorting a whole vocabulary."""

from __future__ import annotations

import numpy as np

from . import budget

SORT_BELOW = 4096  # a vocabulary this small is argsorted whole (the lecture's case)


def top_k_tokens(logits: np.ndarray, k: int) -> np.ndarray:
    """[pos, k] token ids of the k largest logits per position, largest first; ties: the lower id first.

    A large vocabulary is partitioned instead of sorted, in row blocks within
    the memory budget: the k-th largest value bounds the candidates, and only
    those are ordered, so the result equals a stable argsort's first k columns
    at O(d_vocab) per row.

    Parameters
    ----------
    logits
        [pos, d_vocab]
    """
    x = np.asarray(logits)
    n_pos, d_vocab = x.shape
    k = min(int(k), d_vocab)
    if d_vocab <= SORT_BELOW:
        return np.argsort(-x.astype(np.float64), axis=-1, kind="stable")[:, :k]  # [pos, k]
    out = np.empty((n_pos, k), dtype=np.int64)  # [pos, k]
    step = budget.rows_per_chunk((d_vocab,), np.float64, budget.TEMPORARY_BYTES // 8)
    for start in range(0, n_pos, step):
        rows = slice(start, min(start + step, n_pos))
        c = x[rows].astype(np.float64)  # [chunk, d_vocab]; float64 so -x never rounds two values together
        kth = -np.partition(-c, k - 1, axis=-1)[:, k - 1 : k]  # [chunk, 1] the k-th largest value
        above = c >= kth  # [chunk, d_vocab] the candidates: exactly k unless values tie at the k-th
        exact = above.sum(axis=-1) == k  # [chunk]
        if exact.any():
            ids = np.nonzero(above[exact])[1].reshape(-1, k)  # [rows, k] ascending ids
            order = np.argsort(-np.take_along_axis(c[exact], ids, axis=-1), axis=-1, kind="stable")
            out[rows][exact] = np.take_along_axis(ids, order, axis=-1)  # ties keep the lower id first
        for i in np.flatnonzero(~exact):  # a tie at the k-th value: order the candidates of this row alone
            candidates = np.flatnonzero(above[i])  # [> k] ascending ids
            order = np.argsort(-c[i, candidates], kind="stable")
            out[start + i] = candidates[order[:k]]
    return out
