"""One layer of multi-head causal attention, with the lecture's per-head experiments.

The default path is exactly TransformerLens' ``Attention.forward`` for an
attention-only model: ``scores = q·k / attn_scale``, causal mask, softmax.
A :class:`HeadOverride` replaces one head's behaviour the way the lecture does
by hand: a fixed pattern instead of q·k, linear normalisation instead of
softmax, keys shifted against queries, a temperature, or an ablated output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np

Normalization = Literal["softmax", "linear"]
Ablation = Literal["zero", "mean"]
NORMALIZATIONS: tuple[str, ...] = ("softmax", "linear")
ABLATIONS: tuple[str, ...] = ("zero", "mean")


@dataclass(frozen=True)
class HeadOverride:
    """How one head departs from plain softmax attention.

    Attributes
    ----------
    normalization
        ``"softmax"`` (TransformerLens) or ``"linear"``: ``P / (P.sum(-1) + eps)``
        over the causally masked scores, as in the lecture's demo.
    eps
        The linear normaliser's guard; the lecture uses 1e-8, which is why its
        rows read 0.99999999 rather than 1.
    fixed_pattern
        [n, n] scores used instead of q·k (n ≥ the sequence length; the top-left
        [pos, pos] block is used). A shift matrix makes a previous-token head.
    key_shift
        s ≥ 0: query i is compared with the key computed at position j − s and
        keys j < s are masked. With s = 1 a head that matches equal tokens
        attends to the token *after* an earlier occurrence: induction by hand.
    score_scale
        Multiplies the scores (inverse temperature); 0 gives uniform attention.
    ablation
        ``None``, ``"zero"`` (z := 0) or ``"mean"`` (z := its mean over batch
        and positions). The pattern is still computed and cached.
    """

    normalization: Normalization = "softmax"
    eps: float = 1e-8
    fixed_pattern: np.ndarray | None = field(default=None, compare=False)
    key_shift: int = 0
    score_scale: float = 1.0
    ablation: Ablation | None = None

    def __post_init__(self) -> None:
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization: expected one of {NORMALIZATIONS}, got {self.normalization!r}")
        if self.ablation is not None and self.ablation not in ABLATIONS:
            raise ValueError(f"ablation: expected None or one of {ABLATIONS}, got {self.ablation!r}")
        if not isinstance(self.key_shift, int | np.integer) or self.key_shift < 0:
            raise ValueError(f"key_shift: expected an integer ≥ 0, got {self.key_shift!r}")
        if not np.isfinite(self.score_scale):
            raise ValueError(f"score_scale: expected a finite number, got {self.score_scale!r}")
        if not (np.isfinite(self.eps) and self.eps >= 0):
            raise ValueError(f"eps: expected a finite number ≥ 0, got {self.eps!r}")
        if self.fixed_pattern is not None:
            p = np.asarray(self.fixed_pattern, dtype=np.float64)
            if p.ndim != 2 or p.shape[0] != p.shape[1]:
                raise ValueError(f"fixed_pattern: expected a square [n, n] array, got shape {list(p.shape)}")
            if not np.isfinite(p).all():
                raise ValueError("fixed_pattern: contains NaN or inf")
            object.__setattr__(self, "fixed_pattern", p)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HeadOverride):
            return NotImplemented
        same_pattern = (self.fixed_pattern is None and other.fixed_pattern is None) or (
            self.fixed_pattern is not None
            and other.fixed_pattern is not None
            and np.array_equal(self.fixed_pattern, other.fixed_pattern)
        )
        return same_pattern and (
            self.normalization,
            self.eps,
            self.key_shift,
            self.score_scale,
            self.ablation,
        ) == (other.normalization, other.eps, other.key_shift, other.score_scale, other.ablation)

    __hash__ = None  # type: ignore[assignment]

    @property
    def is_default(self) -> bool:
        """True when this override changes nothing."""
        return self == HeadOverride()

    @property
    def changes_pattern(self) -> bool:
        """True when the pattern differs from plain softmax(q·k / scale)."""
        return (
            self.normalization != "softmax"
            or self.fixed_pattern is not None
            or self.key_shift != 0
            or self.score_scale != 1.0
        )


def shift_matrix(n: int, offset: int = 1) -> np.ndarray:
    """[n, n] matrix with ones at (i, i − offset): the lecture's previous-token pattern."""
    # [query_pos, key_pos]
    return np.eye(n, k=-offset)


