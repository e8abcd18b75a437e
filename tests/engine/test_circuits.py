"""Weight-space circuits: QK/OV matrices, copying scores, composition scores and their baseline."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from induction_gui.engine import ModelConfig, Weights, run_with_cache
from induction_gui.engine.circuits import (
    composition_baseline,
    composition_scores,
    copy_score,
    copying_scores,
    full_ov_circuit,
    full_qk_circuit,
    iter_composition_baseline,
    k_composition_circuit,
    ov_circuit,
    ov_eigenvalues,
    ov_top1_accuracy,
    positional_attention,
    positional_qk_circuit,
    qk_circuit,
)

CFG = ModelConfig(n_layers=3, n_heads=2, d_model=12, d_head=3, d_vocab=7, n_ctx=10)


def random_weights(seed: int = 0) -> Weights:
    return Weights.random(CFG, seed=seed, dtype=np.float64)


def head(w: Weights, layer: int, h: int, name: str) -> np.ndarray:
    return w[f"blocks.{layer}.attn.{name}"][h]


# -- circuits follow the forward pass ------------------------------------------------------


def test_qk_and_ov_circuits_reproduce_the_forward_pass() -> None:
    """With zero biases, scores = x_i W_QK x_jᵀ / scale and result_i = Σ_j A[i, j] x_j W_OV."""
    w = random_weights()
    t = np.array([[1, 4, 2, 6, 0, 3]])
    _, cache = run_with_cache(w, t, dtype=np.float64)
    for layer in range(CFG.n_layers):
        x = cache["resid_pre", layer][0]  # [pos, d_model]
        for h in range(CFG.n_heads):
            scores = x @ qk_circuit(w, layer, h) @ x.T / CFG.scale  # [query_pos, key_pos]
            got = cache["attn_scores", layer][0, h]
            lower = np.tril(np.ones_like(scores, dtype=bool))
            np.testing.assert_allclose(got[lower], scores[lower], atol=1e-12)
            result = cache["pattern", layer][0, h] @ x @ ov_circuit(w, layer, h)  # [pos, d_model]
            np.testing.assert_allclose(cache["result", layer][0, :, h], result, atol=1e-12)


def test_full_circuits_are_the_products() -> None:
    w = random_weights(1)
    W_E, W_pos, W_U = w["embed.W_E"], w["pos_embed.W_pos"], w["unembed.W_U"]
    for layer, h in [(0, 0), (2, 1)]:
        QK = head(w, layer, h, "W_Q") @ head(w, layer, h, "W_K").T
        OV = head(w, layer, h, "W_V") @ head(w, layer, h, "W_O")
        assert qk_circuit(w, layer, h).shape == (CFG.d_model, CFG.d_model)
        np.testing.assert_allclose(full_qk_circuit(w, layer, h), W_E @ QK @ W_E.T, atol=1e-12)
        np.testing.assert_allclose(full_ov_circuit(w, layer, h), W_E @ OV @ W_U, atol=1e-12)
        np.testing.assert_allclose(positional_qk_circuit(w, layer, h), W_pos @ QK @ W_pos.T, atol=1e-12)
    with pytest.raises(ValueError, match="L3H0 does not exist"):
        qk_circuit(w, 3, 0)


def test_positional_attention_is_a_causal_softmax() -> None:
    w = random_weights(2)
    p = positional_attention(w, 1, 0, n_pos=6)
    assert p.shape == (6, 6)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert not np.triu(p, k=1).any()
    raw = positional_qk_circuit(w, 1, 0)[:6, :6] / CFG.scale
    row = np.exp(raw[3, :4] - raw[3, :4].max())
    np.testing.assert_allclose(p[3, :4], row / row.sum())


def previous_token_model(gain: float = 30.0) -> Weights:
    """L0H0 is a positional previous-token head; L1H0 reads it through K-composition (token i == previous of key).

    Residual stream: [token one-hot | position one-hot | previous-token one-hot].
    """
    n_vocab, n_ctx = 5, 8
    cfg = ModelConfig(n_layers=2, n_heads=1, d_model=2 * n_vocab + n_ctx, d_head=n_ctx, d_vocab=n_vocab, n_ctx=n_ctx)
    w = Weights.zeros(cfg, dtype=np.float64)
    tok, pos, prev = 0, n_vocab, n_vocab + n_ctx
    W_E, W_pos = np.zeros_like(w["embed.W_E"]), np.zeros_like(w["pos_embed.W_pos"])
    W_E[range(n_vocab), [tok + t for t in range(n_vocab)]] = 1.0
    W_pos[range(n_ctx), [pos + i for i in range(n_ctx)]] = 1.0
    w["embed.W_E"], w["pos_embed.W_pos"] = W_E, W_pos
    W_Q0, W_K0, W_V0, W_O0 = (np.zeros_like(w[f"blocks.0.attn.{n}"]) for n in ("W_Q", "W_K", "W_V", "W_O"))
    W_Q1, W_K1 = np.zeros_like(w["blocks.1.attn.W_Q"]), np.zeros_like(w["blocks.1.attn.W_K"])
    for i in range(n_ctx):
        W_Q0[0, pos + i, i] = gain
        if i + 1 < n_ctx:
            W_K0[0, pos + i, i + 1] = 1.0
    for t in range(n_vocab):
        W_V0[0, tok + t, t] = 1.0
        W_O0[0, t, prev + t] = 1.0
        W_Q1[0, tok + t, t] = 1.0
        W_K1[0, prev + t, t] = 1.0
    for name, v in zip(("W_Q", "W_K", "W_V", "W_O"), (W_Q0, W_K0, W_V0, W_O0)):
        w[f"blocks.0.attn.{name}"] = v
    w["blocks.1.attn.W_Q"], w["blocks.1.attn.W_K"] = W_Q1, W_K1
    return w


def test_previous_token_head_has_positional_subdiagonal() -> None:
    w = previous_token_model()
    p = positional_attention(w, 0, 0)
    assert np.all(np.diagonal(p, offset=-1) > 0.99)


def test_k_composition_circuit() -> None:
    w = previous_token_model()
    m = k_composition_circuit(w, prev=(0, 0), ind=(1, 0))
    assert m.shape == (5, 5)
    np.testing.assert_array_equal(m.argmax(axis=1), np.arange(5))  # the diagonal dominates
    r = random_weights(3)
    q = r["embed.W_E"] @ head(r, 2, 1, "W_Q")
    k = r["embed.W_E"] @ head(r, 0, 1, "W_V") @ head(r, 0, 1, "W_O") @ head(r, 2, 1, "W_K")
    np.testing.assert_allclose(k_composition_circuit(r, (0, 1), (2, 1)), q @ k.T, atol=1e-12)
    with pytest.raises(ValueError, match="earlier layer"):
        k_composition_circuit(r, (1, 0), (1, 1))


# -- copying ---------------------------------------------------------------------------------


def test_copy_score_reference_matrices() -> None:
    assert copy_score(np.eye(4)) == pytest.approx(1.0)
    assert copy_score(-np.eye(4)) == pytest.approx(-1.0)
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])  # 90° plane rotation: eigenvalues ±i
    assert copy_score(rot) == pytest.approx(0.0, abs=1e-15)
    assert copy_score(np.zeros((3, 3))) == 0.0
    assert copy_score(np.array([2.0, -1.0, 0.0])) == pytest.approx(1 / 3)  # eigenvalues directly


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_copy_score_range_and_similarity_invariance(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, n))
    s = copy_score(m)
    assert -1 - 1e-12 <= s <= 1 + 1e-12
    p = rng.standard_normal((n, n)) + 3 * np.eye(n)  # well conditioned change of basis
    assert copy_score(p @ m @ np.linalg.inv(p)) == pytest.approx(s, abs=1e-8)


def test_copying_scores_use_the_small_matrix() -> None:
    """eig(W_O W_V) are the non-zero eigenvalues of W_OV, so both give the same score."""
    w = random_weights(4)
    scores = copying_scores(w)
    full = copying_scores(w, full=True)
    assert scores.shape == full.shape == (CFG.n_layers, CFG.n_heads)
    for layer in range(CFG.n_layers):
        for h in range(CFG.n_heads):
            assert scores[layer, h] == pytest.approx(copy_score(ov_circuit(w, layer, h)), abs=1e-8)
            assert full[layer, h] == pytest.approx(copy_score(full_ov_circuit(w, layer, h)), abs=1e-8)
            lam = ov_eigenvalues(w, layer, h)
            assert lam.shape == (CFG.d_head,)
            assert np.all(np.diff(np.abs(lam)) <= 1e-12)  # largest modulus first
            assert copy_score(lam) == pytest.approx(scores[layer, h])


def test_ov_top1_accuracy() -> None:
    w = random_weights(5)
    acc = ov_top1_accuracy(w)
    for layer in range(CFG.n_layers):
        for h in range(CFG.n_heads):
            m = full_ov_circuit(w, layer, h)
            assert acc[layer, h] == pytest.approx(np.mean(m.argmax(axis=1) == np.arange(CFG.d_vocab)))
    # a head whose full OV circuit is a scaled identity copies every token
    cfg = ModelConfig(n_layers=1, n_heads=1, d_model=6, d_head=6, d_vocab=6, n_ctx=4)
    c = Weights.zeros(cfg, dtype=np.float64)
    for n in ("embed.W_E", "unembed.W_U"):
        c[n] = np.eye(6)
    c["blocks.0.attn.W_V"] = np.eye(6)[None] * 2
    c["blocks.0.attn.W_O"] = np.eye(6)[None]
    assert ov_top1_accuracy(c)[0, 0] == 1.0
    assert copying_scores(c, full=True)[0, 0] == pytest.approx(1.0)


# -- composition -----------------------------------------------------------------------------


def naive_composition(w: Weights, mode: str) -> np.ndarray:
    """Full d_model × d_model matrices and np.linalg.norm, pair by pair."""
    L, H = CFG.n_layers, CFG.n_heads
    out = np.zeros((L, H, L, H))
    for l1 in range(L):
        for h1 in range(H):
            left = ov_circuit(w, l1, h1)
            for l2 in range(l1 + 1, L):
                for h2 in range(H):
                    right = {"Q": qk_circuit(w, l2, h2), "K": qk_circuit(w, l2, h2).T, "V": ov_circuit(w, l2, h2)}[mode]
                    out[l1, h1, l2, h2] = np.linalg.norm(left @ right) / (np.linalg.norm(left) * np.linalg.norm(right))
    return out


@pytest.mark.parametrize("mode", ["Q", "K", "V"])
def test_composition_scores_match_the_definition(mode: str) -> None:
    w = random_weights(6)
    got = composition_scores(w, mode)  # type: ignore[arg-type]
    assert got.shape == (CFG.n_layers, CFG.n_heads) * 2
    np.testing.assert_allclose(got, naive_composition(w, mode), atol=1e-12)
    assert np.all((got >= 0) & (got <= 1))


def rank_one_model(b_dot_c: float) -> Weights:
    """L0H0 has W_OV = a bᵀ; L1H0 has W_QK = b cᵀ and W_OV = c bᵀ (unit vectors in d_model = 4)."""
    cfg = ModelConfig(n_layers=2, n_heads=1, d_model=4, d_head=1, d_vocab=3, n_ctx=4)
    w = Weights.zeros(cfg, dtype=np.float64)
    a, b = np.array([1.0, 0, 0, 0]), np.array([0, 1.0, 0, 0])
    c = b_dot_c * b + np.sqrt(1 - b_dot_c**2) * np.array([0, 0, 1.0, 0])
    w["blocks.0.attn.W_V"], w["blocks.0.attn.W_O"] = a[None, :, None], b[None, None, :]
    w["blocks.1.attn.W_Q"], w["blocks.1.attn.W_K"] = b[None, :, None], c[None, :, None]
    w["blocks.1.attn.W_V"], w["blocks.1.attn.W_O"] = c[None, :, None], b[None, None, :]
    return w


def test_composition_aligned_and_orthogonal() -> None:
    w = rank_one_model(b_dot_c=0.0)
    assert composition_scores(w, "Q")[0, 0, 1, 0] == pytest.approx(1.0)  # L R = a (b·b) cᵀ: aligned rank-1
    assert composition_scores(w, "K")[0, 0, 1, 0] == 0.0  # b ⟂ c: orthogonal subspaces
    assert composition_scores(w, "V")[0, 0, 1, 0] == 0.0
    w = rank_one_model(b_dot_c=1.0)
    for mode in ("Q", "K", "V"):
        assert composition_scores(w, mode)[0, 0, 1, 0] == pytest.approx(1.0)  # type: ignore[arg-type]
        assert composition_scores(w, mode)[1, 0, 0, 0] == 0.0  # only earlier -> later  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        composition_scores(w, "X")  # type: ignore[arg-type]


def test_composition_baseline_deterministic_with_progress() -> None:
    gen = iter_composition_baseline(12, 3, n_samples=250, seed=7, chunk_size=100)
    progress = []
    while True:
        try:
            progress.append(next(gen))
        except StopIteration as stop:
            result = stop.value
            break
    assert progress[0] == (0, 250) and progress[-1] == (250, 250)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert result.samples.shape == (250,)
    again = composition_baseline(12, 3, n_samples=250, seed=7, chunk_size=33)  # chunking does not matter
    np.testing.assert_array_equal(again.samples, result.samples)
    other = composition_baseline(12, 3, n_samples=250, seed=8)
    assert not np.array_equal(other.samples, result.samples)
    assert 0 < result.mean < 1 and result.std > 0
    assert result.mean == pytest.approx(result.samples.mean())


def test_composition_baseline_samples_are_the_score() -> None:
    """The first sample equals the definition on the same Gaussian draw."""
    rng = np.random.default_rng(3)
    f = rng.standard_normal((1, 4, 10, 2))[0]
    left, right = f[0] @ f[1].T, f[2] @ f[3].T
    expected = np.linalg.norm(left @ right) / (np.linalg.norm(left) * np.linalg.norm(right))
    assert composition_baseline(10, 2, n_samples=1, seed=3).samples[0] == pytest.approx(expected)
    with pytest.raises(ValueError, match="positive"):
        composition_baseline(10, 0)
