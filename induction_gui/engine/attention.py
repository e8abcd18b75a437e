"""One layer of multi-head causal attention, with the lecture's per-head experiments.

The default path is exactly TransformerLens' ``Attention.forward`` for an
attention-only model: ``scores = q·k / attn_scale``, causal mask, softmax.
A :class:`HeadOverride` replaces one head's behaviour the way the lecture does
by hand: a fixed pattern instead of q·k, linear normalisation instead of
softmax, keys shifted against queries, a temperature, or an ablated output.
"""

from __future__ import annotations

import math
import sys
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np

from .override_schema import ABLATIONS, NORMALIZATIONS, OVERRIDE_PARAMS  # noqa: F401 - the first two re-exported

Normalization = Literal["softmax", "linear"]
Ablation = Literal["zero", "mean"]


@dataclass(frozen=True)
class HeadOverride:
    """How one head departs from plain softmax attention.

    The fields' types, ranges and defaults are declared in
    :data:`~.override_schema.OVERRIDE_PARAMS`, which validates them here.

    Attributes
    ----------
    normalization
        ``"softmax"`` (TransformerLens) or ``"linear"``: ``P / (P.sum(-1) + eps)``
        over the causally masked scores, as in the lecture's demo (negative
        scores count as 0, see :func:`linear_rows`).
    eps
        The linear normaliser's guard; the lecture uses 1e-8, which is why its
        rows read 0.99999999 rather than 1.
    fixed_pattern
        [n, n] scores used instead of q·k (n ≥ the sequence length; the top-left
        [pos, pos] block is used). A shift matrix makes a previous-token head.
        A fixed pattern replaces q·k entirely, so ``key_shift`` does not apply to it.
    key_shift
        s ≥ 0: query i is compared with the key computed at position j − s and
        keys j < s are masked. With s = 1 a head that matches equal tokens
        attends to the token *after* an earlier occurrence: induction by hand.
    score_scale
        Multiplies the scores (inverse temperature); 0 gives uniform attention.
    ablation
        ``None``, ``"zero"`` (z := 0) or ``"mean"`` (z := its mean over batch
        and positions). The pattern is still computed and cached. The mean is
        over positions too (TransformerLens usually averages a reference batch
        per position): the window runs one sequence, where a per-position mean
        over a batch of one would ablate nothing.
    """

    normalization: Normalization = "softmax"
    eps: float = 1e-8
    fixed_pattern: np.ndarray | None = field(default=None, compare=False)
    key_shift: int = 0
    score_scale: float = 1.0
    ablation: Ablation | None = None

    def __post_init__(self) -> None:
        for param in OVERRIDE_PARAMS:  # the one declaration of each field's type and range
            problem = param.problem(getattr(self, param.name))
            if problem:
                raise ValueError(f"{param.name}: {problem}")
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


# Elements (batch · head_index · rows · keys) of scores handled per row block:
# 2**17 float32 is 512 KiB, so a block's scores and pattern stay in L2 cache
# across the passes softmax makes over them.
_BLOCK_ELEMENTS = 1 << 17


@lru_cache(maxsize=256)
def _row_blocks(n_pos: int, n_mats: int) -> tuple[tuple[int, int], ...]:
    """Query-row blocks ``(start, stop)`` covering ``0..n_pos``, each about ``_BLOCK_ELEMENTS`` big.

    Block ``[r0, r1)`` only needs keys ``0..r1`` (causality), so later blocks
    are shorter in rows; a short sequence is a single block.
    """
    per_mat = _BLOCK_ELEMENTS / n_mats
    blocks: list[tuple[int, int]] = []
    r0 = 0
    while r0 < n_pos:
        # rows R with R · (r0 + R) ≈ per_mat
        rows = int((math.sqrt(r0 * r0 + 4 * per_mat) - r0) / 2)
        rows = max(32, rows - rows % 16)
        r1 = n_pos if n_pos - r0 < rows + rows // 2 else r0 + rows
        blocks.append((r0, r1))
        r0 = r1
    return tuple(blocks)