@lru_cache(maxsize=64)
def causal_mask(n_pos: int, dtype_str: str) -> np.ndarray:
    """[query_pos, key_pos] additive mask: 0 on and below the diagonal, −inf above.

    Cached because it is the same for every call with the same length; returned
    read-only so that a caller cannot corrupt the cache.
    """
    mask = np.triu(np.full((n_pos, n_pos), -np.inf, dtype=dtype_str), k=1)
    mask.flags.writeable = False
    return mask


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Max-subtracted softmax over the last axis; rows that are all −inf become all zero."""
    row_max = scores.max(axis=-1, keepdims=True)
    # a fully masked row has max −inf; subtracting it would give NaN
    np.copyto(row_max, 0.0, where=~np.isfinite(row_max))
    out = np.exp(scores - row_max)
    denom = out.sum(axis=-1, keepdims=True)
    np.copyto(denom, 1.0, where=denom == 0)
    out /= denom
    return out


def linear_rows(scores: np.ndarray, eps: float) -> np.ndarray:
    """The lecture's ``P / (P.sum(-1) + eps)``, masked entries (−inf) counted as 0.

    A row whose entries are all zero stays all zero (row 0 of a shift matrix).
    """
    p = np.where(np.isneginf(scores), 0.0, scores).astype(scores.dtype, copy=False)
    denom = p.sum(axis=-1, keepdims=True) + eps
    # eps = 0 on an all-zero row would divide by zero; the row stays zero instead
    np.copyto(denom, 1.0, where=denom == 0)
    return p / denom


def override_head(
    q: np.ndarray,
    k: np.ndarray,
    override: HeadOverride,
    scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and pattern of one overridden head.

    Parameters
    ----------
    q, k
        [batch, pos, d_head] queries and keys of the head.
    override
        what to do differently.
    scale
        the attention scale (q·k is divided by it).

    Returns
    -------
    scores, pattern
        [batch, query_pos, key_pos] each; masked scores are −inf.
    """
    batch, n_pos, _ = q.shape
    dtype = q.dtype
    mask = causal_mask(n_pos, dtype.str)  # [query_pos, key_pos]
    if override.fixed_pattern is not None:
        p = override.fixed_pattern
        if p.shape[0] < n_pos:
            raise ValueError(f"fixed_pattern: is {p.shape[0]}×{p.shape[0]} but the sequence has {n_pos} positions")
        # [batch, query_pos, key_pos]
        scores = np.broadcast_to(p[:n_pos, :n_pos].astype(dtype), (batch, n_pos, n_pos)) + mask
    else:
        s = override.key_shift
        if s:
            # key j is the one computed at position j − s; keys j < s do not exist
            k_shifted = np.zeros_like(k)  # [batch, pos, d_head]
            k_shifted[:, s:] = k[:, : n_pos - s]
            k = k_shifted
        # [batch, query_pos, key_pos]
        scores = np.matmul(q, k.transpose(0, 2, 1)) / dtype.type(scale)
        scores += mask
        if s:
            scores[:, :, : min(s, n_pos)] = -np.inf
    if override.score_scale != 1.0:
        with np.errstate(invalid="ignore"):  # 0 · −inf on masked entries stays masked below
            scores = scores * dtype.type(override.score_scale)
        scores = np.where(np.isnan(scores) | (mask == -np.inf), -np.inf, scores).astype(dtype, copy=False)
        if s := override.key_shift:
            scores[:, :, : min(s, n_pos)] = -np.inf
    if override.normalization == "linear":
        pattern = linear_rows(scores, override.eps)
    else:
        pattern = softmax_rows(scores)
    return scores.astype(dtype, copy=False), pattern.astype(dtype, copy=False)
