"""Attention: the blocked kernel against the textbook formula, and every HeadOverride experiment."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from induction_gui.engine import HeadOverride, ModelConfig, Weights, run_with_cache, shift_matrix
from induction_gui.engine.attention import causal_attention, release_buffers


def reference_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, scale: float):
    """softmax(q·kᵀ / scale + causal mask)·v in float64, the obvious way. q, k, v: [batch, head, pos, d_head]."""
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    n = q.shape[2]
    scores = np.einsum("bhqd,bhkd->bhqk", q, k) / scale
    scores[..., np.triu(np.ones((n, n), bool), k=1)] = -np.inf
    pattern = np.exp(scores - scores.max(axis=-1, keepdims=True))
    pattern /= pattern.sum(axis=-1, keepdims=True)
    return scores, pattern, pattern @ v


@pytest.mark.parametrize("n_pos", [1, 2, 17, 64, 300])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_matches_reference(n_pos: int, dtype: type) -> None:
    # 300 positions × 2 batch × 4 heads spans several row blocks
    rng = np.random.default_rng(n_pos)
    q, k, v = (rng.standard_normal((2, 4, n_pos, 8)).astype(dtype) for _ in range(3))
    scores, pattern, z = causal_attention(q, k, v, scale=np.sqrt(8))
    ref_scores, ref_pattern, ref_z = reference_attention(q, k, v, np.sqrt(8))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_array_equal(np.isneginf(scores), np.isneginf(ref_scores))
    finite = np.isfinite(ref_scores)
    np.testing.assert_allclose(scores[finite], ref_scores[finite], rtol=tol, atol=tol)
    np.testing.assert_allclose(pattern, ref_pattern, atol=tol)
    np.testing.assert_allclose(z, ref_z, atol=tol * 10)
    assert scores.dtype == pattern.dtype == z.dtype == dtype


def test_kernel_rows_far_below_the_block_max_do_not_underflow() -> None:
    """Rows whose scores sit hundreds below another row's (a one-block max would underflow them)."""
    rng = np.random.default_rng(0)
    n = 40
    q = rng.standard_normal((1, 2, n, 4))
    q[:, :, ::2] *= 400.0  # alternate rows with huge and small scores
    k = rng.standard_normal((1, 2, n, 4))
    v = rng.standard_normal((1, 2, n, 4))
    _, pattern, z = causal_attention(q.astype(np.float32), k.astype(np.float32), v.astype(np.float32), 1.0)
    _, ref_pattern, ref_z = reference_attention(q, k, v, 1.0)
    assert np.isfinite(pattern).all()
    np.testing.assert_allclose(pattern.sum(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(pattern, ref_pattern, atol=1e-3)  # |scores| ~ 1e3: see the golden tolerance
    np.testing.assert_allclose(z, ref_z, atol=1e-2)


def test_recycled_buffers_never_overwrite_a_live_result() -> None:
    release_buffers()
    rng = np.random.default_rng(1)
    n = 256  # big enough to be recycled
    args = [rng.standard_normal((1, 4, n, 16)).astype(np.float32) for _ in range(3)]
    other = [rng.standard_normal((1, 4, n, 16)).astype(np.float32) for _ in range(3)]
    scores, pattern, _ = causal_attention(*args, scale=4.0)
    kept_pattern = pattern.copy()
    row_view = pattern[0, 1, 5]  # a view alone must keep the array alive and untouched
    kept_row = row_view.copy()
    del scores, pattern
    gc.collect()
    for _ in range(3):
        causal_attention(*other, scale=4.0)
    np.testing.assert_array_equal(row_view, kept_row)
    _, pattern_again, _ = causal_attention(*args, scale=4.0)
    np.testing.assert_array_equal(pattern_again, kept_pattern)  # a recycled array is fully rewritten


# -- overrides through the forward pass ----------------------------------------


def _identity_model(n: int = 8, n_heads: int = 2, sharp: float = 30.0) -> Weights:
    """One layer; one-hot token embeddings; head 0 has identity QK (matches equal tokens)."""
    cfg = ModelConfig(n_layers=1, n_heads=n_heads, d_model=n, d_head=n, d_vocab=n, n_ctx=32)
    w = Weights.random(cfg, seed=3)
    w["embed.W_E"] = np.eye(n, dtype=np.float32)  # [d_vocab, d_model]
    w["pos_embed.W_pos"] = np.zeros((32, n), np.float32)
    W_Q = w["blocks.0.attn.W_Q"].copy()
    W_Q[0] = sharp * np.eye(n)
    W_K = w["blocks.0.attn.W_K"].copy()
    W_K[0] = np.eye(n)
    w["blocks.0.attn.W_Q"] = W_Q
    w["blocks.0.attn.W_K"] = W_K
    return w


TOKENS = np.array([[1, 2, 3, 4, 1, 5, 6, 2]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fixed_shift_pattern_with_linear_normalisation(dtype: type) -> None:
    w = _identity_model()
    o = HeadOverride(fixed_pattern=shift_matrix(32), normalization="linear")
    _, cache = run_with_cache(w, TOKENS, {(0, 0): o}, dtype=dtype)
    pattern = cache["pattern", 0][0, 0]  # [query_pos, key_pos]
    assert not pattern[0].any()  # position 0 has no previous token
    expected = np.eye(TOKENS.shape[1], k=-1) * (1.0 / (1.0 + 1e-8))
    if dtype == np.float64:
        # the lecture's P / (P.sum + 1e-8): rows read 0.99999999, not 1
        np.testing.assert_allclose(pattern[1:].sum(-1), 0.99999999, rtol=0, atol=1e-15)
        np.testing.assert_allclose(pattern, expected, rtol=0, atol=1e-15)
    else:
        np.testing.assert_allclose(pattern, expected, atol=1e-7)  # 1 − 1e-8 rounds to 1 in float32
    z = cache["z", 0][0, :, 0]  # [pos, d_head]
    v = cache["v", 0][0, :, 0]
    np.testing.assert_allclose(z[1:], v[:-1] * expected[1, 0], rtol=1e-6)  # each position copies the previous value
    np.testing.assert_array_equal(z[0], 0.0)


def test_key_shift_one_attends_to_the_token_after_an_earlier_occurrence() -> None:
    w = _identity_model()
    _, cache = run_with_cache(w, TOKENS, {(0, 0): HeadOverride(key_shift=1)})
    pattern = cache["pattern", 0][0, 0]
    # token 1 at position 4 occurred at 0, followed by position 1; token 2 at 7 occurred at 1, followed by 2
    assert pattern[4].argmax() == 1 and pattern[4, 1] > 0.99
    assert pattern[7].argmax() == 2 and pattern[7, 2] > 0.99
    assert np.isneginf(cache["attn_scores", 0][0, 0, :, 0]).all()  # key 0 has nothing before it
    assert not pattern[0].any()  # query 0 sees only key 0, which does not exist


@pytest.mark.parametrize("normalization", ["softmax", "linear"])
def test_key_shift_beyond_the_sequence_leaves_rows_zero(normalization: str) -> None:
    w = _identity_model()
    o = HeadOverride(key_shift=TOKENS.shape[1] + 5, normalization=normalization)
    logits, cache = run_with_cache(w, TOKENS, {(0, 0): o})
    assert np.isfinite(logits).all()
    assert not cache["pattern", 0][0, 0].any()
    assert not np.isnan(cache["attn_scores", 0]).any()
    np.testing.assert_array_equal(cache["z", 0][0, :, 0], 0.0)


def test_score_scale_zero_gives_uniform_causal_rows() -> None:
    w = _identity_model()
    _, cache = run_with_cache(w, TOKENS, {(0, 0): HeadOverride(score_scale=0.0)})
    n = TOKENS.shape[1]
    uniform = np.tril(np.ones((n, n))) / np.arange(1, n + 1)[:, None]  # row i: 1/(i+1) on keys ≤ i
    np.testing.assert_allclose(cache["pattern", 0][0, 0], uniform, atol=1e-7)


def test_negative_score_scale_keeps_the_mask() -> None:
    w = _identity_model()
    _, cache = run_with_cache(w, TOKENS, {(0, 0): HeadOverride(score_scale=-2.0)})
    n = TOKENS.shape[1]
    above = np.triu(np.ones((n, n), bool), k=1)
    scores, pattern = cache["attn_scores", 0][0, 0], cache["pattern", 0][0, 0]
    assert np.isneginf(scores[above]).all() and np.isfinite(scores[~above]).all()
    assert not pattern[above].any()
    np.testing.assert_allclose(pattern.sum(-1), 1.0, atol=1e-6)
    # inverse temperature −2: the keys matching the query's token (positions 0 and 4) are avoided
    assert pattern[4, 0] < 1e-6 and pattern[4, 4] < 1e-6 and pattern[4, 1:4].min() > 0.3


def test_zero_ablation_zeroes_only_that_head() -> None:
    w = _identity_model()
    _, base = run_with_cache(w, TOKENS)
    _, cache = run_with_cache(w, TOKENS, {(0, 1): HeadOverride(ablation="zero")})
    np.testing.assert_array_equal(cache["z", 0][:, :, 1], 0.0)
    np.testing.assert_array_equal(cache["result", 0][:, :, 1], 0.0)
    np.testing.assert_array_equal(cache["z", 0][:, :, 0], base["z", 0][:, :, 0])
    np.testing.assert_array_equal(cache["result", 0][:, :, 0], base["result", 0][:, :, 0])
    np.testing.assert_array_equal(cache["pattern", 0], base["pattern", 0])  # still computed and cached


def test_mean_ablation_sets_z_to_its_mean() -> None:
    w = _identity_model()
    tokens = np.array([[1, 2, 3, 4, 1, 5], [6, 5, 4, 3, 2, 1]])
    _, base = run_with_cache(w, tokens)
    _, cache = run_with_cache(w, tokens, {(0, 0): HeadOverride(ablation="mean")})
    mean = base["z", 0][:, :, 0].mean(axis=(0, 1))  # [d_head], over batch and positions
    np.testing.assert_allclose(cache["z", 0][:, :, 0], np.broadcast_to(mean, (2, 6, mean.size)), rtol=1e-6)
    np.testing.assert_array_equal(cache["z", 0][:, :, 1], base["z", 0][:, :, 1])


@pytest.mark.parametrize("head", [(1, 0), (0, 2), (-1, 0), (0, -1)])
def test_override_on_a_missing_head_raises(head: tuple[int, int]) -> None:
    w = _identity_model(n_heads=2)
    with pytest.raises(ValueError, match=r"does not exist"):
        run_with_cache(w, TOKENS, {head: HeadOverride(ablation="zero")})


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"normalization": "relu"}, "normalization"),
        ({"ablation": "noise"}, "ablation"),
        ({"key_shift": -1}, "key_shift"),
        ({"score_scale": float("nan")}, "score_scale"),
        ({"eps": -1.0}, "eps"),
        ({"fixed_pattern": np.ones((3, 4))}, "fixed_pattern"),
        ({"fixed_pattern": np.full((3, 3), np.nan)}, "fixed_pattern"),
    ],
)
def test_invalid_override_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        HeadOverride(**kwargs)


