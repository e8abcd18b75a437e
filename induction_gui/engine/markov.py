"""In-context Markov chains: the task behind statistical induction heads.

Every sequence comes from its *own* random Markov chain (Edelman et al., "The
Evolution of Statistical Induction Heads", NeurIPS 2024), so no fixed table of
next-token statistics helps across sequences: a model predicts well only by
counting, in the context, what followed the current state before. The reference
estimators a model is compared with live in :mod:`.markov_strategies`.

How one sequence is drawn:

- a k x k transition matrix whose rows are independent Dirichlet(α·1) draws (or,
  with ``no_unigram``, a doubly-stochastic matrix, see
  :func:`sample_doubly_stochastic`);
- the first state from that matrix's **stationary distribution** (not uniform), so
  that every position of the sequence has the same marginal law and the unigram
  counts estimate the stationary distribution from the first token on;
- the remaining T - 1 states by the chain.

Token id = state (``d_vocab = k``, no start token), so anyone can feed a trained
model their own chains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_STATES = 2
MAX_STATES = 8  # a k x k heatmap and k bars stay readable on a projector up to here


class MarkovTaskError(ValueError):
    """A Markov task setting is out of range; the message starts with the field's name."""


@dataclass(frozen=True)
class MarkovTask:
    """The distribution of training sequences: how many states, how long, how random the chains."""

    k: int = 3  # number of states, 2-8; also the vocabulary size (token id = state)
    T: int = 100  # tokens per sequence
    alpha: float = 1.0  # Dirichlet concentration of each transition row (and the estimators' prior)
    no_unigram: bool = False  # doubly-stochastic chains: uniform stationary law, so unigram counts carry no signal

    def validate(self) -> None:
        """Check every field; raise :class:`MarkovTaskError` naming the first bad one."""
        for name in ("k", "T"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise MarkovTaskError(f"{name}: expected an integer, got {value!r}")
        if not MIN_STATES <= self.k <= MAX_STATES:
            raise MarkovTaskError(f"k: expected {MIN_STATES} to {MAX_STATES} states, got {self.k}")
        if self.T < 2:
            raise MarkovTaskError(f"T: expected ≥ 2 (at least one transition per sequence), got {self.T}")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, int | float | np.integer | np.floating):
            raise MarkovTaskError(f"alpha: expected a number, got {self.alpha!r}")
        if not (math.isfinite(self.alpha) and self.alpha > 0):
            raise MarkovTaskError(f"alpha: expected a positive finite number, got {self.alpha}")
        if not isinstance(self.no_unigram, bool | np.bool_):
            raise MarkovTaskError(f"no_unigram: expected True or False, got {self.no_unigram!r}")


@dataclass(frozen=True)
class MarkovBatch:
    """Sequences and the chains that made them."""

    tokens: np.ndarray  # [batch, T] int64, token id = state in 0..k-1
    transitions: np.ndarray  # [batch, k, k] float64, transitions[b, i, j] = P(next = j | current = i)


