"""The forward pass up to the last residual stream: every activation, no logits.

TransformerLens' ``run_with_cache(tokens, return_type=None)``. At a real
vocabulary the unembedding is most of the work (2 · pos · d_model · d_vocab
flops: 6.3 GFLOP for attn-only-2l at 128 tokens), and the attention views need
none of it, so the window draws them from this cache and computes the logits
afterwards with :func:`unembed`.

The pass itself is :func:`.forward.run_with_cache` on the same weights with a
zero-width unembedding, so whatever the forward pass does before the
unembedding (normalisation, positions) is done here identically.
"""

from __future__ import annotations

import copy

import numpy as np

from .forward import Overrides, run_with_cache
from .hooks import ActivationCache, act_name
from .weights import Weights

_FINAL_NORMALIZED = "ln_final.hook_normalized"  # the unembedding's input in a model with a final LayerNorm


def _without_unembedding(weights: Weights) -> Weights:
    """The same weights (the same arrays, shared derived matrices) with ``W_U`` [d_model, 0] and ``b_U`` [0]."""
    headless = copy.copy(weights)  # every attribute shared; only the parameter table is new
    params = dict(headless._params)
    d_model = params["unembed.W_U"].shape[0]
    params["unembed.W_U"] = np.zeros((d_model, 0), params["unembed.W_U"].dtype)
    params["unembed.b_U"] = np.zeros((0,), params["unembed.b_U"].dtype)
    headless._params = params
    return headless


def run_attention_cache(weights: Weights, tokens: object, overrides: Overrides | None = None, *,
                        dtype: type = np.float32) -> ActivationCache:
    """Every activation up to ``blocks.{n_layers - 1}.hook_resid_post`` (and a final norm's), no logits.

    Parameters and cache as :func:`.forward.run_with_cache`.
    """
    _, cache = run_with_cache(_without_unembedding(weights), tokens, overrides, dtype=dtype)
    W_U, b_U, n_layers = weights["unembed.W_U"], weights["unembed.b_U"], weights.config.n_layers
    # TransformerLens' keys all there; the logits (unembed.hook_out) are computed when first read, and kept
    return cache.replaced_lazily("unembed.hook_out", lambda: unembed(cache, n_layers, W_U, b_U))


def unembedding_input(cache: ActivationCache, n_layers: int) -> np.ndarray:
    """[batch, pos, d_model] what the unembedding reads: the final norm's output, else the last residual stream."""
    if _FINAL_NORMALIZED in cache:
        return cache[_FINAL_NORMALIZED]
    return cache[act_name("resid_post", n_layers - 1)]


def unembed(cache: ActivationCache, n_layers: int, W_U: np.ndarray, b_U: np.ndarray) -> np.ndarray:
    """Logits [batch, pos, d_vocab] from a cache of :func:`run_attention_cache`: one GEMM, in the cache's dtype."""
    x = unembedding_input(cache, n_layers)  # [batch, pos, d_model]
    with np.errstate(over="ignore", invalid="ignore"):
        logits = np.matmul(x, np.asarray(W_U, dtype=x.dtype))  # [batch, pos, d_vocab]
        logits += np.asarray(b_U, dtype=x.dtype)
    return logits
