"""The reference strategies for in-context Markov chains, and how far a model is from each.

A model trained on :mod:`.markov` sequences passes through three ways of
predicting (Edelman et al., NeurIPS 2024, Figure 1): uniform, then the in-context
unigram frequencies, then the in-context bigram estimate, which is Bayes-optimal
under the Dirichlet prior. Each strategy here is an array of next-state
probabilities [batch, T, k]: entry [b, t] is the prediction made *at* position t
for the state at t + 1, from the context tokens[b, :t+1] only. Computed with
cumulative sums, so one call covers every position of every sequence.

The training curves measure KL(strategy ‖ model) per strategy; the strategy with
the smallest KL names the phase the model is in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

STRATEGIES: tuple[str, ...] = ("uniform", "unigram", "bigram")  # in the order a model passes through them


def _check_tokens(tokens: np.ndarray, k: int) -> np.ndarray:
    """tokens as [batch, T] int64 in 0..k-1, or a ValueError saying what is wrong."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 2 or not np.issubdtype(tokens.dtype, np.integer):
        raise ValueError(f"tokens: expected a [batch, T] integer array, got {tokens.dtype} {list(tokens.shape)}")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= k):
        raise ValueError(f"tokens: states must lie in 0..{k - 1}, got {tokens.min()}..{tokens.max()}")
    return tokens.astype(np.int64, copy=False)


def _check_alpha(alpha: float) -> None:
    if not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha: expected a positive finite number, got {alpha}")


def uniform_strategy(tokens: np.ndarray, k: int) -> np.ndarray:
    """1/k for every state at every position: what a model knows before it reads the context.

    Returns
    -------
    np.ndarray
        [batch, T, k] float64.
    """
    tokens = _check_tokens(tokens, k)
    return np.full((*tokens.shape, k), 1.0 / k)  # [batch, T, k]


def unigram_strategy(tokens: np.ndarray, k: int, alpha: float = 1.0) -> np.ndarray:
    """In-context unigram estimate: P(next = j) = (c_j + α) / (n + kα).

    This is the issue's (c_j + α) / (t + kα) with its t read as **the number of
    tokens seen so far**, n: at 0-based position t the context tokens[:, :t+1]
    holds n = t + 1 tokens, and c_j counts state j among them (the current token
    included). It is the posterior mean of the stationary law under a symmetric
    Dirichlet(α) prior, ignoring which state is current.

    Returns
    -------
    np.ndarray
        [batch, T, k] float64, strictly positive, rows summing to 1.
    """
    tokens = _check_tokens(tokens, k)
    _check_alpha(alpha)
    one_hot = np.eye(k)[tokens]  # [batch, T, k]
    counts = np.cumsum(one_hot, axis=1)  # [batch, T, k]: c_j over tokens[:, :t+1]
    seen = np.arange(1, tokens.shape[1] + 1, dtype=np.float64)  # [T]: n = t + 1
    return (counts + alpha) / (seen[None, :, None] + k * alpha)  # [batch, T, k]


def bigram_counts(tokens: np.ndarray, k: int) -> np.ndarray:
    """Transition counts seen so far, out of the current state, at every position.

    Entry [b, t, j] counts the transitions i → j among tokens[b, :t+1] (pairs
    (s-1, s) with 1 ≤ s ≤ t) where i = tokens[b, t] is the current state. Their sum
    over j is c_i, the number of earlier occurrences of i that have a successor,
    which excludes the current one (its successor is what is being predicted).

    Returns
    -------
    np.ndarray
        [batch, T, k] float64, the counts the bigram view shows beside its bars.
    """
    tokens = _check_tokens(tokens, k)
    batch, length = tokens.shape
    pair = tokens[:, :-1] * k + tokens[:, 1:]  # [batch, T-1]: transition s-1 → s as one index i·k + j
    seen = np.cumsum(np.eye(k * k)[pair], axis=1)  # [batch, T-1, k·k]: transitions with s ≤ t, for t = 1..T-1
    seen = np.concatenate([np.zeros((batch, 1, k * k)), seen], axis=1)  # [batch, T, k·k]: none at t = 0
    seen = seen.reshape(batch, length, k, k)  # [batch, T, i, j]
    current = tokens[:, :, None, None]  # [batch, T, 1, 1]
    return np.take_along_axis(seen, current, axis=2)[:, :, 0, :]  # [batch, T, j]: row i = current state