def _generator(rng: np.random.Generator | int) -> np.random.Generator:
    """A generator from a seed, or the caller's own generator (which then advances)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def sample_dirichlet_rows(k: int, alpha: float, batch: int, rng: np.random.Generator) -> np.ndarray:
    """Transition matrices with independent Dirichlet(α·1) rows, the paper's prior.

    Returns
    -------
    np.ndarray
        [batch, k, k]; every row sums to 1.
    """
    # [batch, k, k]: NumPy's sampler stays finite for small α (it switches to a beta construction there)
    return rng.dirichlet(np.full(k, float(alpha)), size=(batch, k))


def sample_doubly_stochastic(k: int, alpha: float, batch: int, rng: np.random.Generator) -> np.ndarray:
    """Doubly-stochastic transition matrices: a Dirichlet mixture of k permutation matrices.

    By Birkhoff–von Neumann, any convex mixture of permutation matrices is doubly
    stochastic (rows *and* columns sum to 1), hence its stationary distribution is
    uniform: the unigram counts of a long sequence tell nothing. The k permutations
    are chosen to form a random Latin square, σ_m(i) = π((ρ(i) + m) mod k) for
    m = 0..k-1 with π, ρ uniform random permutations, and mixed with weights
    w ~ Dirichlet(α·1). Because for each row i the σ_m(i) run through all k states
    once, every row is a relabelling of w, so **each row is marginally
    Dirichlet(α·1) exactly as in the ordinary task**; only the rows' joint law
    differs (they are permutations of one another, the price of fixed column sums).
    The in-context bigram estimate is then no longer exactly Bayes-optimal (it
    ignores that coupling) but stays the paper's reference.

    Returns
    -------
    np.ndarray
        [batch, k, k]; every row and every column sums to 1.
    """
    weights = rng.dirichlet(np.full(k, float(alpha)), size=batch)  # [batch, m]
    pi = rng.permuted(np.broadcast_to(np.arange(k), (batch, k)), axis=1)  # [batch, k] relabels columns
    rho = rng.permuted(np.broadcast_to(np.arange(k), (batch, k)), axis=1)  # [batch, k] relabels rows
    m = np.arange(k)
    shifted = (rho[:, :, None] + m[None, None, :]) % k  # [batch, i, m]: the Latin square before relabelling
    cols = np.take_along_axis(pi[:, None, :], shifted, axis=2)  # [batch, i, m] = σ_m(i)
    matrices = np.zeros((batch, k, k))
    b = np.arange(batch)[:, None, None]  # [batch, 1, 1]
    i = np.arange(k)[None, :, None]  # [1, i, 1]
    # [batch, i, j]: each (i, m) hits a distinct column j = σ_m(i), so plain assignment suffices
    matrices[b, i, cols] = np.broadcast_to(weights[:, None, :], (batch, k, k))
    return matrices


def stationary_distribution(transitions: np.ndarray) -> np.ndarray:
    """The stationary distribution π (π P = π, Σ π = 1) of each transition matrix.

    Taken as the left eigenvector of P for the eigenvalue closest to 1, the
    Perron vector: with positive entries (Dirichlet rows with α > 0) it is unique
    and of one sign. Solving the linear system instead would break on a reducible
    chain (a hand-written one, or a row whose mass underflowed to 0 for tiny α),
    where eigenvalue 1 is repeated; there the eigenvector may mix the closed
    classes' laws with opposite signs, and since those laws have disjoint supports
    its absolute value is still a stationary law. Taking the absolute value also
    fixes the eigenvector's arbitrary sign in the usual case.

    Parameters
    ----------
    transitions
        [..., k, k], rows summing to 1.

    Returns
    -------
    np.ndarray
        [..., k] float64, non-negative, summing to 1.
    """
    transitions = np.asarray(transitions, dtype=np.float64)
    values, vectors = np.linalg.eig(np.swapaxes(transitions, -1, -2))  # [..., k], [..., k, k] right vectors of P^T
    nearest = np.argmin(np.abs(values - 1.0), axis=-1)  # [...]
    # [..., k]: the column of `vectors` for that eigenvalue
    vector = np.take_along_axis(vectors, nearest[..., None, None], axis=-1)[..., 0].real
    vector = np.abs(vector)  # [..., k]
    return vector / vector.sum(axis=-1, keepdims=True)  # [..., k]


def _draw(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draws: the first index whose cumulative probability exceeds u.

    cdf [batch, k], u [batch]; returns [batch] int64. The count is capped at k - 1
    because a cumulative sum may end at 1 - 1e-16 < u.
    """
    return np.minimum((u[:, None] >= cdf).sum(axis=1), cdf.shape[1] - 1).astype(np.int64)


def sample_sequences(transitions: np.ndarray, T: int, rng: np.random.Generator | int) -> np.ndarray:
    """One sequence of length T from each given chain, its first state from the stationary law.

    Apart from :func:`sample_chains` so that a chain someone wrote by hand (the
    sequence panel's editable matrix) makes sequences exactly as the training data.

    Parameters
    ----------
    transitions
        [batch, k, k], rows summing to 1.
    T
        Tokens per sequence (≥ 1).
    rng
        A seed or a generator (which advances).

    Returns
    -------
    np.ndarray
        tokens [batch, T] int64, token id = state.
    """
    transitions = np.asarray(transitions, dtype=np.float64)
    if transitions.ndim != 3 or transitions.shape[1] != transitions.shape[2]:
        raise ValueError(f"transitions: expected [batch, k, k], got {list(transitions.shape)}")
    # a hand-written chain may be off; the inverse-CDF draw would silently favour the last state
    if not ((transitions >= 0).all() and np.allclose(transitions.sum(axis=-1), 1.0, atol=1e-9)):
        raise ValueError("transitions: every row must be non-negative and sum to 1")
    if isinstance(T, bool) or not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T: expected an integer ≥ 1, got {T!r}")
    rng = _generator(rng)
    batch = transitions.shape[0]
    first_cdf = np.cumsum(stationary_distribution(transitions), axis=-1)  # [batch, k]
    row_cdf = np.cumsum(transitions, axis=-1)  # [batch, k, k]: cumulative over the next state
    u = rng.random((batch, T))  # [batch, T]: all uniforms drawn at once, so the stream is fixed by the seed
    tokens = np.empty((batch, T), dtype=np.int64)  # [batch, T]
    tokens[:, 0] = _draw(first_cdf, u[:, 0])
    if T > 1:
        tokens[:, 1:] = _walk(tokens[:, 0], _step_maps(row_cdf, u[:, 1:]))
    return tokens


