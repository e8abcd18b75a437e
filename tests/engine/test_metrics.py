"""Head metrics: detectors, stripe scores, loss, ICL, logit attribution, ablation (METRICS.md checks)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from induction_gui.engine import HeadOverride, ModelConfig, Weights, run_with_cache
from induction_gui.engine.metrics import (
    HEAD_NAMES,
    PREFIX_MATCHING_VARIANT,
    ablation_effects,
    current_token_score,
    detect_head,
    detect_head_from_patterns,
    detection_pattern,
    duplicate_token_pattern,
    first_and_repeat_loss,
    first_token_score,
    icl_score,
    induction_pattern,
    induction_stripe_score,
    logit_attribution,
    logit_attribution_by_half,
    per_token_loss,
    prefix_matching_score,
    previous_token_pattern,
    previous_token_score,
    previous_token_stripe_score,
)

CFG = ModelConfig(n_layers=2, n_heads=3, d_model=16, d_head=4, d_vocab=11, n_ctx=24)
OPTIONS = [(bos, cur, m) for bos in (False, True) for cur in (False, True) for m in ("mul", "abs")]


def repeated_random_tokens(d_vocab: int, n_block: int, *, n_seqs: int = 1, seed: int = 0) -> np.ndarray:
    """[n_seqs, 2 * n_block + 1]: ``[BOS = 0, r, r]`` with r drawn from 1..d_vocab − 1."""
    block = np.random.default_rng(seed).integers(1, d_vocab, size=(n_seqs, n_block))  # [batch, n_block]
    return np.concatenate([np.zeros((n_seqs, 1), dtype=np.int64), block, block], axis=1)  # [batch, pos]


def random_weights(seed: int = 0, biases: bool = False) -> Weights:
    """Random float64 weights; optionally random biases too (so attribution must account for them)."""
    w = Weights.random(CFG, seed=seed, dtype=np.float64)
    if biases:
        rng = np.random.default_rng(seed + 1000)
        for name in w:
            if ".b_" in name or name == "unembed.b_U":
                w[name] = rng.standard_normal(w[name].shape) * 0.3
    return w


def induction_model() -> tuple[Weights, np.ndarray, int]:
    """A hand-built two-layer induction circuit and a ``[BOS, r, r]`` sequence for it.

    d_model is split into token, position, previous-token, output and junk
    subspaces. L0H0 is a positional previous-token head that copies the previous
    token into the previous-token subspace; L1H0 matches the query token against
    that subspace (K-composition), rests on BOS otherwise, and copies into the
    output subspace that W_U reads. L0H1 and L1H1 are random heads that write only
    into junk dimensions nobody reads.
    """
    n_vocab, n_ctx, d_head, gain = 8, 16, 16, 40.0
    tok, pos, prev, out, junk = 0, 8, 24, 32, 40
    cfg = ModelConfig(n_layers=2, n_heads=2, d_model=44, d_head=d_head, d_vocab=n_vocab, n_ctx=n_ctx)
    w = Weights.zeros(cfg, dtype=np.float64)
    rng = np.random.default_rng(0)
    W_E, W_pos, W_U = (np.zeros_like(w[n]) for n in ("embed.W_E", "pos_embed.W_pos", "unembed.W_U"))
    W_E[np.arange(n_vocab), tok + np.arange(n_vocab)] = 1.0
    W_pos[np.arange(n_ctx), pos + np.arange(n_ctx)] = 1.0
    W_U[out + np.arange(n_vocab), np.arange(n_vocab)] = 10.0
    w["embed.W_E"], w["pos_embed.W_pos"], w["unembed.W_U"] = W_E, W_pos, W_U
    names = ("W_Q", "W_K", "W_V", "W_O", "b_Q")
    blocks = [{n: w[f"blocks.{layer}.attn.{n}"].copy() for n in names} for layer in (0, 1)]
    b0, b1 = blocks
    for i in range(n_ctx):  # query at i meets key at i − 1
        b0["W_Q"][0, pos + i, i] = gain
        if i + 1 < d_head:
            b0["W_K"][0, pos + i, i + 1] = 1.0
    for t in range(n_vocab):
        b0["W_V"][0, tok + t, t] = 1.0
        b0["W_O"][0, t, prev + t] = 1.0  # previous token -> previous-token subspace
        b1["W_Q"][0, tok + t, t] = gain
        b1["W_K"][0, prev + t, t] = 1.0  # key's previous token matches query token
        b1["W_V"][0, tok + t, t] = float(t != 0)  # resting on BOS (token 0) copies nothing
        b1["W_O"][0, t, out + t] = 1.0  # copy the attended token to the output subspace
    b1["W_K"][0, pos + 0, n_vocab] = 1.0  # BOS position ...
    b1["b_Q"][0, n_vocab] = gain / 2  # ... gets half a match from every query
    for b in blocks:
        for n in ("W_Q", "W_K", "W_V"):
            b[n][1] = rng.standard_normal(b[n][1].shape)
        b["W_O"][1, :, junk:] = rng.standard_normal((d_head, 4))
    for layer, b in enumerate(blocks):
        for n, v in b.items():
            w[f"blocks.{layer}.attn.{n}"] = v
    w.validate()
    tokens = np.array([0, 3, 1, 6, 2, 7, 5, 3, 1, 6, 2, 7, 5])  # [BOS, r, r], N = 6, r distinct
    return w, tokens, 6


def perfect_induction_pattern(tokens: np.ndarray) -> np.ndarray:
    """[query_pos, key_pos]: all attention on the induction target, else on BOS."""
    d = induction_pattern(tokens)
    a = d / np.maximum(d.sum(axis=1, keepdims=True), 1)
    a[d.sum(axis=1) == 0, 0] = 1.0
    return a


# -- detection patterns ---------------------------------------------------------------


def naive_patterns(t: list[int]) -> dict[str, np.ndarray]:
    """The METRICS.md definitions written as loops."""
    n = len(t)
    prev, dup, ind = np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            prev[i, j] = float(i >= 1 and j == i - 1)
            dup[i, j] = float(t[j] == t[i] and j < i)
            ind[i, j] = float(1 <= j <= i and t[j - 1] == t[i] and j - 1 < i)
    return {"previous_token_head": prev, "duplicate_token_head": dup, "induction_head": ind}


def test_patterns_by_hand() -> None:
    t = [0, 5, 6, 5, 6]
    expected_ind = np.zeros((5, 5))
    expected_ind[3, 2] = expected_ind[4, 3] = 1  # token after the earlier 5, the earlier 6
    expected_dup = np.zeros((5, 5))
    expected_dup[3, 1] = expected_dup[4, 2] = 1
    np.testing.assert_array_equal(induction_pattern(t), expected_ind)
    np.testing.assert_array_equal(duplicate_token_pattern(t), expected_dup)
    np.testing.assert_array_equal(previous_token_pattern(t), np.eye(5, k=-1))


@given(st.lists(st.integers(0, 4), min_size=1, max_size=14))
def test_patterns_match_definitions(t: list[int]) -> None:
    for name, expected in naive_patterns(t).items():
        got = detection_pattern(name, t)
        np.testing.assert_array_equal(got, expected)
        assert not np.triu(got, k=1).any()


def test_custom_pattern_validation() -> None:
    t = np.arange(5)
    with pytest.raises(ValueError, match=r"shape \[pos, pos\] = \[5, 5\].*got \[4, 4\]"):
        detection_pattern(np.eye(4), t)
    upper = np.eye(5, k=1)
    with pytest.raises(ValueError, match=r"lower-triangular.*entry \[0, 1\]"):
        detection_pattern(upper, t)
    with pytest.raises(ValueError, match="one of"):
        detection_pattern("bogus_head", t)
    w = random_weights()
    with pytest.raises(ValueError, match="lower-triangular"):
        detect_head(w, t, upper)
    with pytest.raises(ValueError, match="error_measure"):
        detect_head(w, t, "induction_head", error_measure="max")  # type: ignore[arg-type]


def test_custom_pattern_equals_named_pattern() -> None:
    w = random_weights()
    t = np.array([0, 1, 2, 3, 1, 2, 3, 4])
    for bos, cur, m in OPTIONS:
        kw = dict(exclude_bos=bos, exclude_current_token=cur, error_measure=m)
        np.testing.assert_array_equal(
            detect_head(w, t, induction_pattern(t), **kw), detect_head(w, t, "induction_head", **kw)
        )


# -- the head detector ------------------------------------------------------------------


def test_perfect_induction_head_scores() -> None:
    """METRICS.md: N/(2N+1) without exclude_bos, 1 with it, for a head resting on BOS."""
    n = 50
    rng = np.random.default_rng(0)
    r = rng.permutation(np.arange(1, 200))[:n]  # distinct, none equal to BOS
    t = np.concatenate([[0], r, r])
    a = perfect_induction_pattern(t)  # [query_pos, key_pos]
    patterns = [a[None, None]]  # one layer: [batch, head_index, query_pos, key_pos]
    plain = detect_head_from_patterns(patterns, t, "induction_head")
    assert plain[0, 0] == pytest.approx(n / (2 * n + 1), abs=1e-12)
    assert plain[0, 0] == pytest.approx(0.495, abs=1e-3)
    no_bos = detect_head_from_patterns(patterns, t, "induction_head", exclude_bos=True)
    assert no_bos[0, 0] == pytest.approx(1.0, abs=1e-12)


def test_perfect_previous_token_head_scores_one() -> None:
    t = np.arange(10)
    a = np.eye(10, k=-1)
    a[0, 0] = 1.0  # position 0 can only attend to itself
    score = detect_head_from_patterns([a[None, None]], t, "previous_token_head")
    assert score[0, 0] == pytest.approx(9 / 10)
    abs_score = detect_head_from_patterns([a[None, None]], t, "previous_token_head", error_measure="abs")
    assert abs_score[0, 0] == pytest.approx(1 - round(1 / 10, 3))


def test_list_of_sequences_honours_options() -> None:
    """TransformerLens drops the options for lists; each sequence here is scored with them."""
    w = random_weights()
    seqs = [np.array([0, 1, 2, 3, 1, 2, 3]), np.array([0, 4, 5, 4, 5]), np.array([0, 6, 7, 8, 9, 6, 7, 8, 9, 1])]
    for name in HEAD_NAMES:
        for bos, cur, m in OPTIONS:
            kw = dict(exclude_bos=bos, exclude_current_token=cur, error_measure=m)
            got = detect_head(w, seqs, name, **kw)
            expected = np.mean([detect_head(w, s, name, **kw) for s in seqs], axis=0)
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # and the options matter, so they cannot have been dropped silently
    honoured = detect_head(w, seqs, "induction_head", exclude_bos=True, error_measure="abs")
    dropped = detect_head(w, seqs, "induction_head")
    assert not np.allclose(honoured, dropped)


def test_batch_is_mean_of_rows() -> None:
    w = random_weights(1)
    batch = repeated_random_tokens(CFG.d_vocab, 5, n_seqs=3, seed=2)  # [3, 11]
    for bos, cur, m in OPTIONS:
        kw = dict(exclude_bos=bos, exclude_current_token=cur, error_measure=m)
        got = detect_head(w, batch, "induction_head", **kw)
        expected = np.mean([detect_head(w, row, "induction_head", **kw) for row in batch], axis=0)
        np.testing.assert_allclose(got, expected, atol=1e-6)  # batched float32 forward vs one at a time


def test_cache_not_mutated() -> None:
    w = random_weights()
    t = repeated_random_tokens(CFG.d_vocab, 6, n_seqs=2)
    _, cache = run_with_cache(w, t)
    before = copy.deepcopy(cache.to_dict())
    for name in HEAD_NAMES:
        for bos, cur, m in OPTIONS:
            detect_head_from_patterns(cache, t, name, exclude_bos=bos, exclude_current_token=cur, error_measure=m)
    after = cache.to_dict()
    assert before.keys() == after.keys()
    for k in before:
        np.testing.assert_array_equal(before[k], after[k], err_msg=k)


def test_from_patterns_matches_forward() -> None:
    w = random_weights(3)
    t = repeated_random_tokens(CFG.d_vocab, 7, seed=3)
    _, cache = run_with_cache(w, t)
    layers = [cache["pattern", layer][0] for layer in range(CFG.n_layers)]  # without the batch axis
    for bos, cur, m in OPTIONS:
        kw = dict(exclude_bos=bos, exclude_current_token=cur, error_measure=m)
        np.testing.assert_array_equal(
            detect_head_from_patterns(layers, t[0], "duplicate_token_head", **kw),
            detect_head(w, t, "duplicate_token_head", **kw),
        )
    with pytest.raises(ValueError, match="does not match"):
        detect_head_from_patterns(cache, t[:, :-1], "induction_head")


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    tokens=st.lists(st.integers(0, CFG.d_vocab - 1), min_size=2, max_size=CFG.n_ctx),
    name=st.sampled_from(HEAD_NAMES),
    bos=st.booleans(),
    cur=st.booleans(),
)
@example(seed=0, tokens=[0, 0, 0], name="duplicate_token_head", bos=False, cur=True)  # scores 1.00000008
def test_scores_in_range(seed: int, tokens: list[int], name: str, bos: bool, cur: bool) -> None:
    w = random_weights(seed)
    # Σ A·D / Σ A is in [0, 1] exactly, and the engine does not clip it (TransformerLens does not).
    # With a float64 forward pass only float64 rounding remains.
    exact = detect_head(w, tokens, name, exclude_bos=bos, exclude_current_token=cur, dtype=np.float64)
    assert np.all((exact >= -1e-12) & (exact <= 1 + 1e-12))
    # The default float32 pattern has its numerator Σ A·D summed in float32 (a BLAS dot product
    # over up to pos² entries) against a float64 Σ A, so a head whose every attended key is a
    # target scores above 1 by float32 rounding (1.00000008 on [0, 0, 0], duplicate-token,
    # exclude_current_token). Rounding errors of such a sum grow like sqrt(terms) ≤ pos.
    mul = detect_head(w, tokens, name, exclude_bos=bos, exclude_current_token=cur)
    assert mul.shape == (CFG.n_layers, CFG.n_heads)
    float32_rounding = len(tokens) * np.finfo(np.float32).eps
    assert np.all((mul >= -float32_rounding) & (mul <= 1 + float32_rounding))
    ab = detect_head(w, tokens, name, exclude_bos=bos, exclude_current_token=cur, error_measure="abs")
    # abs = 1 − Σ|A − D| / n is not bounded by −1: Σ|A − D| ≤ ΣA + ΣD ≤ n + ΣD
    n = len(tokens)
    lowest = 1 - (n + detection_pattern(name, tokens).sum()) / n - 5e-4  # 5e-4: the 3-decimal rounding
    assert np.all((ab >= lowest) & (ab <= 1))


def test_hand_built_circuit_is_detected() -> None:
    w, t, _ = induction_model()
    ind = prefix_matching_score(w, t)
    prev = previous_token_score(w, t)
    assert ind[1, 0] > 0.95 and ind[1, 0] == ind.max()
    # row 0 has no previous token and must attend to itself, so the ceiling is (pos − 1)/pos
    assert prev[0, 0] > (len(t) - 1) / len(t) - 0.01 and prev[0, 0] == prev.max()


# -- stripe detectors ----------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 50])
def test_induction_stripe_offset(n: int) -> None:
    """A perfect head resting on BOS scores (N+1)/(N+2): the stripe is diag(A, 1 − N)."""
    r = np.arange(1, n + 1)
    t = np.concatenate([[0], r, r])
    a = perfect_induction_pattern(t)
    assert induction_stripe_score(a, n) == pytest.approx((n + 1) / (n + 2))
    # exactly the offset-(1 − N) diagonal and nothing else
    stripe_only = np.eye(2 * n + 1, k=1 - n)
    assert induction_stripe_score(stripe_only, n) == pytest.approx(1.0)
    assert induction_stripe_score(np.eye(2 * n + 1, k=-n), n) == pytest.approx(0.0)  # the off-by-one


def test_stripe_scores_per_head() -> None:
    n_pos = 7
    heads = np.stack([np.eye(n_pos), np.eye(n_pos, k=-1), np.tile(np.eye(n_pos)[:1], (n_pos, 1))])  # [head, q, k]
    np.testing.assert_allclose(current_token_score(heads), [1, 0, 1 / n_pos])
    np.testing.assert_allclose(previous_token_stripe_score(heads), [0, 1, 1 / (n_pos - 1)])
    np.testing.assert_allclose(first_token_score(heads), [1 / n_pos, 1 / n_pos, 1])
    assert isinstance(first_token_score(heads[0]), float)
    with pytest.raises(ValueError, match="no diagonal"):
        induction_stripe_score(np.eye(3), 5)


# -- loss and ICL ---------------------------------------------------------------------------


def test_per_token_loss_matches_naive() -> None:
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 6, 5)) * 3
    tokens = rng.integers(0, 5, size=(2, 6))
    expected = np.zeros((2, 5))
    for b in range(2):
        for i in range(5):
            p = np.exp(logits[b, i]) / np.exp(logits[b, i]).sum()
            expected[b, i] = -np.log(p[tokens[b, i + 1]])
    np.testing.assert_allclose(per_token_loss(logits, tokens), expected, rtol=1e-12)
    np.testing.assert_allclose(per_token_loss(logits[0], tokens[0]), expected[:1], rtol=1e-12)
    # large logits overflow a naive softmax but not this one
    big = per_token_loss(logits * 1e4, tokens)
    assert np.isfinite(big).all() and (big >= 0).all()


def test_first_and_repeat_loss() -> None:
    loss = np.array([[1.0, 2.0, 3.0, 0.5, 0.5, 0.5]])  # N = 3
    first, repeat = first_and_repeat_loss(loss, 3)
    assert (first, repeat) == (2.0, 0.5)
    w, t, n = induction_model()
    logits, _ = run_with_cache(w, t)
    split = first_and_repeat_loss(per_token_loss(logits, t), n)
    assert split.repeat < split.first - 1.0  # the circuit predicts the repeat


def test_icl_score_labels_its_indices() -> None:
    loss = np.tile(np.linspace(3.0, 1.0, 19), (2, 1))  # 20 tokens, 19 loss columns
    s = icl_score(loss)
    assert (s.early_index, s.late_index) == (2, 18)
    assert s.value == pytest.approx(loss[0, 18] - loss[0, 2])
    assert "L(18) − L(2)" in s.variant_label and "scaled" in s.variant_label
    s = icl_score(loss, reference_length=32)
    assert (s.early_index, s.late_index) == (3, 18)
    long = np.arange(600.0)[None]
    s = icl_score(long)
    assert (s.early_index, s.late_index, s.value) == (50, 500, 450.0)
    assert "Olsson" in s.variant_label
    with pytest.raises(ValueError, match="too few"):
        icl_score(np.zeros((1, 1)))


# -- logit attribution ----------------------------------------------------------------------


def test_logit_attribution_sums_to_logit() -> None:
    w = random_weights(4, biases=True)
    t = repeated_random_tokens(CFG.d_vocab, 5, n_seqs=2, seed=4)
    logits, cache = run_with_cache(w, t, dtype=np.float64)
    for b in range(2):
        for pos in range(t.shape[1] - 1):
            a = logit_attribution(w, cache, t, pos, batch_index=b)
            assert a.heads.shape == (CFG.n_layers, CFG.n_heads) and a.b_O.shape == (CFG.n_layers,)
            correct = logits[b, pos, t[b, pos + 1]]
            assert a.logit == pytest.approx(correct, abs=1e-10)
            assert a.total == pytest.approx(correct, abs=1e-10)
    first, repeat = logit_attribution_by_half(w, cache, t, 5, batch_index=1)
    parts = [logit_attribution(w, cache, t, p, batch_index=1) for p in range(10)]
    assert first.total == pytest.approx(sum(p.logit for p in parts[:5]), abs=1e-9)
    np.testing.assert_allclose(repeat.heads, sum(p.heads for p in parts[5:]), atol=1e-10)


def test_induction_head_dominates_the_repeat() -> None:
    w, t, n = induction_model()
    _, cache = run_with_cache(w, t)
    first, repeat = logit_attribution_by_half(w, cache, t, n)
    assert repeat.heads[1, 0] > 5 * n and repeat.heads[1, 0] > 10 * abs(first.heads[1, 0])
    assert repeat.heads[1, 0] == repeat.heads.max()


# -- ablation -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["zero", "mean"])
def test_ablating_a_silent_head_changes_nothing(mode: str) -> None:
    w = random_weights(5)
    w["blocks.0.attn.W_O"] = w["blocks.0.attn.W_O"].copy()
    w["blocks.0.attn.W_O"][1] = 0.0  # L0H1 writes nothing
    t = repeated_random_tokens(CFG.d_vocab, 6, n_seqs=2, seed=5)
    eff = ablation_effects(w, t, mode=mode)  # type: ignore[arg-type]
    assert eff.loss_change.shape == (CFG.n_layers, CFG.n_heads)
    assert eff.induction_change.shape == (CFG.n_layers, CFG.n_heads) * 2
    assert eff.loss_change[0, 1] == 0.0
    np.testing.assert_array_equal(eff.induction_change[0, 1], 0.0)
    assert np.abs(eff.loss_change).max() > 0  # other heads do matter
    assert eff.induction_variant == PREFIX_MATCHING_VARIANT


def test_ablation_breaks_the_circuit() -> None:
    w, t, _ = induction_model()
    eff = ablation_effects(w, t)
    assert eff.base_induction[1, 0] > 0.95
    assert eff.induction_change[0, 0, 1, 0] < -0.5  # previous-token head gone: induction gone
    # an unrelated head (it writes only junk dimensions) leaves the induction head alone;
    # L1H1 is random and reads the junk, so it may move
    # float32 forward: ablating changes the summation order of attn_out, ~1e-9 of rounding
    assert eff.induction_change[0, 1, 1, 0] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(eff.induction_change[:, :, 0, :], 0.0, atol=1e-12)  # layer 0 never changes
    assert eff.loss_change[1, 0] > 0.5 and eff.loss_change[0, 0] > 0.5
    assert eff.loss_change[0, 1] == pytest.approx(0.0, abs=1e-6)


def test_ablation_keeps_other_overrides() -> None:
    w, t, _ = induction_model()
    shift = HeadOverride(normalization="linear", fixed_pattern=np.eye(len(t), k=-1))
    eff = ablation_effects(w, t, overrides={(0, 0): shift})
    assert eff.base_induction[1, 0] > 0.95  # the fixed previous-token pattern also feeds the circuit
    assert eff.induction_change[0, 0, 1, 0] < -0.5
