"""The hand-built models do what their notes claim, on the default tokens and on random sequences."""

from __future__ import annotations

import numpy as np
import pytest

from induction_gui.engine.attention import HeadOverride
from induction_gui.engine.constructions import (
    CONSTRUCTIONS,
    Construction,
    build,
    induction_subspaces,
)
from induction_gui.engine.forward import run_with_cache
from induction_gui.engine.sequences import repeated_random

LECTURE_X = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0]], dtype=np.float64)
# The lecture's linear normaliser: a row holding one 1 reads 1 / (1 + 1e-8).
LECTURE_ROW = 1.0 / (1.0 + 1e-8)
# float32 cannot represent 0.99999999 (its spacing below 1 is 6e-8): it rounds to 1.
F32_TOL = 1e-7
# Hand-built margins: the correct continuation must win by this many logits.
MIN_MARGIN = 5.0


def expected_continuations(tokens: np.ndarray) -> dict[int, int]:
    """Position i -> the token after the most recent earlier occurrence of tokens[i]."""
    out: dict[int, int] = {}
    last: dict[int, int] = {}
    for i, t in enumerate(tokens.tolist()):
        if t in last:
            out[i] = int(tokens[last[t] + 1])
        last[t] = i
    return out


def detect(pattern: np.ndarray, detection: np.ndarray) -> float:
    """TransformerLens' ``mul`` head-detector score with ``exclude_bos=True``: Σ A·D / Σ A."""
    a = pattern.copy()  # [query_pos, key_pos]; never edit the cached pattern
    a[:, 0] = 0.0
    return float((a * detection).sum() / a.sum())


def prev_token_detection(tokens: np.ndarray) -> np.ndarray:
    return np.eye(len(tokens), k=-1)  # [query_pos, key_pos]


def induction_detection(tokens: np.ndarray) -> np.ndarray:
    n = len(tokens)
    d = np.zeros((n, n))  # [query_pos, key_pos]
    for i in range(n):
        for j in range(1, i + 1):
            if tokens[j - 1] == tokens[i]:
                d[i, j] = 1.0
    return d


def random_letters(rng: np.random.Generator, c: Construction, with_bos: bool) -> np.ndarray:
    """A random sequence of content tokens from a random-size alphabet (small alphabets repeat a lot)."""
    n_ctx = c.weights.config.n_ctx
    content = np.array([i for i in range(len(c.vocab)) if i != c.bos])
    alphabet = rng.choice(content, size=int(rng.integers(1, len(content) + 1)), replace=False)
    length = int(rng.integers(1, n_ctx + (0 if with_bos else 1)))
    body = rng.choice(alphabet, size=length)
    return np.concatenate([[c.bos], body]) if with_bos else body


# -- registry ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONSTRUCTIONS))
def test_every_construction_builds_and_runs_its_default_tokens(name: str) -> None:
    c = build(name)
    assert c.name == name
    assert c.weights.config.d_vocab == len(c.vocab)
    assert c.tokens.dtype == np.int64 and c.tokens.ndim == 1
    assert "\n" not in c.description and c.notes
    logits, cache = run_with_cache(c.weights, c.tokens, c.overrides)
    assert logits.shape == (1, len(c.tokens), len(c.vocab))
    assert np.isfinite(logits).all()


def test_build_returns_fresh_weights_and_rejects_unknown_names() -> None:
    a, b = build("induction-circuit"), build("induction-circuit")
    a.weights["unembed.W_U"][:] = 0.0
    assert b.weights["unembed.W_U"].any()
    with pytest.raises(KeyError, match="induction-circuit"):
        build("no-such-model")


# -- lecture demo ---------------------------------------------------------------------------


def test_lecture_demo_reproduces_the_printout_in_float64() -> None:
    c = build("lecture-demo")
    np.testing.assert_array_equal(c.weights["embed.W_E"][c.tokens], LECTURE_X)
    _, cache = run_with_cache(c.weights, c.tokens, c.overrides, dtype=np.float64)
    pattern = cache["pattern", 0][0, 0]  # [query_pos, key_pos]
    expected = LECTURE_ROW * np.eye(4, k=-1)
    np.testing.assert_allclose(pattern, expected, rtol=1e-15, atol=0)
    assert f"{pattern[1, 0]:.8f}" == "0.99999999"
    z = cache["z", 0][0, :, 0]  # [pos, d_head]: the lecture's copied representations A @ X
    np.testing.assert_allclose(z, expected @ LECTURE_X, rtol=1e-15, atol=0)
    assert not z[0].any()
    np.testing.assert_allclose(z[1:], LECTURE_ROW * LECTURE_X[:-1], rtol=1e-15)


