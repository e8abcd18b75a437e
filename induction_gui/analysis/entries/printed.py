"""The lecture's matrices as numbers: what one head reads (X), where it looks (A) and what it copies (z).

The lecture printed three arrays for its toy previous-token head: the input
representations X (one row per position), the attention weights A and the
copied representations z = A·X. The ``printed`` entry gives those arrays for
any head of any model the app runs, each with a label that says exactly which
quantity it is, so the Printed view and its exports never have to guess:

- X [pos, d_model] is what the head's values read: the layer's input after its
  normalisation (the ``ln1`` output, gain and bias included) when the model has
  one, else ``blocks.{layer}.hook_resid_pre``.
- A [query_pos, key_pos] is ``blocks.{layer}.attn.hook_pattern[0, head]``.
- z comes in two variants, both [pos, d_model]: A·X (the lecture's, where values
  and outputs were the identity) and A·X·W_V·W_O (what the head really adds to
  the residual stream, with b_V left out).
- ``hook_z`` [pos, d_head] = A·(X·W_V + b_V) is what the exported NumPy script
  prints as "copied representations z = A @ V", kept so the text export can
  print the script's block unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...engine.attention import HeadOverride
from ..registry import entry

if TYPE_CHECKING:
    from ..context import Context, State

Z_VARIANTS = ("AX", "AXWOV")  # the two copied representations, by key
PRINTED_SLOW_FLOPS = 2e8  # A·X and its W_OV above this (≈ 5 ms) go to a worker, as the logits do
NO_SOURCE = -1  # a query row with nothing to copy from (all zero, or not finite)


@dataclass(frozen=True)
class Printed:
    """One head's lecture arrays, each with the sentence that says what it is."""

    layer: int
    head: int
    tokens: np.ndarray  # [pos] token ids
    x: np.ndarray  # [pos, d_model]
    x_label: str
    x_source: str  # the hook X is (or is computed from), in a few words
    pattern: np.ndarray  # [query_pos, key_pos]
    pattern_label: str
    z: dict[str, np.ndarray]  # Z_VARIANTS key -> [pos, d_model]
    z_labels: dict[str, str]
    hook_z: np.ndarray  # [pos, d_head], the script's "z = A @ V"
    method: str  # how A is computed, in the exported script's words
    notes: tuple[str, ...]  # what the arrays leave out (b_V, an ablation)

    @property
    def name(self) -> str:
        return f"L{self.layer}H{self.head}"


def copy_source(row: np.ndarray) -> tuple[int, int]:
    """``(key_pos, ties)``: the key a query row weights most, and how many keys share that weight.

    Ties go to the earliest position (``np.argmax``). A row that is all zero
    (the lecture's row 0, with no earlier token) or not finite copies from
    nothing: :data:`NO_SOURCE`.
    """
    if row.size == 0 or not np.isfinite(row).all():
        return NO_SOURCE, 0
    best = float(row.max())
    if best <= 0.0:
        return NO_SOURCE, 0
    return int(np.argmax(row)), int(np.count_nonzero(row == best))


def describe_method(override: HeadOverride | None) -> str:
    """How a head's pattern is computed, worded exactly as the exported script's ``describe``."""
    if override is None:
        return "softmax(q·k / sqrt(d_head)) with a causal mask"
    parts = []
    if override.fixed_pattern is not None:
        parts.append("fixed pattern")
    elif override.key_shift:
        parts.append(f"keys shifted by {override.key_shift}")
    if override.normalization == "linear":
        parts.append(f"linear normalisation P / (P.sum + {override.eps:g})")
    else:
        parts.append("softmax")
    if override.score_scale != 1.0:
        parts.append(f"scores x {override.score_scale:g}")
    if override.ablation:
        parts.append(f"{override.ablation}-ablated")
    return ", ".join(parts)


