"""The shape and forward-pass options of an attention-only transformer.

A frozen dataclass so that a config can key caches and be compared; it never
holds arrays. Sizes are inferred from the weights; the options (normalisation,
positions, attention scale) come from a TransformerLens ``cfg.to_dict()`` dump
or the app's own files, and are named as TransformerLens names them.

:func:`ModelConfig.from_tl_dict` implements or refuses, by name, every key of
such a dump: a key that changes the forward pass is never silently dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NORMALIZATION_TYPES = (None, "LN", "LNPre", "RMS", "RMSPre")
POSITIONAL_EMBEDDING_TYPES = ("standard", "shortformer", "rotary")
DTYPES = ("float32", "float64", "float16", "bfloat16")


class WeightsError(ValueError):
    """A weight is missing, misshapen, non-finite or unreadable; the message names it."""


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
    normalization_type: str | None = None  # None, "LN", "LNPre", "RMS" or "RMSPre", before each block and the unembed
    positional_embedding_type: str = "standard"  # "standard", "shortformer" (q/k inputs only) or "rotary"
    rotary_dim: int | None = None  # leading dimensions of q and k that rotary rotates
    rotary_base: float = 10000.0  # base of rotary's geometric frequencies
    rotary_adjacent_pairs: bool = False  # rotate (0,1),(2,3)... (GPT-J) instead of (i, i+dim/2) (GPT-NeoX)
    use_attn_scale: bool = True  # False divides q·k by 1
    eps: float = 1e-5  # added to the variance inside the normalisation's square root
    d_vocab_out: int | None = None  # width of the logits; None means d_vocab
    dtype: str = "float32"  # dtype of the weights as stored; the engine computes in float32 or float64
    default_prepend_bos: bool = False  # whether the model's tokenizer puts a BOS token first (text only)

    @property
    def scale(self) -> float:
        """The divisor applied to q·k (TransformerLens' ``attn_scale``)."""
        if not self.use_attn_scale:
            return 1.0
        return math.sqrt(self.d_head) if self.attn_scale is None else float(self.attn_scale)

    @property
    def vocab_out(self) -> int:
        """Width of the logits (``d_vocab_out``, or ``d_vocab`` when unset)."""
        return self.d_vocab if self.d_vocab_out is None else self.d_vocab_out

    @property
    def is_plain(self) -> bool:
        """Computes what the app's own models compute: no normalisation, positions added to the residual.

        The analyses written for those models (logit attribution, training)
        need this; other models are refused there.
        """
        return (
            self.normalization_type is None
            and self.positional_embedding_type == "standard"
            and self.use_attn_scale
            and self.d_vocab_out in (None, self.d_vocab)
        )

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

    def to_tl_dict(self) -> dict[str, Any]:
        """A dict ``HookedTransformerConfig.from_dict`` accepts, computing what this config computes."""
        return {
            "n_layers": self.n_layers,
            "d_model": self.d_model,
            "n_ctx": self.n_ctx,
            "d_head": self.d_head,
            "n_heads": self.n_heads,
            "d_vocab": self.d_vocab,
            "d_vocab_out": self.vocab_out,
            "act_fn": None,
            "attn_only": True,
            "normalization_type": self.normalization_type,
            "positional_embedding_type": self.positional_embedding_type,
            "rotary_dim": self.rotary_dim,
            "rotary_base": self.rotary_base,
            "rotary_adjacent_pairs": self.rotary_adjacent_pairs,
            "use_attn_scale": self.use_attn_scale,
            "attn_scale": math.sqrt(self.d_head) if self.attn_scale is None else float(self.attn_scale),
            "eps": self.eps,
            "default_prepend_bos": self.default_prepend_bos,
            "original_architecture": None,
            # from_dict takes a torch.dtype, which JSON cannot hold: float32 (its default) goes unsaid
            **({} if self.dtype == "float32" else {"dtype": f"torch.{self.dtype}"}),
        }

    @classmethod
    def from_tl_dict(cls, d: Mapping[str, Any]) -> ModelConfig:
        """Read a TransformerLens ``cfg.to_dict()`` dump (as written by ``json.dump(..., default=str)``).

        Raises
        ------
        WeightsError
            naming the feature, for a model this engine cannot compute exactly.
        """
        from .tl_config import parse_tl_dict

        return cls(**parse_tl_dict(d))
