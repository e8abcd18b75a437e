"""Forward and hand-written backward pass of an attention-only transformer, for training.

The forward is the engine's (:func:`induction_gui.engine.forward.run_with_cache`
without hooks or overrides): ``x = W_E[t] + W_pos``; per block
``q, k, v = x W + b``, ``A = softmax(q·kᵀ / sqrt(d_head) + causal mask)``,
``x += Σ_h (A v)_h W_O[h] + b_O``; ``logits = x W_U + b_U``. The loss is the
mean next-token cross-entropy over every (sequence, position < n_pos − 1).

Why by hand: PyTorch must not be a dependency, and a NumPy autograd would
allocate a temporary per operation. Here every activation and gradient lives
in a buffer of a :class:`Workspace` that is reused from step to step, the
softmax and its backward run in place, and the softmax backward uses
``Σ_j A_ij dA_ij = dz_i · z_i`` (a [pos, d_head] product instead of a
[pos, pos] one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .weights import Weights, block_names

_BLOCK_PARAMS = ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O")


def param_names(n_layers: int) -> tuple[str, ...]:
    """Every trainable parameter, in the order gradients are laid out in a flat vector."""
    names = ["embed.W_E", "pos_embed.W_pos"]
    for layer in range(n_layers):
        names.extend(block_names(layer)[n] for n in _BLOCK_PARAMS)
    names.extend(("unembed.W_U", "unembed.b_U"))
    return tuple(names)


@dataclass
class _Layer:
    """Buffers of one block: its input, fused Q/K/V, pattern and mixed values."""

    x: np.ndarray  # [batch, pos, d_model] the block's input residual stream
    qkv: np.ndarray  # [batch, pos, qkv, head_index, d_head]
    pattern: np.ndarray  # [batch, head_index, query_pos, key_pos]
    z: np.ndarray  # [batch, pos, head_index, d_head]


@dataclass
class Workspace:
    """Every array a forward + backward pass of one size needs, allocated once.

    Gradients are written into ``grad_flat`` (one float vector in
    :func:`param_names` order) through the views in ``grads``, so an optimiser
    can update every parameter with a handful of vector operations.
    """

    n_batch: int  # sequences per batch
    n_pos: int  # positions per sequence
    n_layers: int
    n_heads: int
    d_model: int
    d_head: int
    d_vocab: int
    n_ctx: int  # rows of W_pos (≥ n_pos)
    dtype: np.dtype
    layers: list[_Layer] = field(default_factory=list)
    grad_flat: np.ndarray = field(default=None)  # type: ignore[assignment]  # [n_params]
    grads: dict[str, np.ndarray] = field(default_factory=dict)  # name -> view into grad_flat

    def __post_init__(self) -> None:
        B, T, M, H, D, V = self.n_batch, self.n_pos, self.d_model, self.n_heads, self.d_head, self.d_vocab
        f = self.dtype
        self.layers = [
            _Layer(
                x=np.empty((B, T, M), f),
                qkv=np.empty((B, T, 3, H, D), f),
                pattern=np.empty((B, H, T, T), f),
                z=np.empty((B, T, H, D), f),
            )
            for _ in range(self.n_layers)
        ]
        self.resid = np.empty((B, T, M), f)  # [batch, pos, d_model] final residual stream
        self.logits = np.empty((B, T, V), f)  # [batch, pos, d_vocab], becomes probabilities, then d logits
        self.d_resid = np.empty((B * T, M), f)  # [batch·pos, d_model]
        self.d_qkv = np.empty((B, T, 3, H, D), f)  # [batch, pos, qkv, head_index, d_head]
        self.d_pattern = np.empty((B, H, T, T), f)  # [batch, head_index, query_pos, key_pos]
        self.d_z = np.empty((B * T, H * D), f)  # [batch·pos, head_index·d_head]
        self.token_loss = np.empty((B, T - 1), f)  # [batch, pos - 1]
        self.target_rows = (np.arange(B)[:, None] * T + np.arange(T - 1)).reshape(-1)  # [batch·(pos - 1)] rows of loss
        self.fused: list[np.ndarray] = []  # per block, the fused [d_model, 3·H·D] matrix of the last forward
        # -inf above the diagonal: added to the scores, exp() makes those weights exactly 0
        self.mask = np.triu(np.full((T, T), -np.inf, f), k=1)  # [query_pos, key_pos]
        shapes = {"embed.W_E": (V, M), "pos_embed.W_pos": (self.n_ctx, M), "unembed.W_U": (M, V), "unembed.b_U": (V,)}
        for layer in range(self.n_layers):
            n = block_names(layer)
            shapes.update({n["W_Q"]: (H, M, D), n["W_K"]: (H, M, D), n["W_V"]: (H, M, D), n["W_O"]: (H, D, M)})
            shapes.update({n["b_Q"]: (H, D), n["b_K"]: (H, D), n["b_V"]: (H, D), n["b_O"]: (M,)})
        names = param_names(self.n_layers)
        self.grad_flat = np.zeros(sum(math.prod(shapes[n]) for n in names), f)  # [n_params]
        start = 0
        for n in names:
            size = math.prod(shapes[n])
            self.grads[n] = self.grad_flat[start : start + size].reshape(shapes[n])
            start += size

    @classmethod
    def for_weights(cls, weights: Weights, n_batch: int, n_pos: int) -> Workspace:
        """A workspace for ``weights``' sizes and dtype and [n_batch, n_pos] tokens."""
        c = weights.config
        dtype = weights["embed.W_E"].dtype
        return cls(n_batch, n_pos, c.n_layers, c.n_heads, c.d_model, c.d_head, c.d_vocab, c.n_ctx, dtype)

    def fits(self, weights: Weights, tokens: np.ndarray) -> bool:
        """Whether this workspace serves ``weights`` on ``tokens`` ([batch, pos])."""
        c = weights.config
        return (
            (self.n_batch, self.n_pos) == tokens.shape
            and (self.n_layers, self.n_heads, self.d_model, self.d_head, self.d_vocab, self.n_ctx)
            == (c.n_layers, c.n_heads, c.d_model, c.d_head, c.d_vocab, c.n_ctx)
            and self.dtype == weights["embed.W_E"].dtype
        )


