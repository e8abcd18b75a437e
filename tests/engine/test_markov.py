"""The in-context Markov task and its reference strategies, checked against plain counting.

The strategies in the engine are vectorised with cumulative sums; the references
here count with Python loops, position by position, written from the formulas
and not from the engine's code, so an off-by-one in either shows up as a mismatch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from induction_gui.engine.losses import log_softmax
from induction_gui.engine.markov import (
    MarkovTask,
    MarkovTaskError,
    sample_chains,
    sample_dirichlet_rows,
    sample_doubly_stochastic,
    sample_sequences,
    stationary_distribution,
)
from induction_gui.engine.markov_strategies import (
    STRATEGIES,
    bayes_optimal_loss,
    bigram_counts,
    bigram_strategy,
    kl_to_model,
    nearest_strategy,
    reference_strategies,
    strategy_kls,
    unigram_strategy,
    uniform_strategy,
)

# float64 sums of ≤ 100 terms and one division: agreement to 1e-12 is far above rounding
EXACT = 1e-12


# ---- direct counting references (plain loops, one position at a time) ----


def counted_unigram(seq: list[int], k: int, alpha: float) -> list[list[float]]:
    """At each position t: (count of j in seq[0..t] + α) / (number of tokens seen + kα)."""
    out = []
    for t in range(len(seq)):
        seen = seq[: t + 1]
        out.append([(seen.count(j) + alpha) / (len(seen) + k * alpha) for j in range(k)])
    return out


def counted_bigram(seq: list[int], k: int, alpha: float) -> list[list[float]]:
    """At each position t: (transitions current→j seen before t + α) / (transitions out of current + kα)."""
    out = []
    for t in range(len(seq)):
        current = seq[t]
        table = [[0] * k for _ in range(k)]
        for s in range(1, t + 1):  # the transitions whose both ends are in the context
            table[seq[s - 1]][seq[s]] += 1
        row = table[current]
        out.append([(row[j] + alpha) / (sum(row) + k * alpha) for j in range(k)])
    return out


def random_tokens(rng: np.random.Generator, batch: int, length: int, k: int) -> np.ndarray:
    return rng.integers(0, k, size=(batch, length))


# (k, rows of one length 2..12 over k states, α)
token_batches = st.tuples(st.integers(2, 8), st.integers(2, 12)).flatmap(
    lambda kt: st.tuples(
        st.just(kt[0]),
        st.lists(st.lists(st.integers(0, kt[0] - 1), min_size=kt[1], max_size=kt[1]), min_size=1, max_size=3),
        st.sampled_from([0.1, 0.5, 1.0, 3.0]),
    )
)


# ---- the task ----


@pytest.mark.parametrize("no_unigram", [False, True])
@pytest.mark.parametrize("k", [2, 3, 8])
def test_transition_rows_are_distributions(k: int, no_unigram: bool) -> None:
    batch = sample_chains(MarkovTask(k=k, T=5, no_unigram=no_unigram), 64, 0)
    assert batch.transitions.shape == (64, k, k)
    np.testing.assert_allclose(batch.transitions.sum(axis=-1), 1.0, atol=EXACT)
    assert (batch.transitions > 0).all()
    assert batch.tokens.shape == (64, 5) and batch.tokens.dtype == np.int64
    assert batch.tokens.min() >= 0 and batch.tokens.max() < k


@pytest.mark.parametrize("k", [2, 3, 5, 8])
def test_no_unigram_chains_are_doubly_stochastic_with_uniform_stationary_law(k: int) -> None:
    matrices = sample_doubly_stochastic(k, 1.0, 200, np.random.default_rng(1))
    np.testing.assert_allclose(matrices.sum(axis=-1), 1.0, atol=EXACT)
    np.testing.assert_allclose(matrices.sum(axis=-2), 1.0, atol=EXACT)
    np.testing.assert_allclose(stationary_distribution(matrices), 1.0 / k, atol=1e-9)
    # and not all the same matrix: the sampler draws, it does not return J/k
    assert np.ptp(matrices[:, 0, 0]) > 0.1


def test_doubly_stochastic_rows_are_dirichlet_marginally() -> None:
    # each row is a relabelled Dirichlet(α·1) draw: Dirichlet(1,1,1) entries have mean 1/3, variance 1/18
    matrices = sample_doubly_stochastic(3, 1.0, 20000, np.random.default_rng(2))
    entries = matrices.reshape(-1)
    assert abs(entries.mean() - 1 / 3) < 1e-9  # exact by construction (rows sum to 1)
    assert abs(entries.var() - 1 / 18) < 0.003  # sampling error of 180000 dependent entries is ~0.0005


def test_dirichlet_rows_follow_alpha() -> None:
    # Dirichlet(α·1) entries over k states: variance (k-1) / (k²(kα+1)); small α gives spiky rows
    rng = np.random.default_rng(3)
    for alpha in (0.2, 5.0):
        rows = sample_dirichlet_rows(4, alpha, 5000, rng).reshape(-1)
        expected = 3 / (16 * (4 * alpha + 1))
        assert abs(rows.var() / expected - 1) < 0.05  # 80000 entries: relative error ~1%


def test_same_seed_same_batch_and_generator_streams() -> None:
    task = MarkovTask(k=4, T=30)
    a, b = sample_chains(task, 8, 123), sample_chains(task, 8, 123)
    np.testing.assert_array_equal(a.tokens, b.tokens)
    np.testing.assert_array_equal(a.transitions, b.transitions)
    assert not np.array_equal(sample_chains(task, 8, 124).tokens, a.tokens)
    rng = np.random.default_rng(123)
    first = sample_chains(task, 8, rng)
    np.testing.assert_array_equal(first.tokens, a.tokens)  # a generator seeded alike gives the same first batch
    assert not np.array_equal(sample_chains(task, 8, rng).tokens, first.tokens)  # and advances


def test_stationary_distribution_of_a_two_state_chain() -> None:
    # P = [[1-a, a], [b, 1-b]] has π = (b, a) / (a + b)
    a, b = 0.3, 0.05
    pi = stationary_distribution(np.array([[1 - a, a], [b, 1 - b]]))
    np.testing.assert_allclose(pi, [b / (a + b), a / (a + b)], atol=EXACT)


def test_stationary_distribution_is_fixed_by_the_chain() -> None:
    matrices = sample_dirichlet_rows(6, 0.3, 100, np.random.default_rng(4))
    pi = stationary_distribution(matrices)  # [batch, k]
    np.testing.assert_allclose(np.einsum("bi,bij->bj", pi, matrices), pi, atol=1e-10)
    np.testing.assert_allclose(pi.sum(axis=-1), 1.0, atol=EXACT)
    assert (pi >= 0).all()
    # the same law by the power method
    power = np.linalg.matrix_power(matrices, 512)[:, 0, :]  # [batch, k]: any row of P^n tends to π
    np.testing.assert_allclose(pi, power, atol=1e-8)


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        # periodic: eigenvalues 1 and -1, the law is still (½, ½)
        ([[0.0, 1.0], [1.0, 0.0]], [0.5, 0.5]),
        # a transient state 2 flowing into an absorbing state 0: all mass on 0
        ([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.7, 0.0, 0.3]], None),
        # two closed classes {0, 1} and {2}: eigenvalue 1 twice, any mixture is stationary
        ([[0.2, 0.8, 0.0], [0.6, 0.4, 0.0], [0.0, 0.0, 1.0]], None),
    ],
)
def test_stationary_distribution_of_awkward_chains(chain: list[list[float]], expected: list[float] | None) -> None:
    matrix = np.array(chain)
    pi = stationary_distribution(matrix)
    assert (pi >= 0).all() and pi.sum() == pytest.approx(1.0, abs=EXACT)
    np.testing.assert_allclose(pi @ matrix, pi, atol=1e-10)
    if expected is not None:
        np.testing.assert_allclose(pi, expected, atol=EXACT)


def test_first_state_follows_the_stationary_law() -> None:
    # one fixed chain repeated: the first-state frequencies over n draws match π to within
    # 5 standard errors (sqrt(π(1-π)/n) ≤ 0.0036 for n = 20000), a flake rate below 1e-5
    rng = np.random.default_rng(5)
    chain = sample_dirichlet_rows(3, 1.0, 1, rng)[0]  # [k, k]
    pi = stationary_distribution(chain)
    n = 20000
    tokens = sample_sequences(np.broadcast_to(chain, (n, 3, 3)), 2, rng)  # [n, 2]
    tolerance = 5 * math.sqrt(0.25 / n)
    assert np.abs(np.bincount(tokens[:, 0], minlength=3) / n - pi).max() < tolerance
    # and the second state too, since π P = π
    assert np.abs(np.bincount(tokens[:, 1], minlength=3) / n - pi).max() < tolerance
    # not trivially: this chain's π is far from uniform, which a uniform first state would miss
    assert np.abs(pi - 1 / 3).max() > 3 * tolerance


def test_sequences_follow_their_own_chain() -> None:
    # long sequences: empirical transition frequencies approach each sequence's matrix
    batch = sample_chains(MarkovTask(k=3, T=20000, alpha=2.0), 2, 6)
    for tokens, matrix in zip(batch.tokens, batch.transitions, strict=True):
        table = np.zeros((3, 3))
        np.add.at(table, (tokens[:-1], tokens[1:]), 1)
        np.testing.assert_allclose(table / table.sum(axis=1, keepdims=True), matrix, atol=0.03)


def _stepwise(transitions: np.ndarray, T: int, seed: int) -> np.ndarray:
    """Sequences drawn one position at a time, the obvious way, from the same uniforms."""
    u = np.random.default_rng(seed).random((transitions.shape[0], T))  # [batch, T]
    first = np.cumsum(stationary_distribution(transitions), axis=-1)  # [batch, k]
    out = np.empty((transitions.shape[0], T), dtype=np.int64)
    k = transitions.shape[1]
    for b in range(transitions.shape[0]):
        out[b, 0] = min(int((u[b, 0] >= first[b]).sum()), k - 1)
        for t in range(1, T):
            row = np.cumsum(transitions[b, out[b, t - 1]])  # [k]
            out[b, t] = min(int((u[b, t] >= row).sum()), k - 1)
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 8), st.integers(1, 6), st.integers(1, 140), st.sampled_from([0.05, 1.0, 5.0]), st.integers(0, 2**31))
def test_vectorised_walk_draws_exactly_the_stepwise_sequence(k: int, batch: int, T: int, alpha: float, seed: int) -> None:
    transitions = np.random.default_rng(seed + 1).dirichlet(np.full(k, alpha), size=(batch, k))  # [batch, k, k]
    np.testing.assert_array_equal(sample_sequences(transitions, T, seed), _stepwise(transitions, T, seed))



@pytest.mark.parametrize(
    ("field", "task"),
    [
        ("k", MarkovTask(k=1)),
        ("k", MarkovTask(k=9)),
        ("k", MarkovTask(k=3.0)),  # type: ignore[arg-type]
        ("T", MarkovTask(T=1)),
        ("alpha", MarkovTask(alpha=0.0)),
        ("alpha", MarkovTask(alpha=-1.0)),
        ("alpha", MarkovTask(alpha=math.inf)),
        ("alpha", MarkovTask(alpha=math.nan)),
        ("no_unigram", MarkovTask(no_unigram="yes")),  # type: ignore[arg-type]
    ],
)
def test_validate_names_the_bad_field(field: str, task: MarkovTask) -> None:
    with pytest.raises(MarkovTaskError, match=f"^{field}:"):
        task.validate()
    with pytest.raises(MarkovTaskError, match=f"^{field}:"):
        sample_chains(task, 1, 0)


def test_sample_sequences_refuses_a_bad_chain() -> None:
    with pytest.raises(ValueError, match="transitions"):
        sample_sequences(np.array([[[0.5, 0.4], [0.5, 0.5]]]), 4, 0)
    with pytest.raises(ValueError, match="transitions"):
        sample_sequences(np.array([[0.5, 0.5], [0.5, 0.5]]), 4, 0)
    with pytest.raises(ValueError, match="^T:"):
        sample_sequences(np.full((1, 2, 2), 0.5), 0, 0)


def test_defaults_are_valid() -> None:
    task = MarkovTask()
    task.validate()
    assert (task.k, task.T, task.alpha, task.no_unigram) == (3, 100, 1.0, False)


# ---- the strategies against counting ----


@pytest.mark.parametrize("seed", range(4))
def test_strategies_match_direct_counting(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 9))
    alpha = float(rng.choice([0.1, 1.0, 2.5]))
    tokens = random_tokens(rng, 3, 15, k)
    unigram = unigram_strategy(tokens, k, alpha)
    bigram = bigram_strategy(tokens, k, alpha)
    for b, seq in enumerate(tokens.tolist()):
        np.testing.assert_allclose(unigram[b], counted_unigram(seq, k, alpha), atol=EXACT)
        np.testing.assert_allclose(bigram[b], counted_bigram(seq, k, alpha), atol=EXACT)
    np.testing.assert_array_equal(uniform_strategy(tokens, k), np.full((3, 15, k), 1 / k))


@settings(max_examples=60)
@given(token_batches)
def test_strategies_match_counting_for_any_sequences(case: tuple[int, list[list[int]], float]) -> None:
    k, rows, alpha = case
    tokens = np.array(rows, dtype=np.int64)
    strategies = reference_strategies(tokens, k, alpha)
    assert set(strategies) == set(STRATEGIES)
    for name, probs in strategies.items():
        assert probs.shape == (*tokens.shape, k), name
        np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=EXACT, err_msg=name)
        assert (probs > 0).all(), name
    for b, seq in enumerate(rows):
        np.testing.assert_allclose(strategies["unigram"][b], counted_unigram(seq, k, alpha), atol=EXACT)
        np.testing.assert_allclose(strategies["bigram"][b], counted_bigram(seq, k, alpha), atol=EXACT)


def test_bigram_counts_by_hand() -> None:
    # 0 1 0 1 0: at t = 4 (current 0) the transitions seen are 0→1, 1→0, 0→1, 1→0; out of 0: two to 1
    counts = bigram_counts(np.array([[0, 1, 0, 1, 0]]), 2)
    np.testing.assert_array_equal(counts[0], [[0, 0], [0, 0], [0, 1], [1, 0], [0, 2]])
    # the formula at t = 4 with α = 1: (0 + 1) / (2 + 2), (2 + 1) / (2 + 2)
    np.testing.assert_allclose(bigram_strategy(np.array([[0, 1, 0, 1, 0]]), 2, 1.0)[0, 4], [0.25, 0.75])
    # and the unigram at t = 4: three 0s and two 1s among 5 tokens, (3 + 1) / (5 + 2)
    np.testing.assert_allclose(unigram_strategy(np.array([[0, 1, 0, 1, 0]]), 2, 1.0)[0, 4], [4 / 7, 3 / 7])


def test_strategies_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="tokens"):
        unigram_strategy(np.array([[0, 3]]), 3)
    with pytest.raises(ValueError, match="tokens"):
        bigram_strategy(np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="alpha"):
        bigram_strategy(np.array([[0, 1]]), 2, 0.0)


# ---- measurements ----


def test_kl_is_zero_for_the_strategy_itself_and_positive_otherwise() -> None:
    rng = np.random.default_rng(7)
    tokens = random_tokens(rng, 4, 20, 3)
    strategies = reference_strategies(tokens, 3, 1.0)
    for name, probs in strategies.items():
        # a model whose logits are the strategy's log-probabilities plus a per-position shift
        logits = np.log(probs) + rng.normal(size=(4, 20, 1))
        kls = strategy_kls(tokens, log_softmax(logits), 3, 1.0)
        assert kls[name] == pytest.approx(0.0, abs=1e-12)
        assert all(value > 1e-4 for other, value in kls.items() if other != name)
        assert nearest_strategy(kls) == name


def test_kl_against_a_hand_computed_value() -> None:
    # one position counted (t = 1): KL((1/2, 1/2) ‖ (1/4, 3/4)) = ½ log 2 + ½ log(2/3)
    p = np.full((1, 2, 2), 0.5)
    log_q = np.log(np.array([[[0.9, 0.1], [0.25, 0.75]]]))
    expected = 0.5 * math.log(2) + 0.5 * math.log(2 / 3)
    assert kl_to_model(p, log_q) == pytest.approx(expected, rel=1e-12)
    # from position 0 the first position joins the mean
    first = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert kl_to_model(p, log_q, positions_from=0) == pytest.approx((first + expected) / 2, rel=1e-12)


def test_kl_is_finite_for_extreme_logits_and_zero_probabilities() -> None:
    logits = np.array([[[0.0, -800.0, 5.0], [100.0, 0.0, 0.0]]])
    log_q = log_softmax(logits)  # finite where a softmax would underflow to 0
    p = np.array([[[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]])
    value = kl_to_model(p, log_q, positions_from=0)
    assert math.isfinite(value) and value > 100
    # a model that rules out (log 0) only states the strategy rules out too: finite, no NaN
    log_q = np.log(np.array([[[0.5, 0.5, 0.0]]]), where=np.array([[[True, True, False]]]),
                   out=np.full((1, 1, 3), -np.inf))  # fmt: skip
    assert kl_to_model(np.array([[[0.25, 0.75, 0.0]]]), log_q, positions_from=0) == pytest.approx(
        0.25 * math.log(0.5) + 0.75 * math.log(1.5), rel=1e-12
    )


def test_kl_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        kl_to_model(np.ones((1, 3, 2)) / 2, np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="positions_from"):
        kl_to_model(np.ones((1, 3, 2)) / 2, np.zeros((1, 3, 2)), positions_from=3)


def test_bayes_optimal_loss_is_the_bigram_cross_entropy() -> None:
    rng = np.random.default_rng(8)
    tokens = random_tokens(rng, 3, 12, 4)
    losses = []
    for seq in tokens.tolist():
        probs = counted_bigram(seq, 4, 1.0)
        losses += [-math.log(probs[t][seq[t + 1]]) for t in range(1, len(seq) - 1)]
    assert bayes_optimal_loss(tokens, 4, 1.0) == pytest.approx(sum(losses) / len(losses), rel=1e-12)


def test_bigram_beats_unigram_and_uniform_on_real_chains() -> None:
    # on sequences from the task the Bayes-optimal estimate has the lowest cross-entropy (the loss floor)
    batch = sample_chains(MarkovTask(), 64, 9)
    tokens = batch.tokens
    targets = tokens[:, 2:, None]  # [batch, T-2, 1]

    def cross_entropy(probs: np.ndarray) -> float:
        return float(-np.log(np.take_along_axis(probs[:, 1:-1], targets, axis=-1)).mean())

    bigram = bayes_optimal_loss(tokens, 3, 1.0)
    assert bigram == pytest.approx(cross_entropy(bigram_strategy(tokens, 3)), rel=1e-12)
    assert bigram < cross_entropy(unigram_strategy(tokens, 3)) < math.log(3)


def test_nearest_strategy() -> None:
    assert nearest_strategy({"uniform": 0.4, "unigram": 0.1, "bigram": 0.3}) == "unigram"
    assert nearest_strategy({"uniform": math.nan, "unigram": 0.2, "bigram": 0.2}) == "unigram"  # tie: earlier
    with pytest.raises(ValueError, match="no measured KL"):
        nearest_strategy({"uniform": math.nan})
