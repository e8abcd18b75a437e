"""The forward pass: hook shapes and identities, tokens, dtypes, snapshots, the cache object."""

from __future__ import annotations

import numpy as np
import pytest

from induction_gui.engine import (
    ActivationCache,
    ModelConfig,
    TokenError,
    Weights,
    act_name,
    run,
    run_with_cache,
)

CFG = ModelConfig(n_layers=2, n_heads=3, d_model=12, d_head=4, d_vocab=10, n_ctx=24)


@pytest.fixture
def weights() -> Weights:
    w = Weights.random(CFG, seed=5)
    rng = np.random.default_rng(5)
    for name in w:  # non-zero biases, so that a dropped bias shows
        if ".b_" in name or name.endswith("b_U"):
            w[name] = rng.standard_normal(w[name].shape).astype(np.float32) * 0.1
    return w


TOKENS = np.array([[0, 3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8, 2]])


def test_every_hook_has_transformer_lens_shape(weights: Weights) -> None:
    logits, cache = run_with_cache(weights, TOKENS)
    b, n = TOKENS.shape
    H, D, M = CFG.n_heads, CFG.d_head, CFG.d_model
    expected = {"hook_embed": (b, n, M), "hook_pos_embed": (b, n, M)}
    for layer in range(CFG.n_layers):
        expected |= {
            act_name("resid_pre", layer): (b, n, M),
            act_name("q", layer): (b, n, H, D),
            act_name("k", layer): (b, n, H, D),
            act_name("v", layer): (b, n, H, D),
            act_name("attn_scores", layer): (b, H, n, n),
            act_name("pattern", layer): (b, H, n, n),
            act_name("z", layer): (b, n, H, D),
            act_name("result", layer): (b, n, H, M),
            act_name("attn_out", layer): (b, n, M),
            act_name("resid_post", layer): (b, n, M),
        }
    expected |= {"unembed.hook_in": (b, n, M), "unembed.hook_out": (b, n, CFG.d_vocab)}
    assert {k: cache[k].shape for k in cache} == expected
    assert logits.shape == (b, n, CFG.d_vocab)
    assert all(cache[k].dtype == np.float32 for k in cache) and logits.dtype == np.float32


def test_activations_obey_the_model_equations(weights: Weights) -> None:
    """Each hook recomputed in float64 from its inputs, the way TransformerLens defines it."""
    logits, cache = run_with_cache(weights, TOKENS, dtype=np.float64)
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    n = TOKENS.shape[1]
    np.testing.assert_array_equal(cache["hook_embed"], w["embed.W_E"][TOKENS])
    np.testing.assert_array_equal(cache["hook_pos_embed"][0], w["pos_embed.W_pos"][:n])
    resid = cache["hook_embed"] + cache["hook_pos_embed"]
    for layer in range(CFG.n_layers):
        a = f"blocks.{layer}.attn."
        np.testing.assert_allclose(cache["resid_pre", layer], resid, atol=1e-12)
        for x in "qkv":
            expected = np.einsum("bpm,hmd->bphd", resid, w[a + f"W_{x.upper()}"]) + w[a + f"b_{x.upper()}"]
            np.testing.assert_allclose(cache[x, layer], expected, atol=1e-12)
        scores = np.einsum("bqhd,bkhd->bhqk", cache["q", layer], cache["k", layer]) / np.sqrt(CFG.d_head)
        scores[..., np.triu(np.ones((n, n), bool), k=1)] = -np.inf
        np.testing.assert_allclose(cache["attn_scores", layer], scores, atol=1e-12)
        pattern = np.exp(scores - scores.max(-1, keepdims=True))
        pattern /= pattern.sum(-1, keepdims=True)
        np.testing.assert_allclose(cache["pattern", layer], pattern, atol=1e-12)
        z = np.einsum("bhqk,bkhd->bqhd", pattern, cache["v", layer])
        np.testing.assert_allclose(cache["z", layer], z, atol=1e-12)
        result = np.einsum("bqhd,hdm->bqhm", z, w[a + "W_O"])
        np.testing.assert_allclose(cache["result", layer], result, atol=1e-12)
        np.testing.assert_allclose(cache["attn_out", layer], result.sum(2) + w[a + "b_O"], atol=1e-12)
        resid = resid + cache["attn_out", layer]
        np.testing.assert_allclose(cache["resid_post", layer], resid, atol=1e-12)
    np.testing.assert_allclose(logits, resid @ w["unembed.W_U"] + w["unembed.b_U"], atol=1e-12)