def forward_loss(weights: Weights, tokens: np.ndarray, ws: Workspace) -> float:
    """Mean next-token cross-entropy only: the patterns and per-token loss are left in ``ws``, no gradients."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        _forward(weights, tokens, ws)
        return _loss_and_d_logits(weights, tokens, ws, grad=False)


def forward_backward(weights: Weights, tokens: np.ndarray, ws: Workspace) -> float:
    """Mean next-token cross-entropy of ``tokens``; gradients into ``ws.grads``.

    Also leaves in ``ws``: each block's attention pattern (``ws.layers[l].pattern``,
    [batch, head_index, query_pos, key_pos]) and the per-token loss
    (``ws.token_loss``, [batch, pos − 1]), so that the caller's metrics need no
    second forward pass. Overflow gives a non-finite loss, returned as it is.

    Parameters
    ----------
    weights
        the model; its dtype (float32 or float64) is the computation's.
    tokens
        [batch, pos] int64, ids in range, pos ≥ 2 (checked by the caller).
    ws
        buffers from :meth:`Workspace.for_weights` for these sizes.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        _forward(weights, tokens, ws)
        loss = _loss_and_d_logits(weights, tokens, ws)
        _backward(weights, tokens, ws)
    return loss


def _fused_qkv(weights: Weights, layer: int, inv_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """W_Q / attn_scale, W_K, W_V side by side, [d_model, qkv·head_index·d_head], and the biases likewise.

    Folding 1 / attn_scale into the query weights saves a pass over the
    [pos, pos] scores; the backward pass undoes it on the (small) gradients.
    """
    n = block_names(layer)
    W = np.stack([weights[n[w]] for w in ("W_Q", "W_K", "W_V")], axis=1)  # [head_index, qkv, d_model, d_head]
    W[:, 0] *= inv_scale
    W = W.transpose(2, 1, 0, 3)  # [d_model, qkv, head_index, d_head]
    b = np.stack([weights[n[w]] for w in ("b_Q", "b_K", "b_V")])  # [qkv, head_index, d_head]
    b[0] *= inv_scale
    return np.ascontiguousarray(W.reshape(W.shape[0], -1)), b.reshape(-1)


def _softmax_rows(a: np.ndarray, mask: np.ndarray, q: np.ndarray, k: np.ndarray) -> None:
    """Causal softmax over the last axis of the scores ``a`` (= q·kᵀ), in place.

    ``exp`` without subtracting the row maximum first saves two passes over
    [pos, pos]; if a row's sum then over- or underflows (scores beyond about
    ±80, rare), the scores are recomputed from q and k and normalised the safe
    way, so the result is the same.
    """
    a += mask
    np.exp(a, out=a)
    total = a.sum(axis=-1, keepdims=True)  # [..., query_pos, 1]
    if not (np.all(total < 3e38) and np.all(total > 1e-30)):
        np.matmul(q, k.transpose(0, 1, 3, 2), out=a)
        a += mask
        a -= a.max(axis=-1, keepdims=True)  # the diagonal is never masked: the row max is finite
        np.exp(a, out=a)
        total = a.sum(axis=-1, keepdims=True)
    np.reciprocal(total, out=total)
    a *= total


def _forward(weights: Weights, tokens: np.ndarray, ws: Workspace) -> None:
    B, T, M, H, D = ws.n_batch, ws.n_pos, ws.d_model, ws.n_heads, ws.d_head
    inv_scale = 1.0 / weights.config.scale
    x = ws.layers[0].x if ws.layers else ws.resid
    np.take(weights["embed.W_E"], tokens, axis=0, out=x)  # [batch, pos, d_model]
    x += weights["pos_embed.W_pos"][:T]
    ws.fused = []
    for layer, buf in enumerate(ws.layers):
        W_QKV, b_QKV = _fused_qkv(weights, layer, inv_scale)  # [d_model, 3·H·D], [3·H·D]
        ws.fused.append(W_QKV)
        qkv = buf.qkv.reshape(B * T, 3 * H * D)  # [batch·pos, qkv·head_index·d_head]
        np.matmul(buf.x.reshape(B * T, M), W_QKV, out=qkv)
        qkv += b_QKV
        q, k, v = (buf.qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))  # [batch, head_index, pos, d_head]
        a = buf.pattern  # [batch, head_index, query_pos, key_pos]
        np.matmul(q, k.transpose(0, 1, 3, 2), out=a)  # q is already divided by attn_scale
        _softmax_rows(a, ws.mask, q, k)
        np.matmul(a, v, out=buf.z.transpose(0, 2, 1, 3))  # [batch, head_index, pos, d_head] into [batch, pos, H, D]
        x_next = ws.layers[layer + 1].x if layer + 1 < len(ws.layers) else ws.resid  # [batch, pos, d_model]
        W_O = weights[block_names(layer)["W_O"]].reshape(H * D, M)  # [head_index·d_head, d_model]
        np.matmul(buf.z.reshape(B * T, H * D), W_O, out=x_next.reshape(B * T, M))
        x_next += weights[block_names(layer)["b_O"]]
        x_next += buf.x
    _unembed(weights, ws)


