"""The learner's own Markov chain: a k x k transition matrix saved with the scenario.

The "Markov chain" sequence generator draws from a chain the learner edits, so
that a statistical induction head can be shown counting transitions of a chain
the learner made. The matrix is a view setting of the scenario
(``view.markov_chain``, a list of k rows of k numbers), so it is saved with the
file and every change of it is one undo step; a file without it reads as
:func:`default_chain`.

A learner types *weights*, not probabilities: any number ≥ 0 in a cell, and the
row is divided by its sum (:func:`with_cell`). That way a row can be written
as "3 1 0" without arithmetic, and a row can never stop summing to 1. Negative,
non-finite and all-zero rows are refused with a sentence naming the row.

State j is the j-th token id that is not the start token (with a start token
at id 0 that is id j + 1), the same ids the other generators draw from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..engine.markov import MAX_STATES, MIN_STATES, sample_dirichlet_rows
from .errors import ScenarioError

VIEW_KEY = "markov_chain"  # the view setting that holds the matrix
DEFAULT_STATES = 3
_STAY = 0.4  # the default chain: this much spread evenly over every state, the rest to the next state

Chain = list[list[float]]  # [k][k], rows = current state, columns = next state; rows sum to 1


class ChainError(ValueError):
    """A transition matrix the generator cannot use; the message starts with the row it concerns."""


def default_chain(k: int = DEFAULT_STATES) -> Chain:
    """A chain worth showing first: mostly on to the next state (cyclically), sometimes anywhere.

    Every entry is positive, so the chain is irreducible and its stationary law
    (uniform here) is unique.
    """
    matrix = np.full((k, k), _STAY / k)  # [k, k]
    matrix[np.arange(k), (np.arange(k) + 1) % k] += 1.0 - _STAY
    return as_chain(matrix)


def as_chain(matrix: object) -> Chain:
    """A matrix as the nested list of Python floats the scenario file stores (a fresh copy)."""
    return [[float(x) for x in row] for row in np.asarray(matrix, dtype=np.float64)]


def normalized_rows(matrix: object) -> Chain:
    """Each row divided by its sum.

    Raises
    ------
    ChainError
        ``row i: ...`` for the first row with a negative or non-finite weight,
        or whose weights are all zero (there would be no next state); or for a
        matrix that is not square with 2 to 8 states.
    """
    arr = np.asarray(matrix, dtype=np.float64)  # [k, k]
    check_shape(arr.shape)
    return [_normalized_row(row, i) for i, row in enumerate(arr)]


def _normalized_row(row: np.ndarray, i: int) -> list[float]:
    """Row ``i``'s weights [k] divided by their sum, or :class:`ChainError` naming the row."""
    if not np.isfinite(row).all():
        raise ChainError(f"row {i}: every weight must be a finite number")
    if (row < 0).any():
        raise ChainError(f"row {i}: weights must not be negative (got {row.min():g})")
    total = row.sum()
    if not math.isfinite(total):
        raise ChainError(f"row {i}: the weights are too large to add up")
    if total <= 0:
        raise ChainError(f"row {i}: the weights are all zero, so this state has no next state")
    return [float(x) for x in row / total]


def check_shape(shape: Sequence[int]) -> None:
    """Raise :class:`ChainError` unless ``shape`` is (k, k) with 2 ≤ k ≤ 8."""
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ChainError(f"matrix: expected k rows of k numbers, got shape {list(shape)}")
    if not MIN_STATES <= shape[0] <= MAX_STATES:
        raise ChainError(f"matrix: expected {MIN_STATES} to {MAX_STATES} states, got {shape[0]}")


def check_chain(matrix: object) -> Chain:
    """The chain as stored (a fresh copy) if every row is a probability distribution; else :class:`ChainError`."""
    normalized_rows(matrix)  # shape, signs, finiteness, no empty row
    arr = np.asarray(matrix, dtype=np.float64)  # [k, k]
    off = np.abs(arr.sum(axis=1) - 1.0) > 1e-9  # [k]
    if off.any():
        i = int(np.argmax(off))
        raise ChainError(f"row {i}: the probabilities sum to {arr[i].sum():.12g}, not 1")
    return as_chain(arr)


def with_cell(chain: Chain, row: int, col: int, weight: float) -> Chain:
    """``chain`` with cell (row, col) set to ``weight`` and that row divided by its sum; other rows unchanged.

    Raises
    ------
    ChainError
        naming the row, if the new weight makes it negative, non-finite or all zero.
    """
    result = as_chain(chain)
    new_row = np.array(result[row], dtype=np.float64)  # [k]
    new_row[col] = weight
    result[row] = _normalized_row(new_row, row)
    return result


def resized(chain: Chain, k: int) -> Chain:
    """The chain on k states: the common top-left block kept, new cells from :func:`default_chain`, rows renormalized.

    A row whose mass lay only on dropped states becomes the default chain's row.
    """
    check_shape((k, k))
    old = np.asarray(chain, dtype=np.float64)  # [k_old, k_old]
    if old.shape == (k, k):
        return as_chain(old)
    new = np.array(default_chain(k))  # [k, k]
    m = min(k, old.shape[0])
    block = old[:m, :m]  # [m, m]
    keep = block.sum(axis=1) > 0  # [m]: rows with mass left on the kept states
    new[:m][keep, :m] = block[keep]
    if k > m:  # old rows keep the default's small weight on the new states
        new[:m][keep, m:] = _STAY / k
    return as_chain(new / new.sum(axis=1, keepdims=True))


def stored_chain(view: dict[str, object]) -> Chain:
    """The scenario's chain, or the default chain when the file has none."""
    value = view.get(VIEW_KEY)
    return default_chain() if value is None else as_chain(value)


def chain_for(view: dict[str, object], k: int) -> Chain:
    """The chain on k states the generator and the editor use: the stored one resized to k, else the default."""
    return default_chain(k) if view.get(VIEW_KEY) is None else resized(stored_chain(view), k)


def random_chain(k: int, alpha: float, seed: int) -> Chain:
    """A chain with independent Dirichlet(α·1) rows, the prior the training chains are drawn from."""
    if not (math.isfinite(alpha) and alpha > 0):
        raise ChainError(f"alpha: expected a positive number, got {alpha}")
    check_shape((k, k))
    return as_chain(sample_dirichlet_rows(k, alpha, 1, np.random.default_rng(seed))[0])  # [k, k]


def check_view_chain(value: object) -> None:
    """The file check of ``view.markov_chain``: k rows of k numbers, each row a probability distribution."""
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise ScenarioError(f"view.{VIEW_KEY}", "expected a list of rows, each a list of numbers")
    for i, row in enumerate(value):
        for j, x in enumerate(row):
            if isinstance(x, bool) or not isinstance(x, int | float):
                raise ScenarioError(f"view.{VIEW_KEY}[{i}][{j}]", f"expected a number, got {x!r}")
    if any(len(row) != len(value) for row in value):
        raise ScenarioError(f"view.{VIEW_KEY}", "expected k rows of k numbers (a square matrix)")
    try:
        check_chain(value)
    except ChainError as exc:
        raise ScenarioError(f"view.{VIEW_KEY}", str(exc)) from None


def state_names(vocab: Sequence[str], bos: int | None, k: int) -> list[str]:
    """The tokens states 0..k-1 stand for: the first k vocabulary entries that are not the start token."""
    names = [word for i, word in enumerate(vocab) if i != bos]
    return names[:k]


def stored_size(view: dict[str, object]) -> int:
    """How many states the scenario's chain has (the default chain's when the file has none)."""
    return len(stored_chain(view))