def test_lecture_demo_in_float32_rounds_to_one() -> None:
    c = build("lecture-demo")
    _, cache = run_with_cache(c.weights, c.tokens, c.overrides, dtype=np.float32)
    pattern = cache["pattern", 0][0, 0]
    assert pattern.dtype == np.float32
    np.testing.assert_allclose(pattern, LECTURE_ROW * np.eye(4, k=-1), atol=F32_TOL)
    np.testing.assert_allclose(cache["z", 0][0, :, 0], np.eye(4, k=-1) @ LECTURE_X, atol=F32_TOL)


# -- previous-token head ----------------------------------------------------------------------


def test_previous_token_head_attends_to_the_previous_position_on_any_sequence() -> None:
    c = build("previous-token-head")
    rng = np.random.default_rng(0)
    for trial in range(200):
        toks = random_letters(rng, c, with_bos=bool(trial % 2))
        logits, cache = run_with_cache(c.weights, toks, dtype=np.float32)
        pattern = cache["pattern", 0][0, 0]  # [query_pos, key_pos]
        if len(toks) > 1:
            assert np.diag(pattern, k=-1).min() > 0.99
        # it predicts the previous token (never the start token)
        for i in range(1, len(toks)):
            if toks[i - 1] != c.bos:
                assert logits[0, i].argmax() == toks[i - 1]


def test_previous_token_head_is_right_on_its_period_two_default() -> None:
    c = build("previous-token-head")
    logits, _ = run_with_cache(c.weights, c.tokens)
    pred = logits[0, :-1].argmax(-1)  # [pos - 1]
    assert (pred[2:] == c.tokens[3:]).all()


# -- induction circuit ------------------------------------------------------------------------


def test_induction_layout_tiles_the_residual_stream() -> None:
    c = build("induction-circuit")
    s = induction_subspaces()
    assert s["token"].start == 0 and s["scratch"].stop == c.weights.config.d_model
    assert c.weights.config.d_model <= 96
    assert all(a.stop == b.start for a, b in zip(list(s.values()), list(s.values())[1:]))


def test_induction_circuit_default_tokens_predict_the_second_half() -> None:
    c = build("induction-circuit")
    logits, _ = run_with_cache(c.weights, c.tokens)
    top2 = np.sort(logits[0], axis=-1)[:, -2:]  # [pos, 2]
    # "<s> A B C D A B C D": at the second A, B, C, D the next tokens are B, C, D and (as before) A
    for i, want in expected_continuations(c.tokens).items():
        assert logits[0, i].argmax() == want
        assert top2[i, 1] - top2[i, 0] > 19.0  # a single earlier occurrence: nearly the full copy gain of 20