def _unembed(weights: Weights, ws: Workspace) -> None:
    """``ws.logits`` = final residual stream · W_U + b_U."""
    B, T, M = ws.n_batch, ws.n_pos, ws.d_model
    logits = ws.logits.reshape(B * T, -1)  # [batch·pos, d_vocab]
    np.matmul(ws.resid.reshape(B * T, M), weights["unembed.W_U"], out=logits)
    logits += weights["unembed.b_U"]


def _loss_and_d_logits(weights: Weights, tokens: np.ndarray, ws: Workspace, grad: bool = True) -> float:
    """Cross-entropy from ``ws.logits``, which become d loss / d logits in place (if ``grad``)."""
    B, T = ws.n_batch, ws.n_pos
    lg = ws.logits  # [batch, pos, d_vocab]
    target = np.take_along_axis(lg[:, :-1], tokens[:, 1:, None], axis=-1)[..., 0]  # [batch, pos - 1]
    np.exp(lg, out=lg)  # as in _softmax_rows: the maximum is subtracted only if needed
    total = lg.sum(axis=-1)  # [batch, pos]
    if not (np.all(total < 3e38) and np.all(total > 1e-30)):
        _unembed(weights, ws)  # the logits again, to normalise the safe way
        shift = lg.max(axis=-1, keepdims=True)  # [batch, pos, 1]
        lg -= shift
        target -= shift[:, :-1, 0]
        np.exp(lg, out=lg)
        total = lg.sum(axis=-1)
    np.subtract(np.log(total[:, :-1]), target, out=ws.token_loss)  # [batch, pos - 1]: log Σ exp − target logit
    loss = float(ws.token_loss.mean(dtype=np.float64))
    if not grad:
        return loss
    # d mean CE / d logits = (softmax − one-hot) / count, and 0 at the last position (it predicts nothing)
    count = B * (T - 1)
    np.reciprocal(total, out=total)
    total *= 1.0 / count
    lg *= total[..., None]
    lg[:, -1] = 0.0
    lg.reshape(B * T, -1)[ws.target_rows, tokens[:, 1:].reshape(-1)] -= 1.0 / count
    return loss