def _step_maps(row_cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Where each position's uniform sends every state: ``maps[b, t, i]`` is the next state after state i.

    The same inverse-CDF rule as :func:`_draw` (the count of cumulative
    probabilities ≤ u, capped at k - 1), for every current state at once.

    Parameters
    ----------
    row_cdf
        [batch, k, k], cumulative over the next state.
    u
        [batch, steps] uniforms, one per step.

    Returns
    -------
    np.ndarray
        [batch, steps, k] intp.
    """
    k = row_cdf.shape[-1]
    cdf = row_cdf[:, None, :, :]  # [batch, 1, k (current), k (next)]
    below = u[:, :, None]  # [batch, steps, 1]
    maps = np.zeros((*u.shape, k), dtype=np.intp)  # [batch, steps, k]
    # one comparison per next state over [batch, steps, k]; the last column (≈ 1) only ever adds the capped count
    for j in range(k - 1):
        maps += below >= cdf[..., j]
    return maps


def _walk(start: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """The states a chain visits from ``start`` when step t sends state i to ``maps[:, t, i]``.

    A chain is sequential, but its steps are maps on k states, and maps compose:
    the state after step t is (f_t ∘ … ∘ f_0)(start). The prefix compositions
    come from a Hillis–Steele scan, log2(steps) vectorised rounds instead of a
    Python loop over the positions (that loop was a tenth of a training step).
    The draws are exactly those of stepping one position at a time.

    Parameters
    ----------
    start
        [batch] int, the first state.
    maps
        [batch, steps, k] intp; overwritten with the prefix compositions.

    Returns
    -------
    np.ndarray
        [batch, steps] intp: the state after each step.
    """
    n_batch, steps, k = maps.shape
    rows = (np.arange(n_batch * steps, dtype=np.intp) * k).reshape(n_batch, steps, 1)  # [batch, steps, 1]: flat offsets
    span = 1  # maps[:, t] is f_t ∘ … ∘ f_max(0, t - span + 1)
    while span < steps:
        # the window ending at t after the one ending at t - span: the right side is read whole before it is written
        maps[:, span:] = np.take(maps, rows[:, span:] + maps[:, :-span])  # [batch, steps - span, k]
        span *= 2
    return np.take(maps, rows[..., 0] + start[:, None])  # [batch, steps]


def sample_chains(task: MarkovTask, batch: int, rng: np.random.Generator | int) -> MarkovBatch:
    """Draw ``batch`` chains from the task's prior and one sequence from each.

    Parameters
    ----------
    task
        The task; validated here.
    batch
        Number of sequences (≥ 1).
    rng
        A seed (same seed, same batch) or a generator, which advances, so a trainer
        drawing batch after batch from one generator gets a reproducible stream.

    Returns
    -------
    MarkovBatch
        tokens [batch, T] int64 and transitions [batch, k, k].
    """
    task.validate()
    if isinstance(batch, bool) or not isinstance(batch, int | np.integer) or batch < 1:
        raise MarkovTaskError(f"batch: expected an integer ≥ 1, got {batch!r}")
    rng = _generator(rng)
    sampler = sample_doubly_stochastic if task.no_unigram else sample_dirichlet_rows
    transitions = sampler(task.k, task.alpha, batch, rng)  # [batch, k, k]
    return MarkovBatch(tokens=sample_sequences(transitions, task.T, rng), transitions=transitions)