def _what_x_is(ctx: Context, layer: int) -> tuple[np.ndarray, str, str]:
    """[pos, d_model] the head's value input, the sentence naming it, and its hook in a few words."""
    cfg = ctx.config
    cache = ctx.results.cache
    kind = cfg.normalization_type
    if kind is None:
        x = np.asarray(cache["resid_pre", layer][0])  # [pos, d_model]
        label = f"X = blocks.{layer}.hook_resid_pre: the residual stream layer {layer} reads"
        source = f"blocks.{layer}.hook_resid_pre"
    else:
        normalized = np.asarray(cache[f"blocks.{layer}.ln1.hook_normalized"][0])  # [pos, d_model]
        x = normalized
        if kind in ("LN", "RMS"):
            x = x * np.asarray(ctx.weights[f"blocks.{layer}.ln1.w"], dtype=x.dtype)  # [pos, d_model]
        if kind == "LN":
            x = x + np.asarray(ctx.weights[f"blocks.{layer}.ln1.b"], dtype=x.dtype)
        gain = {"LN": " · w + b", "RMS": " · w"}.get(kind, "")
        label = (f"X = the {kind} output of blocks.{layer}.ln1 (hook_normalized{gain}): "
                 f"the normalised residual stream layer {layer}'s head reads")
        source = f"blocks.{layer}.ln1 output ({kind})"
    if cfg.positional_embedding_type == "shortformer":
        label += "; positions are added to the query and key inputs only, so X holds none"
    elif cfg.positional_embedding_type == "rotary":
        label += "; positions rotate the queries and keys only, so X holds none"
    return x, label, source


def printed_is_slow(state: State) -> bool:
    """True if one head's A·X and A·X·W_V·W_O would not fit in a frame (2048 positions of a d_model 512 model)."""
    c, n = state.config, int(state.tokens.size)
    return 2.0 * n * n * c.d_model + 4.0 * n * c.d_model * c.d_head > PRINTED_SLOW_FLOPS


@entry("printed", inputs=("forward", "overrides", "weights/blocks.{layer}.attn.W_V",
                          "weights/blocks.{layer}.attn.b_V", "weights/blocks.{layer}.attn.W_O",
                          "weights/blocks.{layer}.ln1.*"), cost=printed_is_slow)
def printed(ctx: Context, layer: int, head: int) -> Printed:
    """One head's X, A and copied representations z (A·X and A·X·W_V·W_O), labelled, as the lecture printed them."""
    cache = ctx.results.cache
    x, x_label, x_source = _what_x_is(ctx, layer)  # [pos, d_model]
    f = x.dtype
    pattern = np.asarray(cache["pattern", layer][0, head])  # [query_pos, key_pos]
    w_v = np.asarray(ctx.weights[f"blocks.{layer}.attn.W_V"][head], dtype=f)  # [d_model, d_head]
    w_o = np.asarray(ctx.weights[f"blocks.{layer}.attn.W_O"][head], dtype=f)  # [d_head, d_model]
    b_v = np.asarray(ctx.weights[f"blocks.{layer}.attn.b_V"][head], dtype=np.float64)  # [d_head]
    with np.errstate(all="ignore"):  # overflowing weights: inf/NaN shown as they are, as the other views do
        z_ax = pattern @ x  # [pos, d_model]
        z_axov = (z_ax @ w_v) @ w_o  # [pos, d_head] -> [pos, d_model]
    hook_z = np.asarray(cache["z", layer][0, :, head])  # [pos, d_head]
    name = f"L{layer}H{head}"
    bias = float(np.abs(b_v).max()) if b_v.size else 0.0
    notes = [f"b_V is left out of A·X·W_OV ({name}'s b_V is zero)" if bias == 0.0 else
             f"b_V is left out of A·X·W_OV ({name}'s b_V is not zero: largest |b_V| = {bias:.3g}; with it, row i "
             "gains (Σ_k A[i, k]) · b_V · W_O)"]
    override = ctx.overrides.get((layer, head))
    if override is not None and override.ablation:
        notes.append(f"{name} is {override.ablation}-ablated: hook_z is replaced, while A·X and A·X·W_OV show "
                     "what the pattern would copy")
    return Printed(
        layer=layer, head=head, tokens=np.asarray(ctx.tokens), x=x, x_label=x_label, x_source=x_source, pattern=pattern,
        pattern_label=f"A = blocks.{layer}.attn.hook_pattern[0, {head}]: row i is how much query position i "
                      "attends to each key position",
        z={"AX": z_ax, "AXWOV": z_axov},
        z_labels={"AX": "z = A·X: each row the A-weighted sum of the rows of X (the lecture's copy, values and "
                        "outputs taken as the identity)",
                  "AXWOV": f"z = A·X·W_V·W_O ({name}'s W_OV, b_V left out): what the head writes into the "
                           "residual stream from X"},
        hook_z=hook_z,
        method=describe_method(override),
        notes=tuple(notes),
    )
