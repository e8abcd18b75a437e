"""Rotary positional embeddings, as TransformerLens' ``Attention.apply_rotary`` computes them.

Queries and keys (not values) are rotated in pairs of dimensions by an angle
proportional to their position; the first ``rotary_dim`` dimensions of each
head rotate, the rest pass through. Pairs are (i, i + rotary_dim/2) (GPT-NeoX)
or adjacent (2i, 2i+1) (GPT-J, ``rotary_adjacent_pairs``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=32)
def sin_cos(
    rotary_dim: int, n_pos: int, base: float, adjacent_pairs: bool, dtype_str: str
) -> tuple[np.ndarray, np.ndarray]:
    """sin and cos of every angle, [pos, rotary_dim] each (computed in float32 as TransformerLens does)."""
    high = np.float64 if dtype_str == np.dtype(np.float64).str else np.float32
    pos = np.arange(n_pos, dtype=high)
    dim = np.arange(rotary_dim // 2, dtype=high)
    freq = np.asarray(base, dtype=high) ** (dim / high(rotary_dim / 2))  # [rotary_dim/2]
    freq = np.repeat(freq, 2) if adjacent_pairs else np.tile(freq, 2)  # [rotary_dim]
    angles = pos[:, None] / freq[None, :]  # [pos, rotary_dim]
    sin, cos = np.sin(angles).astype(dtype_str), np.cos(angles).astype(dtype_str)
    sin.flags.writeable = False  # shared by every call
    cos.flags.writeable = False
    return sin, cos


def _rotate_pairs(x: np.ndarray, adjacent_pairs: bool) -> np.ndarray:
    """Each pair [x0, x1] -> [-x1, x0] (TransformerLens' ``rotate_every_two``)."""
    out = np.empty_like(x)
    if adjacent_pairs:
        out[..., ::2] = -x[..., 1::2]
        out[..., 1::2] = x[..., ::2]
    else:
        n = x.shape[-1] // 2
        out[..., :n] = -x[..., n:]
        out[..., n:] = x[..., :n]
    return out


def apply_rotary(x: np.ndarray, rotary_dim: int, base: float, adjacent_pairs: bool) -> np.ndarray:
    """Rotated queries or keys.

    Parameters
    ----------
    x
        [batch, pos, head_index, d_head]

    Returns
    -------
    [batch, pos, head_index, d_head], a new array.
    """
    n_pos = x.shape[1]
    sin, cos = sin_cos(rotary_dim, n_pos, float(base), adjacent_pairs, x.dtype.str)
    x_rot = x[..., :rotary_dim]  # [batch, pos, head_index, rotary_dim]
    out = np.empty_like(x)
    out[..., :rotary_dim] = x_rot * cos[None, :, None, :] + _rotate_pairs(x_rot, adjacent_pairs) * sin[None, :, None, :]
    out[..., rotary_dim:] = x[..., rotary_dim:]
    return out
