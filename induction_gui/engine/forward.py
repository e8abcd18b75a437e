"""The forward pass: tokens -> logits and every activation, named as TransformerLens names them.

An attention-only transformer has no MLPs, so the residual stream is a plain
sum: embeddings, then each block's attention output. That sum is what the
window's "residual stream" view shows. The config adds what TransformerLens
models may have: a normalisation before each block and the unembed (LN, LNPre,
RMS, RMSPre), positions added to the queries' and keys' inputs only
(shortformer) or rotated into the queries and keys (rotary).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache, partial

import numpy as np

from .attention import HeadOverride, causal_attention, override_head
from .config import ModelConfig
from .hooks import ActivationCache, act_name
from .normalization import normalize
from .rotary import apply_rotary
from .weights import Weights

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
    if arr.size and (arr.min() < 0 or arr.max() >= d_vocab):  # two reductions; the mask only to name the culprit
        b, p = np.argwhere((arr < 0) | (arr >= d_vocab))[0]
        raise TokenError(f"tokens[{b}][{p}]: id {arr[b, p]} is outside the vocabulary 0..{d_vocab - 1}")
    return arr.astype(np.int64, copy=False)


@lru_cache(maxsize=64)
def _layer_hooks(layer: int) -> tuple[str, ...]:
    """Hook names of one block, in the order the forward pass writes them."""
    return tuple(
        act_name(n, layer)
        for n in ("resid_pre", "q", "k", "v", "attn_scores", "pattern", "z", "result", "attn_out", "resid_post")
    )


def _overrides_by_layer(overrides: Overrides | None, n_layers: int, n_heads: int) -> dict[int, dict[int, HeadOverride]]:
    """``{layer: {head: override}}``, refusing heads the model does not have."""
    by_layer: dict[int, dict[int, HeadOverride]] = {}
    for (layer, head), override in (overrides or {}).items():
        if not (0 <= layer < n_layers and 0 <= head < n_heads):
            raise ValueError(f"overrides: head L{layer}H{head} does not exist in a {n_layers}×{n_heads} model")
        by_layer.setdefault(int(layer), {})[int(head)] = override
    return by_layer


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
        Every activation is computed afresh (none aliases the weights), so a
        cache stays a snapshot while the weights are edited; q, k, v and
        hook_result are transposed views of head-major arrays, and hook_result
        is computed on first access.

    Weights large enough to overflow float32 give inf/NaN activations, returned
    as they are (no warning): callers check ``np.isfinite`` and say so.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _run_with_cache(weights, tokens, overrides, dtype)


def _run_with_cache(
    weights: Weights, tokens: object, overrides: Overrides | None, dtype: type
) -> tuple[np.ndarray, ActivationCache]:
    cfg = weights.config
    toks = check_tokens(tokens, cfg.d_vocab, cfg.n_ctx)  # [batch, pos]
    by_layer = _overrides_by_layer(overrides, cfg.n_layers, cfg.n_heads)
    batch, n_pos = toks.shape
    f = np.dtype(dtype)
    M = cfg.d_model
    store: dict[str, np.ndarray] = {}

    # Parameters are read on every call (cast only if the dtype differs); the
    # fused Q/K/V matrices come from Weights.derived, which sees in-place edits.
    embed = np.asarray(weights["embed.W_E"], dtype=f)[toks]  # [batch, pos, d_model]
    store["hook_embed"] = embed
    resid = embed
    qk_pos: np.ndarray | None = None  # shortformer: added to the query and key inputs of every block
    if cfg.positional_embedding_type != "rotary":
        pos_embed = np.array(weights["pos_embed.W_pos"][:n_pos], dtype=f)[None]  # [1, pos, d_model]
        if batch > 1:
            pos_embed = np.broadcast_to(pos_embed, (batch, n_pos, M))  # [batch, pos, d_model]
        store["hook_pos_embed"] = pos_embed
        if cfg.positional_embedding_type == "standard":
            resid = embed + pos_embed  # [batch, pos, d_model]
        else:
            qk_pos = pos_embed[0]  # [pos, d_model]

    lazy: dict[str, Callable[[], np.ndarray]] = {}
    for layer in range(cfg.n_layers):
        resid = _block(weights, layer, resid, by_layer.get(layer, {}), cfg.scale, f, store, lazy, qk_pos)

    if cfg.normalization_type is not None:
        resid = _norm(weights, cfg, "ln_final", resid, f, store)
    store["unembed.hook_in"] = resid
    W_U = np.asarray(weights["unembed.W_U"], dtype=f)  # [d_model, d_vocab_out]
    logits = np.matmul(resid, W_U)  # [batch, pos, d_vocab_out]
    logits += np.asarray(weights["unembed.b_U"], dtype=f)
    store["unembed.hook_out"] = logits
    return logits, ActivationCache(store, lazy)


def _block(
    weights: Weights,
    layer: int,
    resid: np.ndarray,
    overrides: dict[int, HeadOverride],
    scale: float,
    f: np.dtype,
    store: dict[str, np.ndarray],
    lazy: dict[str, Callable[[], np.ndarray]],
    qk_pos: np.ndarray | None = None,
) -> np.ndarray:
    """One attention block: caches its activations in ``store``, returns ``resid_post``.

    Activations are cached in TransformerLens' axis order; attention works on
    head-major transposed views of the same arrays. ``qk_pos`` [pos, d_model]
    is the shortformer's positional embedding, added to the (normalised)
    query and key inputs but not to the value input.
    """
    (
        h_resid_pre, h_q, h_k, h_v, h_scores, h_pattern, h_z, h_result, h_attn_out, h_resid_post,
    ) = _layer_hooks(layer)  # fmt: skip
    p = f"blocks.{layer}.attn."
    store[h_resid_pre] = resid
    batch, n_pos, d_model = resid.shape
    # One GEMM for the queries, keys and values of every head, with the fused
    # weights cached on the Weights (rebuilt whenever a source array changes,
    # in place or not; see Weights.derived).
    W_QKV, b_QKV = weights.derived(("qkv", layer, f.str), _qkv_params(layer), partial(_fuse_qkv, f))
    n_heads, d_head = b_QKV.shape[1:]
    cfg = weights.config  # cached on the weights
    attn_in = resid if cfg.normalization_type is None else _norm(weights, cfg, f"blocks.{layer}.ln1", resid, f, store)
    qkv = np.matmul(attn_in, W_QKV)  # [batch, pos, 3·head_index·d_head]
    qkv += b_QKV.reshape(-1)
    qkv = qkv.reshape(batch, n_pos, 3, n_heads, d_head)  # [batch, pos, qkv, head_index, d_head]
    if qk_pos is not None:
        # (x + pos)·W = x·W + pos·W: the queries and keys of the shortformer's inputs
        W_qk = W_QKV.reshape(d_model, 3, n_heads, d_head)[:, :2]  # [d_model, qk, head_index, d_head]
        qkv[:, :, :2] += np.einsum("pm,mchd->pchd", qk_pos, W_qk)  # [pos, qk, head_index, d_head]
    store[h_q] = qkv[:, :, 0]  # [batch, pos, head_index, d_head]
    store[h_k] = qkv[:, :, 1]
    store[h_v] = qkv[:, :, 2]
    if cfg.positional_embedding_type == "rotary":
        rot = (cfg.rotary_dim or d_head, cfg.rotary_base, cfg.rotary_adjacent_pairs)
        q_rot = store[f"blocks.{layer}.attn.hook_rot_q"] = apply_rotary(qkv[:, :, 0], *rot)
        k_rot = store[f"blocks.{layer}.attn.hook_rot_k"] = apply_rotary(qkv[:, :, 1], *rot)
        q, k = q_rot.transpose(0, 2, 1, 3), k_rot.transpose(0, 2, 1, 3)  # [batch, head_index, pos, d_head]
        v = qkv[:, :, 2].transpose(0, 2, 1, 3)
    else:
        # [batch, head_index, pos, d_head] views: strided, but each head's matrix is BLAS-ready
        q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))

    z = np.empty((batch, n_pos, n_heads, d_head), f)  # TransformerLens' layout, for one GEMM below
    z_h = z.transpose(0, 2, 1, 3)  # [batch, head_index, pos, d_head], a view the kernel writes through
    scores, pattern, _ = causal_attention(q, k, v, scale, z=z_h)  # [batch, head_index, query_pos, key_pos]
    for h, o in overrides.items():
        if o.changes_pattern:
            s_h, p_h = override_head(q[:, h], k[:, h], o, scale)  # [batch, query_pos, key_pos]
            scores[:, h] = s_h
            pattern[:, h] = p_h
            np.matmul(p_h, v[:, h], out=z_h[:, h])  # [batch, pos, d_head]
        if o.ablation == "zero":
            z_h[:, h] = 0.0
        elif o.ablation == "mean":
            z_h[:, h] = z_h[:, h].mean(axis=(0, 1))  # [d_head], over batch and positions
    store[h_scores] = scores
    store[h_pattern] = pattern
    store[h_z] = z

    # a copy: the lazily computed hook_result must use this run's W_O even if it is edited later
    W_O = np.array(weights[p + "W_O"], dtype=f)  # [head_index, d_head, d_model]
    # attn_out = Σ_h z_h·W_O[h] + b_O as one product over (head_index, d_head), as TransformerLens does
    attn_out = np.matmul(z.reshape(batch, n_pos, n_heads * d_head), W_O.reshape(n_heads * d_head, d_model))
    attn_out += np.asarray(weights[p + "b_O"], dtype=f)  # [batch, pos, d_model]
    store[h_attn_out] = attn_out
    lazy[h_result] = lambda: _head_results(z_h, W_O)
    resid = resid + attn_out  # [batch, pos, d_model]
    store[h_resid_post] = resid
    return resid


def _norm(
    weights: Weights, cfg: ModelConfig, prefix: str, x: np.ndarray, f: np.dtype, store: dict[str, np.ndarray]
) -> np.ndarray:
    """The configured normalisation at ``prefix`` (``blocks.0.ln1``, ``ln_final``), caching its hooks."""
    kind = cfg.normalization_type
    assert kind is not None
    w = np.asarray(weights[prefix + ".w"], dtype=f) if kind in ("LN", "RMS") else None
    b = np.asarray(weights[prefix + ".b"], dtype=f) if kind == "LN" else None
    out, scale, normalized = normalize(x, kind, cfg.eps, w, b)
    store[prefix + ".hook_scale"] = scale
    store[prefix + ".hook_normalized"] = normalized
    return out


@lru_cache(maxsize=64)
def _qkv_params(layer: int) -> tuple[str, ...]:
    """Parameter names :func:`_fuse_qkv` takes, in its order."""
    return tuple(f"blocks.{layer}.attn.{n}" for n in ("W_Q", "W_K", "W_V", "b_Q", "b_K", "b_V"))


def _fuse_qkv(
    f: np.dtype, W_Q: np.ndarray, W_K: np.ndarray, W_V: np.ndarray, b_Q: np.ndarray, b_K: np.ndarray, b_V: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """W_Q, W_K, W_V side by side, [d_model, 3·head_index·d_head], and the biases, [qkv, head_index, d_head]."""
    n_heads, d_model, d_head = W_Q.shape
    W_QKV = np.empty((d_model, 3, n_heads, d_head), f)  # [d_model, qkv, head_index, d_head]
    for i, W in enumerate((W_Q, W_K, W_V)):
        W_QKV[:, i] = W.transpose(1, 0, 2)  # [d_model, head_index, d_head]
    W_QKV = W_QKV.reshape(d_model, 3 * n_heads * d_head)
    b_QKV = np.stack((b_Q, b_K, b_V)).astype(f)  # [qkv, head_index, d_head]
    W_QKV.flags.writeable = False  # shared by every run until the weights change
    b_QKV.flags.writeable = False
    return W_QKV, b_QKV


def _head_results(z_h: np.ndarray, W_O: np.ndarray) -> np.ndarray:
    """hook_result: each head's output before the sum, [batch, pos, head_index, d_model]."""
    # computed on first access, after run_with_cache returned: its errstate (inf/NaN returned as they are) again
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # [batch, head_index, pos, d_head] · [head_index, d_head, d_model] -> [batch, head_index, pos, d_model]
        return np.matmul(z_h, W_O).transpose(0, 2, 1, 3)


def run(weights: Weights, tokens: object, overrides: Overrides | None = None, *, dtype: type = np.float32) -> np.ndarray:
    """Logits only, [batch, pos, d_vocab]."""
    return run_with_cache(weights, tokens, overrides, dtype=dtype)[0]
