"""Detection patterns: where a previous-token, duplicate-token or induction head should attend.

Each is a lower-triangular [query_pos, key_pos] mask built from the tokens
alone, as TransformerLens' ``head_detector`` builds them; the detectors in
:mod:`.detectors` score real attention patterns against them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np



HeadName = Literal["previous_token_head", "duplicate_token_head", "induction_head"]
ErrorMeasure = Literal["mul", "abs"]
HEAD_NAMES: tuple[str, ...] = ("previous_token_head", "duplicate_token_head", "induction_head")
ERROR_MEASURES: tuple[str, ...] = ("mul", "abs")

# The variant every "induction score" in this module means, printed beside the number.
PREFIX_MATCHING_VARIANT = "induction_head detector, mul, exclude_bos=True, exclude_current_token=False"
PREVIOUS_TOKEN_VARIANT = "previous_token_head detector, mul, exclude_bos=False, exclude_current_token=False"


# -- detection patterns ---------------------------------------------------------------


def one_sequence(tokens: object) -> np.ndarray:
    """Token ids as an int64 [pos] array (a [1, pos] array is accepted too)."""
    arr = np.asarray(tokens)
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1:
        raise ValueError(f"tokens: expected one sequence of shape [pos], got shape {list(arr.shape)}")
    return arr.astype(np.int64, copy=False)


def previous_token_pattern(tokens: object) -> np.ndarray:
    """Detection pattern of a previous-token head: ``D[i, i-1] = 1`` for i ≥ 1.

    Parameters
    ----------
    tokens
        [pos] token ids (only the length is used).

    Returns
    -------
    np.ndarray
        [query_pos, key_pos] float64, lower-triangular.
    """
    n_pos = one_sequence(tokens).shape[0]
    return np.eye(n_pos, k=-1)  # [query_pos, key_pos]


def duplicate_token_pattern(tokens: object) -> np.ndarray:
    """Detection pattern of a duplicate-token head: ``D[i, j] = 1`` iff ``t_j == t_i`` and ``j < i``.

    A token is always equal to itself; the diagonal is left out so that a head
    attending to the current token does not count as a duplicate-token head.

    Returns
    -------
    np.ndarray
        [query_pos, key_pos] float64, strictly lower-triangular.
    """
    t = one_sequence(tokens)
    same = t[:, None] == t[None, :]  # [query_pos, key_pos]
    same &= _strictly_lower(t.shape[0])
    return same.astype(np.float64)


def _strictly_lower(n_pos: int) -> np.ndarray:
    """[query_pos, key_pos] boolean mask of j < i."""
    return np.arange(n_pos)[None, :] < np.arange(n_pos)[:, None]


def induction_pattern(tokens: object) -> np.ndarray:
    """Detection pattern of an induction (prefix-matching) head.

    ``D[i, j] = 1`` iff ``1 ≤ j ≤ i`` and ``t_{j-1} == t_i`` with ``j − 1 < i``:
    the query attends to the token right after an earlier occurrence of itself.
    This is the duplicate-token pattern shifted one key to the right.

    Returns
    -------
    np.ndarray
        [query_pos, key_pos] float64, lower-triangular; column 0 is zero.
    """
    t = one_sequence(tokens)
    n_pos = t.shape[0]
    out = np.zeros((n_pos, n_pos))  # [query_pos, key_pos]
    # key j (≥ 1) gets the verdict of key j − 1: t_{j-1} == t_i and j − 1 < i
    out[:, 1:] = (t[:, None] == t[None, :-1]) & _strictly_lower(n_pos)[:, :-1]
    return out


_PATTERN_BUILDERS = {
    "previous_token_head": previous_token_pattern,
    "duplicate_token_head": duplicate_token_pattern,
    "induction_head": induction_pattern,
}


def detection_pattern(pattern: str | np.ndarray, tokens: object) -> np.ndarray:
    """The [pos, pos] detection pattern for a head name, or a validated custom one.

    Raises
    ------
    ValueError
        for an unknown name, or a custom array that is not [pos, pos], not finite
        or has a non-zero entry above the diagonal (keys a causal head cannot see).
    """
    t = one_sequence(tokens)
    n_pos = t.shape[0]
    if isinstance(pattern, str):
        if pattern not in _PATTERN_BUILDERS:
            raise ValueError(f"pattern: expected one of {HEAD_NAMES} or a [pos, pos] array, got {pattern!r}")
        return _PATTERN_BUILDERS[pattern](t)
    d = np.asarray(pattern, dtype=np.float64)
    if d.shape != (n_pos, n_pos):
        raise ValueError(
            f"pattern: a custom detection pattern must have shape [pos, pos] = [{n_pos}, {n_pos}] "
            f"for this {n_pos}-token sequence, got {list(d.shape)}"
        )
    if not np.isfinite(d).all():
        raise ValueError("pattern: the custom detection pattern contains NaN or inf")
    upper = np.argwhere(np.triu(d, k=1) != 0)
    if upper.size:
        i, j = upper[0]
        raise ValueError(
            f"pattern: the custom detection pattern must be lower-triangular (a query cannot attend to later "
            f"keys), but entry [{i}, {j}] = {d[i, j]:g} lies above the diagonal ({len(upper)} such entries)"
        )
    return d