def _backward(weights: Weights, tokens: np.ndarray, ws: Workspace) -> None:
    B, T, M, H, D, V = ws.n_batch, ws.n_pos, ws.d_model, ws.n_heads, ws.d_head, ws.d_vocab
    g = ws.grads
    inv_scale = 1.0 / weights.config.scale
    d_logits = ws.logits.reshape(B * T, V)  # [batch·pos, d_vocab]
    np.matmul(ws.resid.reshape(B * T, M).T, d_logits, out=g["unembed.W_U"])  # [d_model, d_vocab]
    np.sum(d_logits, axis=0, out=g["unembed.b_U"])
    dx = ws.d_resid  # [batch·pos, d_model]: d loss / d residual stream, accumulated down the blocks
    np.matmul(d_logits, weights["unembed.W_U"].T, out=dx)
    for layer in reversed(range(ws.n_layers)):
        buf = ws.layers[layer]
        n = block_names(layer)
        z = buf.z.reshape(B * T, H * D)  # [batch·pos, head_index·d_head]
        np.matmul(z.T, dx, out=g[n["W_O"]].reshape(H * D, M))
        np.sum(dx, axis=0, out=g[n["b_O"]])
        dz = ws.d_z  # [batch·pos, head_index·d_head]
        np.matmul(dx, weights[n["W_O"]].reshape(H * D, M).T, out=dz)
        dz_h = dz.reshape(B, T, H, D).transpose(0, 2, 1, 3)  # [batch, head_index, pos, d_head]
        q, k, v = (buf.qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))  # [batch, head_index, pos, d_head]
        dq, dk, dv = (ws.d_qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
        a = buf.pattern  # [batch, head_index, query_pos, key_pos]
        da = ws.d_pattern
        np.matmul(dz_h, v.transpose(0, 1, 3, 2), out=da)  # d loss / d pattern
        np.matmul(a.transpose(0, 1, 3, 2), dz_h, out=dv)
        # softmax backward: ds_ij = A_ij (dA_ij − Σ_k A_ik dA_ik), and Σ_k A_ik dA_ik = dz_i · z_i
        z_h = buf.z.transpose(0, 2, 1, 3)  # [batch, head_index, pos, d_head]
        row = np.einsum("bhpd,bhpd->bhp", dz_h, z_h)  # [batch, head_index, query_pos]
        da -= row[..., None]
        da *= a  # masked entries are 0 here because A is
        np.matmul(da, k, out=dq)  # d loss / d (q / attn_scale)
        np.matmul(da.transpose(0, 1, 3, 2), q, out=dk)  # q here is already divided by attn_scale
        d_qkv = ws.d_qkv.reshape(B * T, 3 * H * D)  # [batch·pos, qkv·head_index·d_head]
        x = buf.x.reshape(B * T, M)  # [batch·pos, d_model]
        dW = (x.T @ d_qkv).reshape(M, 3, H, D)  # [d_model, qkv, head_index, d_head]
        db = d_qkv.sum(axis=0).reshape(3, H, D)  # [qkv, head_index, d_head]
        for i, w in enumerate("QKV"):
            g[n[f"W_{w}"]][...] = dW[:, i].transpose(1, 0, 2)  # [head_index, d_model, d_head]
            g[n[f"b_{w}"]][...] = db[i]
        g[n["W_Q"]] *= inv_scale  # the chain rule through q / attn_scale
        g[n["b_Q"]] *= inv_scale
        dx += d_qkv @ ws.fused[layer].T  # the residual path carries dx through; the block adds its input gradient
    d_embed = dx.reshape(B, T, M)  # [batch, pos, d_model]
    g["pos_embed.W_pos"][T:] = 0.0
    np.sum(d_embed, axis=0, out=g["pos_embed.W_pos"][:T])
    # W_E: every occurrence of a token adds its gradient; summed per token after sorting by token
    order = np.argsort(tokens.reshape(-1), kind="stable")  # [batch·pos]
    sorted_tokens = tokens.reshape(-1)[order]  # [batch·pos]
    starts = np.flatnonzero(np.r_[True, sorted_tokens[1:] != sorted_tokens[:-1]])  # [distinct tokens]
    W_E = g["embed.W_E"]
    W_E[...] = 0.0
    W_E[sorted_tokens[starts]] = np.add.reduceat(dx[order], starts, axis=0)  # [distinct tokens, d_model]


def loss_and_grads(weights: Weights, tokens: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Mean next-token cross-entropy and its gradient for every parameter.

    Parameters
    ----------
    weights
        the model, float32 or float64 (float64 for finite-difference checks).
    tokens
        [batch, pos] (or [pos]) int token ids, 2 ≤ pos ≤ n_ctx.

    Returns
    -------
    loss
        mean over every sequence and every position but the last.
    grads
        parameter name -> d loss / d parameter, same shapes as the weights (fresh arrays).
    """
    from .forward import check_tokens

    c = weights.config
    toks = check_tokens(tokens, c.d_vocab, c.n_ctx)  # [batch, pos]
    if toks.shape[1] < 2:
        raise ValueError("tokens: need at least 2 positions to predict a next token")
    ws = Workspace.for_weights(weights, *toks.shape)
    loss = forward_backward(weights, toks, ws)
    return loss, {n: a.copy() for n, a in ws.grads.items()}
