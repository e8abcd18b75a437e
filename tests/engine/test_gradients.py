"""The hand-written backward pass against central finite differences, and its forward against the engine's.

The check runs in float64 on a model small enough to difference every
parameter (about 430 numbers, under a second).
"""

from __future__ import annotations

import numpy as np
import pytest

from induction_gui.engine import ModelConfig, Weights, per_token_loss, run_with_cache
from induction_gui.engine.backward import Workspace, forward_backward, loss_and_grads

# float64 central differences with h = 1e-5 carry an error of about h² · f''' + eps / h ≈ 1e-10
# relative to the gradient: 1e-6 leaves room without hiding a wrong term.
GRAD_RTOL = 1e-6
H = 1e-5
TINY = ModelConfig(n_layers=2, n_heads=2, d_model=6, d_head=3, d_vocab=7, n_ctx=6)


def _tiny_weights(seed: int = 1) -> Weights:
    """Random float64 weights with non-zero biases (zero biases would hide their gradients)."""
    w = Weights.random(TINY, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 100)
    for name in w:
        if ".b_" in name or name.endswith("b_U"):
            w[name] = rng.standard_normal(w[name].shape) * 0.3
    return w


def _numerical_grads(w: Weights, tokens: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for name in w:
        p = w[name]
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + H
            up = loss_and_grads(w, tokens)[0]
            p[idx] = old - H
            down = loss_and_grads(w, tokens)[0]
            p[idx] = old
            g[idx] = (up - down) / (2 * H)
        out[name] = g
    return out


def _check(w: Weights, tokens: np.ndarray) -> None:
    _, grads = loss_and_grads(w, tokens)
    numerical = _numerical_grads(w, tokens)
    assert set(grads) == set(w)
    for name, num in numerical.items():
        ana = grads[name]
        assert ana.shape == w[name].shape and ana.dtype == np.float64
        if ".b_K" in name:
            # softmax ignores a constant added to every key score of a row, and q·b_K is one: the gradient is 0
            np.testing.assert_allclose(ana, 0.0, atol=1e-12, err_msg=name)
            np.testing.assert_allclose(num, 0.0, atol=1e-8, err_msg=name)
            continue
        rel = np.linalg.norm(num - ana) / np.linalg.norm(num)
        assert rel < GRAD_RTOL, f"{name}: relative error {rel:.2e}"


def test_every_gradient_matches_central_differences() -> None:
    tokens = np.random.default_rng(0).integers(0, TINY.d_vocab, size=(3, 5))  # [batch, pos]; pos < n_ctx on purpose
    _check(_tiny_weights(), tokens)


def test_gradients_are_unchanged_when_scores_overflow_the_fast_softmax() -> None:
    # q·b_K adds the same number to every score of a row, which softmax ignores: a huge b_K sends every
    # row far beyond exp()'s range (forcing the max-subtracting path) without changing the function
    w = _tiny_weights(seed=3)
    tokens = np.random.default_rng(1).integers(0, TINY.d_vocab, size=(2, 6))  # [batch, pos]
    loss, grads = loss_and_grads(w, tokens)
    shifted = w.copy()
    for layer in range(TINY.n_layers):
        shifted[f"blocks.{layer}.attn.b_K"] = np.full((TINY.n_heads, TINY.d_head), 3e3)
    _, cache = run_with_cache(shifted, tokens, dtype=np.float64)
    assert np.abs(cache["blocks.0.attn.hook_attn_scores"]).max() > 800  # exp() would overflow float64
    loss_s, grads_s = loss_and_grads(shifted, tokens)
    assert loss_s == pytest.approx(loss, rel=1e-10)
    for name, g in grads.items():
        if ".b_K" in name:
            continue
        # scores of ~1e4 keep float64 rounding near 1e-12 absolute
        assert np.linalg.norm(grads_s[name] - g) < 1e-8 * max(np.linalg.norm(g), 1e-3), name


def test_unused_positions_get_zero_gradient() -> None:
    w = _tiny_weights()
    _, grads = loss_and_grads(w, np.array([[0, 1, 2, 3]]))
    assert np.all(grads["pos_embed.W_pos"][4:] == 0)
    assert np.all(grads["embed.W_E"][4:] == 0)  # tokens 4..6 do not occur


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_matches_the_engine_forward(dtype: type) -> None:
    cfg = ModelConfig(n_layers=2, n_heads=2, d_model=32, d_head=16, d_vocab=65, n_ctx=64)
    w = Weights.random(cfg, seed=2, dtype=dtype)
    tokens = np.random.default_rng(2).integers(0, 65, size=(4, 64))  # [batch, pos]
    loss, _ = loss_and_grads(w, tokens)
    logits, cache = run_with_cache(w, tokens, dtype=dtype)
    expected = per_token_loss(logits, tokens).mean()
    # float32: both sum ~100 exp() terms per row in a different order; a few ulps of a loss of ~4
    assert loss == pytest.approx(expected, rel=1e-5 if dtype == np.float32 else 1e-12)
    ws = Workspace.for_weights(w, 4, 64)
    forward_backward(w, tokens, ws)
    for layer in range(2):
        atol = 1e-6 if dtype == np.float32 else 1e-14  # the patterns of two forward passes, summed in another order
        np.testing.assert_allclose(ws.layers[layer].pattern, cache[f"blocks.{layer}.attn.hook_pattern"], atol=atol)


def test_large_logits_take_the_safe_cross_entropy() -> None:
    cfg = ModelConfig(n_layers=1, n_heads=1, d_model=8, d_head=4, d_vocab=11, n_ctx=8)
    w = Weights.random(cfg, seed=5)
    w["unembed.W_U"] *= 300.0  # logits of several hundred: exp() overflows float32 without the shift
    tokens = np.random.default_rng(5).integers(0, 11, size=(2, 8))
    loss, grads = loss_and_grads(w, tokens)
    logits, _ = run_with_cache(w, tokens)
    assert np.isfinite(loss) and all(np.isfinite(g).all() for g in grads.values())
    assert loss == pytest.approx(per_token_loss(logits, tokens).mean(), rel=1e-4)


def test_float32_gradients_agree_with_float64() -> None:
    cfg = ModelConfig(n_layers=2, n_heads=1, d_model=32, d_head=16, d_vocab=65, n_ctx=64)
    w32 = Weights.random(cfg, seed=4)
    tokens = np.random.default_rng(4).integers(0, 65, size=(8, 64))
    _, g32 = loss_and_grads(w32, tokens)
    _, g64 = loss_and_grads(w32.astype(np.float64), tokens)
    for name in g64:
        if ".b_K" in name:
            continue  # true gradient 0: only rounding noise to compare
        scale = np.abs(g64[name]).max()
        # float32 rounding through two blocks: about 1e-6 of the largest entry, 1e-4 leaves margin
        np.testing.assert_allclose(g32[name], g64[name], atol=1e-4 * scale, err_msg=name)


def test_token_errors_are_reported() -> None:
    w = _tiny_weights()
    with pytest.raises(ValueError, match="at least 2 positions"):
        loss_and_grads(w, np.array([[1]]))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        loss_and_grads(w, np.array([[1, 99]]))