def bigram_strategy(tokens: np.ndarray, k: int, alpha: float = 1.0) -> np.ndarray:
    """In-context bigram estimate: P(next = j) = (c_{i→j} + α) / (c_i + kα), i the current state.

    The posterior mean of row i of the transition matrix under the Dirichlet(α·1)
    prior, given the transitions seen so far (see :func:`bigram_counts`): the
    paper's Bayes-optimal prediction for the task of :mod:`.markov` (without
    ``no_unigram``), and its cross-entropy the loss floor. Strictly it is optimal
    given the transitions; the first state, drawn from the chain's stationary law,
    carries a little more evidence about the chain, which it ignores as the paper
    does (one token's worth, negligible beside a sequence's transitions).

    Returns
    -------
    np.ndarray
        [batch, T, k] float64, strictly positive, rows summing to 1.
    """
    _check_alpha(alpha)
    counts = bigram_counts(tokens, k)  # [batch, T, k]: c_{i→j}
    out_of_current = counts.sum(axis=-1, keepdims=True)  # [batch, T, 1]: c_i
    return (counts + alpha) / (out_of_current + k * alpha)  # [batch, T, k]


def reference_strategies(tokens: np.ndarray, k: int, alpha: float = 1.0) -> dict[str, np.ndarray]:
    """All three strategies by name (:data:`STRATEGIES`), each [batch, T, k]."""
    return {
        "uniform": uniform_strategy(tokens, k),
        "unigram": unigram_strategy(tokens, k, alpha),
        "bigram": bigram_strategy(tokens, k, alpha),
    }


def kl_to_model(strategy_probs: np.ndarray, model_log_probs: np.ndarray, positions_from: int = 1) -> float:
    """Mean KL(strategy ‖ model) in nats over the batch and the positions t ≥ ``positions_from``.

    Every position of the arrays from ``positions_from`` on counts, the last one too
    (its prediction has no target in the sequence, but it is still a prediction).
    The issue's curves use ``positions_from=1``: at position 0 there is nothing to
    count yet.

    Parameters
    ----------
    strategy_probs
        [batch, T, k] probabilities; zeros are allowed (0 · log 0 = 0), the
        strategies here are strictly positive for α > 0.
    model_log_probs
        [batch, T, k] natural-log probabilities, from a log-softmax of the logits
        (never the log of a softmax, which can reach log 0 = -inf).

    Returns
    -------
    float
        Non-negative; 0 exactly when the model equals the strategy.
    """
    p = np.asarray(strategy_probs, dtype=np.float64)
    log_q = np.asarray(model_log_probs, dtype=np.float64)
    if p.shape != log_q.shape or p.ndim != 3:
        raise ValueError(f"expected two [batch, T, k] arrays of one shape, got {list(p.shape)} and {list(log_q.shape)}")
    if not 0 <= positions_from < p.shape[1]:
        raise ValueError(f"positions_from: expected 0..{p.shape[1] - 1}, got {positions_from}")
    p, log_q = p[:, positions_from:], log_q[:, positions_from:]  # [batch, T', k]
    log_p = np.log(np.where(p > 0, p, 1.0))  # [batch, T', k]: log 1 = 0 where p = 0
    # masked before the product, so 0 · (0 - (-inf)) never forms a NaN: 0 · log 0 counts as 0
    terms = p * np.where(p > 0, log_p - log_q, 0.0)  # [batch, T', k]
    per_position = terms.sum(axis=-1)  # [batch, T']
    # each KL is ≥ 0; rounding can leave -1e-17 when the model equals the strategy
    return float(np.maximum(per_position, 0.0).mean())


def strategy_kls(tokens: np.ndarray, model_log_probs: np.ndarray, k: int, alpha: float = 1.0,
                 positions_from: int = 1) -> dict[str, float]:  # fmt: skip
    """KL(strategy ‖ model) for each of :data:`STRATEGIES`: the issue's kl_uniform, kl_unigram, kl_bigram."""
    strategies = reference_strategies(tokens, k, alpha)
    return {name: kl_to_model(probs, model_log_probs, positions_from) for name, probs in strategies.items()}


def bayes_optimal_loss(tokens: np.ndarray, k: int, alpha: float = 1.0, positions_from: int = 1) -> float:
    """Cross-entropy (nats) of the bigram strategy against the true next states: the loss floor.

    Averaged over the batch and the positions t with ``positions_from`` ≤ t ≤ T - 2,
    those whose next state is in the sequence.
    """
    tokens = _check_tokens(tokens, k)
    if not 0 <= positions_from < tokens.shape[1] - 1:
        raise ValueError(f"positions_from: expected 0..{tokens.shape[1] - 2}, got {positions_from}")
    probs = bigram_strategy(tokens, k, alpha)[:, positions_from:-1]  # [batch, T', k]: t = positions_from..T-2
    targets = tokens[:, positions_from + 1 :, None]  # [batch, T', 1]: the state at t + 1
    return float(-np.log(np.take_along_axis(probs, targets, axis=-1)).mean())


def nearest_strategy(kls: Mapping[str, float]) -> str:
    """The name with the smallest KL: the phase a model is in (ties go to the earlier name).

    NaN values (a curve not measured yet) are passed over; raises ValueError when
    no value is a number.
    """
    finite = [(value, name) for name, value in kls.items() if not math.isnan(value)]
    if not finite:
        raise ValueError(f"nearest_strategy: no measured KL among {sorted(kls)}")
    return min(finite, key=lambda pair: pair[0])[1]