class _RecycledArrays:
    """Big output arrays, reused once nothing outside this pool refers to them.

    A fresh n² scores array is paid for in page faults (the allocator hands big
    blocks back to the kernel on free): at T = 1024 that is a third of a
    forward pass. The app drops each cache when the next one arrives, so
    recycling those arrays removes the cost. An array is handed out again only
    when its reference count is back to what the pool alone holds; any view,
    slice or cache that still exists keeps it out of reach.
    """

    def __init__(self, max_bytes: int, min_bytes: int) -> None:
        self.max_bytes = max_bytes  # retained bytes, in use or free
        self.min_bytes = min_bytes  # smaller arrays are left to the allocator
        self._buffers: list[np.ndarray] = []  # flat uint8, least recently used first
        self._idle_refs: list[int] = []  # each buffer's reference count when only the pool holds it
        self._lock = threading.Lock()

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An uninitialised array, recycled when one of a fitting size is free."""
        nbytes = dtype.itemsize
        for n in shape:
            nbytes *= n
        if nbytes < self.min_bytes or nbytes > self.max_bytes:
            return np.empty(shape, dtype)
        with self._lock:
            buffers = self._buffers
            for i in range(len(buffers)):
                size = buffers[i].size
                # a buffer at most twice too big: reuse without wasting much memory
                if nbytes <= size <= 2 * nbytes and _refs(buffers, i) == self._idle_refs[i]:
                    buf = buffers.pop(i)
                    idle = self._idle_refs.pop(i)
                    break
            else:
                self._make_room(nbytes)
                buffers.append(np.empty(nbytes, np.uint8))
                self._idle_refs.append(_refs(buffers, -1))
                return buffers[-1][:nbytes].view(dtype).reshape(shape)
            buffers.append(buf)
            self._idle_refs.append(idle)
            return buf[:nbytes].view(dtype).reshape(shape)

    def _make_room(self, nbytes: int) -> None:
        """Forget least recently used buffers until ``nbytes`` more fit (in-use ones live on with their owners)."""
        total = sum(b.size for b in self._buffers)
        while self._buffers and total + nbytes > self.max_bytes:
            total -= self._buffers.pop(0).size
            self._idle_refs.pop(0)

    def clear(self) -> None:
        """Forget every buffer, so that free ones return to the system."""
        with self._lock:
            self._buffers.clear()
            self._idle_refs.clear()


def _refs(buffers: list[np.ndarray], i: int) -> int:
    """Reference count of ``buffers[i]``, measured always the same way so counts compare."""
    return sys.getrefcount(buffers[i])


# scores and patterns of ~256 KiB and up (T ≥ 128 at 4 heads); 256 MiB covers
# two whole caches of a 2-layer, 4-head model at T = 1024
_POOL = _RecycledArrays(max_bytes=256 << 20, min_bytes=256 << 10)


def release_buffers() -> None:
    """Let go of the recycled attention arrays that nothing uses (frees memory)."""
    _POOL.clear()


def causal_attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    scale: float,
    z: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain causal softmax attention of every head, as TransformerLens computes it.

    Equivalent to ``scores = q·kᵀ / scale + mask``, ``pattern = softmax(scores)``,
    ``z = pattern·v``, but done a block of query rows at a time: a block only
    multiplies the keys it can see (about half the work of the full square) and
    its softmax passes run in cache. Every output element is written once,
    into arrays recycled from dropped caches when there are any.

    Parameters
    ----------
    q, k, v
        [batch, head_index, pos, d_head], one float dtype; any strides.
    scale
        the divisor of q·k (``ModelConfig.scale``).
    z
        optional [batch, head_index, pos, d_head] array (any strides) to write z into.

    Returns
    -------
    scores
        [batch, head_index, query_pos, key_pos], −inf above the diagonal.
    pattern
        [batch, head_index, query_pos, key_pos], rows sum to 1, 0 above the diagonal.
    z
        [batch, head_index, pos, d_head]
    """
    batch, n_heads, n_pos, d_head = q.shape
    dtype = q.dtype
    # scaling the n·d queries instead of the n² scores: same values up to rounding
    q_scaled = q * dtype.type(1.0 / scale)  # [batch, head_index, query_pos, d_head]
    k_t = k.swapaxes(-1, -2)  # [batch, head_index, d_head, key_pos]
    scores = _POOL.empty((batch, n_heads, n_pos, n_pos), dtype)
    pattern = _POOL.empty((batch, n_heads, n_pos, n_pos), dtype)
    if z is None:
        z = np.empty((batch, n_heads, n_pos, d_head), dtype)
    ones = _ones(n_pos, dtype.str)  # [key_pos, 1]: row sums as a matrix product
    for r0, r1 in _row_blocks(n_pos, batch * n_heads):
        s = scores[:, :, r0:r1, :r1]  # [batch, head_index, rows, keys seen]
        np.matmul(q_scaled[:, :, r0:r1], k_t[:, :, :, :r1], out=s)
        # keys r0..r1 are the only ones some row of the block cannot see
        scores[:, :, r0:r1, r0:r1] += _diagonal_mask(batch, n_heads, r1 - r0, dtype.str)
        if r1 < n_pos:
            scores[:, :, r0:r1, r1:] = -np.inf
            pattern[:, :, r0:r1, r1:] = 0.0
        # softmax with each row's own max (finite: a causal row has its diagonal),
        # so that a row's values never depend on later positions, to the bit
        p = pattern[:, :, r0:r1, :r1]
        np.subtract(s, s.max(axis=-1, keepdims=True), out=p)
        np.exp(p, out=p)
        total = np.matmul(p, ones[:r1])  # [batch, head_index, rows, 1]; ≥ 1 (the max's own term)
        p *= np.reciprocal(total, out=total)
        np.matmul(p, v[:, :, :r1], out=z[:, :, r0:r1])
    return scores, pattern, z


