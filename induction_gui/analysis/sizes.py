"""When a model is large: the thresholds that send vocabulary-sized work off the edit path.

The lecture's toy models (a few dozen tokens, d_model 64) compute everything
in a frame, synchronously, as before. A real vocabulary (attn-only-2l: 48,262
tokens, d_model 512) does not: its unembedding alone is 6.3 GFLOP at 128
tokens, and a vocabulary-sized weight circuit is tens of GFLOP. Those become
slow-tier entries (a worker, "computing…" meanwhile) and the attention views
draw first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .. import engine
    from .context import State

UNEMBED_SLOW_FLOPS = 2e8  # 2 · pos · d_model · d_vocab above this (≈ 5 ms) and the logits go to the slow tier
VOCAB_SLOW_FLOPS = 2e9  # d_vocab · d_model² above this (≈ 0.1 s in float64) and vocabulary circuits go too
OV_TOP1_EXACT_SOURCES = 4096  # up to this many tokens the full-OV top-1 accuracy runs over all of them
OV_TOP1_SAMPLE = 512  # else over this many source tokens, drawn with OV_TOP1_SEED (and labelled "sampled")
OV_TOP1_SEED = 0


def logits_are_slow_for(config: engine.ModelConfig, n_pos: int) -> bool:
    """True if unembedding ``n_pos`` positions would not fit in a frame."""
    return 2.0 * n_pos * config.d_model * config.d_vocab > UNEMBED_SLOW_FLOPS


def logits_are_slow(state: State) -> bool:
    """:func:`logits_are_slow_for` the state's model and sequence (an entry's cost)."""
    return logits_are_slow_for(state.config, int(state.tokens.size))


def vocab_is_slow(state: State) -> bool:
    """True if a vocabulary-sized weight circuit of the state's model would not fit in a frame (an entry's cost)."""
    c = state.config
    return float(c.d_vocab) * c.d_model * c.d_model > VOCAB_SLOW_FLOPS
