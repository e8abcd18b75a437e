"""Head presets fitted to arbitrary models: the heads they build do their job, or the preset says why not."""

from __future__ import annotations

import numpy as np
import pytest

from induction_gui.engine import ModelConfig, Weights, detect_head_from_patterns, run_with_cache
from induction_gui.engine import head_presets as hp
from induction_gui.engine.sequences import repeated_random

# d_model 64 ≥ d_vocab + n_ctx: token and position embeddings can be read independently
CFG = ModelConfig(n_layers=2, n_heads=2, d_model=64, d_head=16, d_vocab=12, n_ctx=24)


def _apply(w: Weights, layer: int, head: int, slices: dict[str, np.ndarray]) -> None:
    for name, full in hp.apply_head_slices(w, layer, head, slices).items():
        w[name] = full


def _one_hot_model(seed: int = 1) -> Weights:
    """Random heads, one-hot token and position embeddings in disjoint dimensions."""
    w = Weights.random(CFG, seed=seed)
    E = np.zeros((CFG.d_vocab, CFG.d_model), np.float32)
    E[:, : CFG.d_vocab] = np.eye(CFG.d_vocab)
    P = np.zeros((CFG.n_ctx, CFG.d_model), np.float32)
    P[:, CFG.d_vocab : CFG.d_vocab + CFG.n_ctx] = np.eye(CFG.n_ctx)
    w["embed.W_E"], w["pos_embed.W_pos"] = E, P
    return w


def _models() -> list[tuple[str, Weights]]:
    return [("one-hot", _one_hot_model()), ("random", Weights.random(CFG, seed=2))]


@pytest.mark.parametrize(("kind", "w"), _models())
def test_previous_token_preset_attends_to_the_previous_token(kind: str, w: Weights) -> None:
    _apply(w, 0, 0, hp.previous_token(w, 0, 0))
    tokens = np.random.default_rng(7).integers(0, CFG.d_vocab, size=(3, CFG.n_ctx))  # [batch, pos]
    _, cache = run_with_cache(w, tokens)
    pattern = cache["pattern", 0][:, 0]  # [batch, query_pos, key_pos]
    sub = np.diagonal(pattern, offset=-1, axis1=1, axis2=2)  # [batch, pos − 1]
    assert sub.min() > 0.9, kind


@pytest.mark.parametrize(("kind", "w"), _models())
def test_induction_preset_after_a_previous_token_head_scores_high(kind: str, w: Weights) -> None:
    _apply(w, 0, 0, hp.previous_token(w, 0, 0))
    _apply(w, 1, 1, hp.induction(w, 1, 1))  # finds L0H0 itself
    tokens = repeated_random(10, CFG.d_vocab, seed=3, batch=6).tokens  # [batch, 21]
    _, cache = run_with_cache(w, tokens)
    scores = detect_head_from_patterns(cache, tokens, "induction_head", exclude_bos=True)  # [layer, head]
    assert scores[1, 1] > 0.5, kind
    assert scores[1, 0] < 0.5  # the untouched random head is not one


def test_induction_preset_copies_the_attended_token_into_its_logit() -> None:
    w = _one_hot_model()
    _apply(w, 0, 0, hp.previous_token(w, 0, 0))
    _apply(w, 1, 0, hp.induction(w, 1, 0, source=(0, 0)))
    full_ov = w["embed.W_E"] @ w["blocks.1.attn.W_V"][0] @ w["blocks.1.attn.W_O"][0] @ w["unembed.W_U"]
    assert (full_ov.argmax(axis=1) == np.arange(CFG.d_vocab)).all()  # the copying circuit


def test_zero_preset_gives_uniform_attention_and_no_output() -> None:
    w = Weights.random(CFG, seed=4)
    _apply(w, 1, 0, hp.zero(w, 1, 0))
    tokens = np.arange(10) % CFG.d_vocab
    _, cache = run_with_cache(w, tokens)
    pattern = cache["pattern", 1][0, 0]  # [query_pos, key_pos]
    expected = np.tril(np.ones((10, 10))) / np.arange(1, 11)[:, None]
    np.testing.assert_allclose(pattern, expected, atol=1e-6)
    np.testing.assert_array_equal(cache["result", 1][0, :, 0], 0.0)


def test_random_preset_is_deterministic_by_seed() -> None:
    w = Weights.random(CFG, seed=0)
    a, b, c = hp.random(w, 0, 1, seed=5), hp.random(w, 0, 1, seed=5), hp.random(w, 0, 1, seed=6)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["blocks.0.attn.W_Q"], c["blocks.0.attn.W_Q"])
    assert a["blocks.0.attn.W_Q"].shape == (CFG.d_model, CFG.d_head)
    assert a["blocks.0.attn.W_Q"].dtype == np.float32
    # TransformerLens' init scale: std 0.8 / sqrt(d_model), within sampling error
    assert abs(a["blocks.0.attn.W_Q"].std() * np.sqrt(CFG.d_model) - 0.8) < 0.1


def test_identity_copy_preset_has_copying_score_one_and_keeps_qk() -> None:
    from induction_gui.engine import copy_score, ov_circuit

    w = Weights.random(CFG, seed=0)
    slices = hp.identity_copy(w, 0, 1)
    assert "blocks.0.attn.W_Q" not in slices and "blocks.0.attn.W_K" not in slices
    _apply(w, 0, 1, slices)
    assert copy_score(ov_circuit(w, 0, 1)) == pytest.approx(1.0, abs=1e-4)
    # the token subspace (rank d_vocab ≤ d_head) is copied exactly
    np.testing.assert_allclose(w["embed.W_E"] @ ov_circuit(w, 0, 1), w["embed.W_E"], atol=1e-5)


def test_apply_head_slices_changes_only_that_head() -> None:
    w = Weights.random(CFG, seed=0)
    before = w.copy()
    full = hp.apply_head_slices(w, 1, 1, hp.zero(w, 1, 1))
    assert w == before  # the input is not modified
    np.testing.assert_array_equal(full["blocks.1.attn.W_Q"][0], before["blocks.1.attn.W_Q"][0])
    np.testing.assert_array_equal(full["blocks.1.attn.W_Q"][1], 0.0)


def test_presets_refuse_what_cannot_work() -> None:
    w = Weights.random(CFG, seed=0)
    with pytest.raises(ValueError, match="earlier layer"):
        hp.induction(w, 0, 0)
    with pytest.raises(ValueError, match="no earlier head is a previous-token head"):
        hp.induction(w, 1, 0)  # layer 0 is random
    narrow = Weights.random(ModelConfig(n_layers=1, n_heads=1, d_model=8, d_head=1, d_vocab=4, n_ctx=6))
    with pytest.raises(ValueError, match="d_head ≥ 2"):
        hp.previous_token(narrow, 0, 0)
    # all positions embedded alike: position cannot be read at all
    flat = Weights.random(CFG, seed=0)
    flat["pos_embed.W_pos"] = np.ones((CFG.n_ctx, CFG.d_model), np.float32)
    with pytest.raises(ValueError, match="W_pos"):
        hp.previous_token(flat, 0, 0)
    with pytest.raises(ValueError, match="does not exist"):
        hp.zero(w, 2, 0)


def test_induction_refuses_a_source_that_writes_over_the_token_embedding() -> None:
    w = _one_hot_model()
    _apply(w, 0, 0, hp.previous_token(w, 0, 0))
    # now make L0H0 copy back into the token subspace: its output looks like the current token
    _apply(w, 0, 0, hp.identity_copy(w, 0, 0))
    with pytest.raises(ValueError, match="cannot tell"):
        hp.induction(w, 1, 0, source=(0, 0))
