"""Invariants of attention that hold for any weights and tokens (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from induction_gui.engine import ModelConfig, Weights, run_with_cache

CFG = ModelConfig(n_layers=2, n_heads=3, d_model=12, d_head=4, d_vocab=9, n_ctx=48)
PROPERTY_SETTINGS = settings(max_examples=30, deadline=None)

seeds = st.integers(0, 2**16)
sequences = st.lists(st.integers(0, CFG.d_vocab - 1), min_size=1, max_size=CFG.n_ctx)
# one weight scale per example: 1 is TransformerLens' init, 6 gives near one-hot patterns
scales = st.sampled_from([0.3, 1.0, 6.0])


def _weights(seed: int, scale: float) -> Weights:
    w = Weights.random(CFG, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for name in w:
        w[name] = w[name] * scale if ".W_" in name else rng.standard_normal(w[name].shape).astype(np.float32) * 0.1
    return w


@PROPERTY_SETTINGS
@given(seed=seeds, scale=scales, tokens=sequences)
def test_patterns_are_causal_distributions(seed: int, scale: float, tokens: list[int]) -> None:
    _, cache = run_with_cache(_weights(seed, scale), tokens)
    n = len(tokens)
    above = np.triu(np.ones((n, n), bool), k=1)  # [query_pos, key_pos]
    for layer in range(CFG.n_layers):
        pattern = cache["pattern", layer]  # [batch, head_index, query_pos, key_pos]
        np.testing.assert_allclose(pattern.sum(-1), 1.0, atol=1e-5)
        assert (pattern >= 0).all()
        assert not pattern[..., above].any()
        assert np.isneginf(cache["attn_scores", layer][..., above]).all()


@PROPERTY_SETTINGS
@given(seed=seeds, scale=scales, tokens=sequences.filter(lambda t: len(t) >= 2), data=st.data())
def test_a_later_token_never_changes_earlier_positions(seed: int, scale: float, tokens: list[int], data) -> None:
    w = _weights(seed, scale)
    n = len(tokens)
    i = data.draw(st.integers(1, n - 1), label="changed position")
    changed = list(tokens)
    changed[i] = (changed[i] + data.draw(st.integers(1, CFG.d_vocab - 1), label="shift")) % CFG.d_vocab
    logits_a, a = run_with_cache(w, tokens)
    logits_b, b = run_with_cache(w, changed)
    np.testing.assert_array_equal(logits_a[:, :i], logits_b[:, :i])
    for name in a:
        x, y = a[name], b[name]
        if x.ndim == 4 and x.shape[-1] == x.shape[-2] == n:  # [batch, head_index, query_pos, key_pos]
            np.testing.assert_array_equal(x[:, :, :i], y[:, :, :i], err_msg=name)
        else:  # [batch, pos, ...]
            np.testing.assert_array_equal(x[:, :i], y[:, :i], err_msg=name)


@PROPERTY_SETTINGS
@given(seed=seeds, scale=scales, tokens=sequences, perm=st.permutations(range(CFG.n_heads)))
def test_permuting_heads_permutes_their_outputs(seed: int, scale: float, tokens: list[int], perm: list[int]) -> None:
    w = _weights(seed, scale)
    p = w.copy()
    for layer in range(CFG.n_layers):
        for short in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V"):
            name = f"blocks.{layer}.attn.{short}"
            p[name] = w[name][perm]  # the head axis is first
    # float64: the property is exact maths, but summing heads in another order
    # changes float32 rounding, which near-tied softmax rows (sharp weights)
    # amplify in the next layer
    logits, cache = run_with_cache(w, tokens, dtype=np.float64)
    logits_p, cache_p = run_with_cache(p, tokens, dtype=np.float64)
    np.testing.assert_allclose(logits_p, logits, rtol=1e-9, atol=1e-9)
    for layer in range(CFG.n_layers):
        for name, head_axis in (("pattern", 1), ("attn_scores", 1), ("z", 2), ("result", 2), ("q", 2), ("v", 2)):
            np.testing.assert_allclose(
                cache_p[name, layer], np.take(cache[name, layer], perm, axis=head_axis), rtol=1e-9, atol=1e-9,
                err_msg=f"{name} {layer}",
            )


@st.composite
def batches(draw: st.DrawFn) -> list[list[int]]:
    """2–4 sequences of one length."""
    n = draw(st.integers(1, CFG.n_ctx))
    token = st.integers(0, CFG.d_vocab - 1)
    return draw(st.lists(st.lists(token, min_size=n, max_size=n), min_size=2, max_size=4))


@PROPERTY_SETTINGS
@given(seed=seeds, scale=scales, batch=batches())
def test_batch_items_are_independent(seed: int, scale: float, batch: list[list[int]]) -> None:
    w = _weights(seed, scale)
    logits, cache = run_with_cache(w, np.array(batch))
    for b, tokens in enumerate(batch):
        alone_logits, alone = run_with_cache(w, tokens)
        np.testing.assert_allclose(logits[b], alone_logits[0], rtol=1e-5, atol=1e-5)
        for name in ("blocks.1.attn.hook_pattern", "blocks.1.attn.hook_z", "blocks.1.hook_resid_post"):
            np.testing.assert_allclose(cache[name][b], alone[name][0], rtol=1e-5, atol=1e-5, err_msg=name)
