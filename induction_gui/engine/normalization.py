"""The normalisations TransformerLens puts before each block and the unembed: LN, LNPre, RMS, RMSPre.

Each returns the output and the two activations TransformerLens caches:
``hook_scale`` [batch, pos, 1] and ``hook_normalized`` [batch, pos, d_model],
the latter before the gain ``w`` and bias ``b`` are applied (as in
TransformerLens' ``LayerNorm.forward``, ``RMSNorm.forward``).
"""

from __future__ import annotations

import numpy as np

# normalisation type -> (centres the stream, has a gain w, has a bias b)
_KINDS = {
    "LN": (True, True, True), "LNPre": (True, False, False), "RMS": (False, True, False), "RMSPre": (False, False, False),
}  # fmt: skip


def norm_params(kind: str | None) -> tuple[str, ...]:
    """Parameter names (``w``, ``b``) a normalisation of this kind has."""
    if kind is None:
        return ()
    _, has_w, has_b = _KINDS[kind]
    return ("w",) * has_w + ("b",) * has_b


def normalize(
    x: np.ndarray, kind: str, eps: float, w: np.ndarray | None = None, b: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(output, scale, normalized)`` of one normalisation over the last axis.

    Parameters
    ----------
    x
        [batch, pos, d_model]
    kind
        "LN", "LNPre", "RMS" or "RMSPre".
    w, b
        [d_model] gain and bias, for the kinds that have them.
    """
    centre, has_w, has_b = _KINDS[kind]
    if centre:
        x = x - x.mean(-1, keepdims=True)  # [batch, pos, d_model]
    scale = np.sqrt(np.mean(np.square(x), axis=-1, keepdims=True) + x.dtype.type(eps))  # [batch, pos, 1]
    normalized = x / scale  # [batch, pos, d_model]
    out = normalized
    if has_w:
        out = out * w
    if has_b:
        out = out + b
    return out, scale, normalized
