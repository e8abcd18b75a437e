"""The forward pass: tokens -> logits and every activation, named as TransformerLens names them.

An attention-only transformer has no MLPs and no LayerNorm, so the residual
stream is a plain sum: embeddings, then each block's attention output. That sum
is what the window's "residual stream" view shows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .attention import HeadOverride, causal_mask, override_head
from .hooks import ActivationCache, act_name
from .weights import Weights, block_names

HeadKey = tuple[int, int]  # (layer, head_index)
Overrides = Mapping[HeadKey, HeadOverride]


class TokenError(ValueError):
    """The tokens cannot be run through this model (wrong shape, id out of range, too long)."""


def check_tokens(tokens: object, d_vocab: int, n_ctx: int) -> np.ndarray:
    """Tokens as an int64 [batch, pos] array, or a :class:`TokenError` saying what is wrong."""
    arr = np.asarray(tokens)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        elif arr.size:
            raise TokenError(f"tokens: expected integer token ids, got dtype {arr.dtype}")
        else:
            arr = arr.astype(np.int64)
    if arr.ndim == 1:
        arr = arr[None, :]  # [batch=1, pos]
    if arr.ndim != 2:
        raise TokenError(f"tokens: expected shape [pos] or [batch, pos], got {list(arr.shape)}")
    if arr.shape[1] == 0:
        raise TokenError("tokens: the sequence is empty")
    if arr.shape[1] > n_ctx:
        raise TokenError(f"tokens: the sequence has {arr.shape[1]} tokens but the model's n_ctx is {n_ctx}")
    bad = (arr < 0) | (arr >= d_vocab)
    if bad.any():
        b, p = np.argwhere(bad)[0]
        raise TokenError(f"tokens[{b}][{p}]: id {arr[b, p]} is outside the vocabulary 0..{d_vocab - 1}")
    return arr.astype(np.int64, copy=False)


def run_with_cache(
    weights: Weights,
    tokens: object,
    overrides: Overrides | None = None,
    *,
    dtype: type = np.float32,
) -> tuple[np.ndarray, ActivationCache]:
    """Run the model and keep every activation.

    Parameters
    ----------
    weights
        the model.
    tokens
        int array [pos] or [batch, pos].
    overrides
        ``{(layer, head): HeadOverride}`` for the lecture's experiments.
    dtype
        float32 (default, as TransformerLens) or float64.

    Returns
    -------
    logits
        [batch, pos, d_vocab]
    cache
        :class:`ActivationCache` keyed by TransformerLens hook names, batch first.
    """
    cfg = weights.config
    toks = check_tokens(tokens, cfg.d_vocab, cfg.n_ctx)  # [batch, pos]
    overrides = overrides or {}
    for (layer, head) in overrides:
        if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
            raise ValueError(f"overrides: head L{layer}H{head} does not exist in a {cfg.n_layers}×{cfg.n_heads} model")
    batch, n_pos = toks.shape
    f = np.dtype(dtype)
    H, D, M = cfg.n_heads, cfg.d_head, cfg.d_model
    store: dict[str, np.ndarray] = {}

    W_E = np.asarray(weights["embed.W_E"], dtype=f)  # [d_vocab, d_model]
    W_pos = np.asarray(weights["pos_embed.W_pos"], dtype=f)  # [n_ctx, d_model]
    embed = W_E[toks]  # [batch, pos, d_model]
    pos_embed = np.broadcast_to(W_pos[:n_pos], (batch, n_pos, M))  # [batch, pos, d_model]
    store["hook_embed"] = embed
    store["hook_pos_embed"] = pos_embed
    resid = embed + pos_embed  # [batch, pos, d_model]
    mask = causal_mask(n_pos, f.str)  # [query_pos, key_pos]
    inv_scale = f.type(1.0 / cfg.scale)

    for layer in range(cfg.n_layers):
        n = block_names(layer)
        store[act_name("resid_pre", layer)] = resid
        # Fused projection: one GEMM for queries, keys and values of every head.
        W_QKV = np.concatenate(
            [np.asarray(weights[n[w]], dtype=f).transpose(1, 0, 2).reshape(M, H * D) for w in ("W_Q", "W_K", "W_V")],
            axis=1,
        )  # [d_model, 3 * head_index * d_head]
        b_QKV = np.concatenate([np.asarray(weights[n[b]], dtype=f).reshape(H * D) for b in ("b_Q", "b_K", "b_V")])
        qkv = resid.reshape(batch * n_pos, M) @ W_QKV  # [batch * pos, 3 * head_index * d_head]
        qkv += b_QKV
        qkv = qkv.reshape(batch, n_pos, 3, H, D)  # [batch, pos, qkv, head_index, d_head]
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]  # [batch, pos, head_index, d_head] each
        store[act_name("q", layer)] = q
        store[act_name("k", layer)] = k
        store[act_name("v", layer)] = v

        q_h = q.transpose(0, 2, 1, 3)  # [batch, head_index, query_pos, d_head]
        k_h = k.transpose(0, 2, 3, 1)  # [batch, head_index, d_head, key_pos]
        scores = np.matmul(q_h, k_h)  # [batch, head_index, query_pos, key_pos]
        scores *= inv_scale
        scores += mask
        # softmax, max-subtracted; every causal row has its diagonal, so no row is all −inf here
        pattern = scores - scores.max(axis=-1, keepdims=True)
        np.exp(pattern, out=pattern)
        pattern /= pattern.sum(axis=-1, keepdims=True)

        layer_overrides = {h: o for (lyr, h), o in overrides.items() if lyr == layer}
        for h, o in layer_overrides.items():
            if o.changes_pattern:
                s_h, p_h = override_head(q[:, :, h], k[:, :, h], o, cfg.scale)
                scores[:, h] = s_h
                pattern[:, h] = p_h
        store[act_name("attn_scores", layer)] = scores
        store[act_name("pattern", layer)] = pattern

        v_h = v.transpose(0, 2, 1, 3)  # [batch, head_index, key_pos, d_head]
        z_h = np.matmul(pattern, v_h)  # [batch, head_index, query_pos, d_head]
        for h, o in layer_overrides.items():
            if o.ablation == "zero":
                z_h[:, h] = 0.0
            elif o.ablation == "mean":
                z_h[:, h] = z_h[:, h].mean(axis=(0, 1), keepdims=False)
        store[act_name("z", layer)] = z_h.transpose(0, 2, 1, 3)  # [batch, pos, head_index, d_head]

        W_O = np.asarray(weights[n["W_O"]], dtype=f)  # [head_index, d_head, d_model]
        result_h = np.matmul(z_h, W_O)  # [batch, head_index, pos, d_model]
        store[act_name("result", layer)] = result_h.transpose(0, 2, 1, 3)  # [batch, pos, head_index, d_model]
        attn_out = result_h.sum(axis=1)  # [batch, pos, d_model]
        attn_out += np.asarray(weights[n["b_O"]], dtype=f)
        store[act_name("attn_out", layer)] = attn_out
        resid = resid + attn_out  # [batch, pos, d_model]
        store[act_name("resid_post", layer)] = resid

    W_U = np.asarray(weights["unembed.W_U"], dtype=f)  # [d_model, d_vocab]
    logits = (resid.reshape(batch * n_pos, M) @ W_U).reshape(batch, n_pos, cfg.d_vocab)  # [batch, pos, d_vocab]
    logits += np.asarray(weights["unembed.b_U"], dtype=f)
    return logits, ActivationCache(store)


def run(weights: Weights, tokens: object, overrides: Overrides | None = None, *, dtype: type = np.float32) -> np.ndarray:
    """Logits only, [batch, pos, d_vocab]."""
    return run_with_cache(weights, tokens, overrides, dtype=dtype)[0]