def _diagonal_mask(batch: int, n_heads: int, n_pos: int, dtype_str: str) -> np.ndarray:
    """:func:`causal_mask` for a diagonal block, as [batch, head_index, n_pos, n_pos] or broadcastable to it."""
    if batch * n_heads * n_pos * n_pos <= _BLOCK_ELEMENTS:
        return _stacked_mask(batch, n_heads, n_pos, dtype_str)
    return causal_mask(n_pos, dtype_str)


@lru_cache(maxsize=32)
def _stacked_mask(batch: int, n_heads: int, n_pos: int, dtype_str: str) -> np.ndarray:
    """:func:`causal_mask` repeated over [batch, head_index]: adding it needs no broadcasting (2× faster)."""
    mask = np.broadcast_to(causal_mask(n_pos, dtype_str), (batch, n_heads, n_pos, n_pos)).copy()
    mask.flags.writeable = False
    return mask


@lru_cache(maxsize=16)
def _ones(n: int, dtype_str: str) -> np.ndarray:
    """Read-only [n, 1] column of ones."""
    ones = np.ones((n, 1), dtype=dtype_str)
    ones.flags.writeable = False
    return ones


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
    """The lecture's ``P / (P.sum(-1) + eps)``, masked and negative entries counted as 0.

    The lecture normalises a non-negative pattern. Raw q·k scores can be
    negative, and dividing by a signed sum gives "weights" below 0 or far above 1
    (a row summing to nearly 0 explodes); clipping at 0 keeps every row a
    sub-distribution, as attention must be. A row whose entries are all zero
    stays all zero (row 0 of a shift matrix).
    """
    p = np.where(np.isneginf(scores) | (scores < 0), 0.0, scores).astype(scores.dtype, copy=False)
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
            if s < n_pos:
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
        # a fixed pattern ignores key_shift, so only q·k scores have shifted-out keys to re-mask
        if (s := override.key_shift) and override.fixed_pattern is None:
            scores[:, :, : min(s, n_pos)] = -np.inf
    if override.normalization == "linear":
        pattern = linear_rows(scores, override.eps)
    else:
        pattern = softmax_rows(scores)
    return scores.astype(dtype, copy=False), pattern.astype(dtype, copy=False)
