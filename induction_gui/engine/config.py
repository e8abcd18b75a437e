"""The shape of an attention-only transformer, inferred from its weights.

A frozen dataclass so that a config can key caches and be compared; it never
holds arrays, only the sizes TransformerLens calls by the same names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and numerics of an attention-only model (TransformerLens names)."""

    n_layers: int  # number of attention blocks
    n_heads: int  # heads per block
    d_model: int  # width of the residual stream
    d_head: int  # width of one head's query, key and value
    d_vocab: int  # number of token ids
    n_ctx: int  # longest sequence the positional embedding covers
    attn_scale: float | None = None  # divisor of q·k; None means sqrt(d_head) as in TransformerLens

    @property
    def scale(self) -> float:
        """The divisor applied to q·k (TransformerLens' ``attn_scale``)."""
        return math.sqrt(self.d_head) if self.attn_scale is None else float(self.attn_scale)

    def to_dict(self) -> dict[str, int | float | None]:
        """Plain dict for JSON files (scenario, exports)."""
        return {
            "n_layers": self.n_layers,
            "n_heads": self.n_heads,
            "d_model": self.d_model,
            "d_head": self.d_head,
            "d_vocab": self.d_vocab,
            "n_ctx": self.n_ctx,
            "attn_scale": self.attn_scale,
        }