@pytest.mark.parametrize("with_bos", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_induction_circuit_continues_every_repeat_on_random_sequences(with_bos: bool, dtype: type) -> None:
    c = build("induction-circuit")
    rng = np.random.default_rng(1 + with_bos)
    checked = 0
    for _ in range(150):
        toks = random_letters(rng, c, with_bos)
        logits, _ = run_with_cache(c.weights, toks, dtype=dtype)
        for i, want in expected_continuations(toks).items():
            row = logits[0, i]  # [d_vocab]
            others = np.delete(row, want)
            assert row.argmax() == want, (toks.tolist(), i)
            assert row[want] - others.max() > MIN_MARGIN, (toks.tolist(), i)
            checked += 1
    assert checked > 1000


@pytest.mark.parametrize(
    "text",
    [
        "A A",  # immediate repeat, no start token: A was followed by A
        "A A A A",
        "A B A",  # the first token repeats, position 0 has no previous token
        "A B C A B",
        "<s> A A",
        "<s> A B A",
        "A B A C A",  # two continuations: the newer one (C) wins
        "A B B A B",
    ],
)
def test_induction_circuit_edge_cases(text: str) -> None:
    c = build("induction-circuit")
    toks = np.array([c.vocab.index(t) for t in text.split()])
    logits, _ = run_with_cache(c.weights, toks)
    for i, want in expected_continuations(toks).items():
        row = logits[0, i]
        assert row.argmax() == want
        assert row[want] - np.delete(row, want).max() > MIN_MARGIN


def test_induction_circuit_head_detector_scores() -> None:
    c = build("induction-circuit")
    seq = repeated_random(12, len(c.vocab), seed=3, bos=c.bos, batch=8)
    for toks in seq.tokens:
        _, cache = run_with_cache(c.weights, toks)
        p0, p1 = cache["pattern", 0][0], cache["pattern", 1][0]  # [head_index, query_pos, key_pos]
        prev_d, ind_d = prev_token_detection(toks), induction_detection(toks)
        assert detect(p0[0], prev_d) > 0.99  # L0H0: previous-token head
        assert detect(p1[0], ind_d) > 0.99  # L1H0: induction head
        assert detect(p0[0], ind_d) < 0.2
        assert detect(p1[0], prev_d) < 0.2
        assert detect(p0[1], prev_d) < 0.01  # L0H1 attends to itself


def test_induction_head_pattern_on_a_repeated_random_sequence() -> None:
    c = build("induction-circuit")
    n = 10
    seq = repeated_random(n, len(c.vocab), seed=7, bos=c.bos)
    _, cache = run_with_cache(c.weights, seq.tokens)
    pattern = cache["pattern", 1][0, 0]  # [query_pos, key_pos]
    second = np.array(seq.marks["second"])
    # the induction target of position i in the second half is i − n + 1
    assert pattern[second, second - n + 1].min() > 0.99
    # with nothing to copy, the first half rests on <s>
    assert pattern[np.array(seq.marks["first"]), 0].min() > 0.99
    # the METRICS stripe score: mean(diag(A, 1 − N)) ≈ (N + 1) / (N + 2) for a head resting on <s>
    stripe = np.diag(pattern, k=1 - n).mean()
    assert stripe == pytest.approx((n + 1) / (n + 2), abs=1e-3)


def test_k_composition_full_circuit_is_diagonal() -> None:
    w = build("induction-circuit").weights
    W_E = w["embed.W_E"].astype(np.float64)  # [d_vocab, d_model]
    q = W_E @ w["blocks.1.attn.W_Q"][0]  # [d_vocab, d_head]
    k = W_E @ w["blocks.0.attn.W_V"][0] @ w["blocks.0.attn.W_O"][0] @ w["blocks.1.attn.W_K"][0]  # [d_vocab, d_head]
    qk = q @ k.T  # [query token, key token]
    off = qk - np.diag(np.diag(qk))
    assert np.diag(qk).min() > 100 * max(np.abs(off).max(), 1e-12)


def test_ablating_the_previous_token_head_breaks_induction_but_the_unrelated_heads_do_not() -> None:
    c = build("induction-circuit")
    n = 10
    seq = repeated_random(n, len(c.vocab), seed=11, bos=c.bos)
    second = np.array(seq.marks["second"])
    base_logits, base = run_with_cache(c.weights, seq.tokens)

    def on_targets(cache: object) -> float:
        return float(cache["pattern", 1][0, 0][second, second - n + 1].mean())  # type: ignore[index]

    assert on_targets(base) > 0.99
    ablated_logits, ablated = run_with_cache(c.weights, seq.tokens, {(0, 0): HeadOverride(ablation="zero")})
    assert on_targets(ablated) < 0.01
    assert (ablated_logits[0, second[:-1]].argmax(-1) != seq.tokens[second[:-1] + 1]).all()
    for head in [(0, 1), (1, 1)]:
        logits, cache = run_with_cache(c.weights, seq.tokens, {head: HeadOverride(ablation="zero")})
        np.testing.assert_allclose(logits, base_logits, atol=1e-6)
        assert on_targets(cache) > 0.99


def test_induction_scores_stay_safe_in_float32() -> None:
    c = build("induction-circuit")
    toks = repeated_random(15, len(c.vocab), seed=5, bos=c.bos).tokens  # 31 tokens, near n_ctx
    l32, c32 = run_with_cache(c.weights, toks, dtype=np.float32)
    l64, _ = run_with_cache(c.weights, toks, dtype=np.float64)
    scores = c32["attn_scores", 1][0]
    assert np.abs(scores[np.isfinite(scores)]).max() < 100.0
    np.testing.assert_allclose(l32, l64, atol=1e-3)


# -- duplicate-token head -------------------------------------------------------------------


def test_duplicate_token_head_attends_to_earlier_copies_or_rests() -> None:
    c = build("duplicate-token-head")
    rng = np.random.default_rng(4)
    for _ in range(100):
        toks = random_letters(rng, c, with_bos=True)
        _, cache = run_with_cache(c.weights, toks)
        pattern = cache["pattern", 0][0, 0]  # [query_pos, key_pos]
        for i in range(1, len(toks)):
            earlier = [j for j in range(1, i) if toks[j] == toks[i]]
            mass = pattern[i, earlier].sum() if earlier else pattern[i, 0]
            assert mass > 0.99