def test_float32_and_float64_agree(weights: Weights) -> None:
    l32, c32 = run_with_cache(weights, TOKENS)
    l64, c64 = run_with_cache(weights, TOKENS, dtype=np.float64)
    np.testing.assert_allclose(l32, l64, atol=1e-5)
    np.testing.assert_allclose(c32["pattern", 1], c64["pattern", 1], atol=1e-5)


def test_run_returns_the_logits(weights: Weights) -> None:
    np.testing.assert_array_equal(run(weights, TOKENS), run_with_cache(weights, TOKENS)[0])


def test_one_dimensional_tokens_are_a_batch_of_one(weights: Weights) -> None:
    logits, cache = run_with_cache(weights, TOKENS[1])
    assert logits.shape == (1, TOKENS.shape[1], CFG.d_vocab)
    np.testing.assert_allclose(logits[0], run(weights, TOKENS)[1], atol=1e-6)
    run_with_cache(weights, list(TOKENS[0]))  # plain lists work too
    run_with_cache(weights, TOKENS.astype(np.uint8))


def test_cache_is_a_snapshot_of_the_weights(weights: Weights) -> None:
    """Editing the weights after a run changes no activation of that run, lazy ones included."""
    _, cache = run_with_cache(weights, TOKENS)
    expected = {k: cache[k].copy() for k in cache if "result" not in k}
    lazy_result = run_with_cache(weights, TOKENS)[1]["result", 1].copy()
    for name in weights:
        weights[name][...] += 1.0
    assert all(np.array_equal(cache[k], v) for k, v in expected.items())
    np.testing.assert_array_equal(cache["result", 1], lazy_result)  # computed only now, from the old W_O


def test_the_cache_mapping(weights: Weights) -> None:
    _, cache = run_with_cache(weights, TOKENS)
    assert isinstance(cache, ActivationCache)
    assert len(cache) == len(list(cache)) == 4 + 10 * CFG.n_layers  # embeddings, unembed in/out, 10 per block
    assert ("pattern", 1) in cache and ("pattern", 7) not in cache
    assert "blocks.0.attn.hook_result" in cache and "nonsense" not in cache
    assert cache["z", 0] is cache["blocks.0.attn.hook_z"]
    assert cache["result", 0] is cache["result", 0]  # computed once, then kept
    saved = cache.to_dict()
    assert set(saved) == set(cache) and all(a.flags.c_contiguous for a in saved.values())
    with pytest.raises(KeyError, match="unknown activation"):
        act_name("mlp_out", 0)
    with pytest.raises(ValueError, match="needs a layer"):
        act_name("pattern")


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (np.array([[1, 2, 10]]), r"tokens\[0\]\[2\]: id 10 is outside the vocabulary 0\.\.9"),
        (np.array([1, -1, 2]), r"tokens\[0\]\[1\]: id -1 is outside the vocabulary"),
        (np.zeros(25, int), r"25 tokens but the model's n_ctx is 24"),
        (np.zeros((1, 0), int), "the sequence is empty"),
        ([], "the sequence is empty"),
        (np.array([1.5, 2.0]), "expected integer token ids, got dtype float64"),
        (np.array([1.0, np.nan]), "expected integer token ids"),
        (np.array(["a", "b"]), "expected integer token ids"),
        (np.zeros((1, 2, 3), int), r"expected shape \[pos\] or \[batch, pos\]"),
    ],
)
def test_bad_tokens_raise_token_error(weights: Weights, tokens: object, message: str) -> None:
    with pytest.raises(TokenError, match=message):
        run_with_cache(weights, tokens)


def test_whole_number_float_tokens_are_accepted(weights: Weights) -> None:
    np.testing.assert_array_equal(run(weights, np.array([1.0, 2.0, 3.0])), run(weights, np.array([1, 2, 3])))


def test_every_position_count_up_to_n_ctx(weights: Weights) -> None:
    rng = np.random.default_rng(0)
    for n in range(1, CFG.n_ctx + 1):
        logits, cache = run_with_cache(weights, rng.integers(0, CFG.d_vocab, n))
        assert np.isfinite(logits).all()
        np.testing.assert_allclose(cache["pattern", 1].sum(-1), 1.0, atol=1e-6)