def test_fixed_pattern_smaller_than_the_sequence_raises() -> None:
    w = _identity_model()
    with pytest.raises(ValueError, match="fixed_pattern"):
        run_with_cache(w, TOKENS, {(0, 0): HeadOverride(fixed_pattern=shift_matrix(4))})


def test_default_override_changes_nothing() -> None:
    w = _identity_model()
    _, base = run_with_cache(w, TOKENS)
    _, cache = run_with_cache(w, TOKENS, {(0, 0): HeadOverride()})
    assert HeadOverride().is_default and not HeadOverride().changes_pattern
    for name in base:
        np.testing.assert_array_equal(cache[name], base[name], err_msg=name)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key_shift": True}, "key_shift"),
        ({"key_shift": -1}, "key_shift"),
        ({"score_scale": "2"}, "score_scale"),
        ({"eps": None}, "eps"),
        ({"score_scale": float("nan")}, "score_scale"),
    ],
)
def test_head_override_refuses_bad_values_with_value_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HeadOverride(**kwargs)


def test_linear_normalisation_clips_negative_scores() -> None:
    from induction_gui.engine.attention import linear_rows

    scores = np.array([[[1.0, -np.inf], [-3.0, 1.0]]])  # [batch, query_pos, key_pos]
    rows = linear_rows(scores, 0.0)
    np.testing.assert_allclose(rows, [[[1.0, 0.0], [0.0, 1.0]]])
    assert (rows >= 0).all() and (rows.sum(-1) <= 1 + 1e-12).all()


def test_fixed_pattern_ignores_key_shift_whatever_the_score_scale() -> None:
    from induction_gui.engine.attention import override_head

    q = np.zeros((1, 3, 2), np.float32)  # [batch, pos, d_head]
    pattern = np.tril(np.ones((3, 3)))
    a = override_head(q, q, HeadOverride(fixed_pattern=pattern, key_shift=1, normalization="linear", eps=0.0), 1.0)[1]
    b = override_head(q, q, HeadOverride(fixed_pattern=pattern, key_shift=1, normalization="linear", eps=0.0,
                                         score_scale=2.0), 1.0)[1]
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a[0, 0], [1.0, 0.0, 0.0])
