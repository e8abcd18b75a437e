"""The ``markov_counting`` entry against counting written out by hand, and its refusals.

The reference here loops over the sequence one token at a time, sharing no
code with the entry or the engine's cumulative sums: it counts c_j among the
n = t + 1 tokens seen, c_{i→j} over the transitions (s-1, s) with s ≤ t, and
applies (c + α) / (total + kα). Sequences come from the "Markov chain"
generator on a preset with a start token (state j = id j + 1, 13 ids) and from
a model whose vocabulary is the k states themselves (no start token).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from induction_gui import load_scenario
from induction_gui.analysis import Analysis
from induction_gui.analysis.analysis import NotDefinedHere
from induction_gui.analysis.entries.markov import Counting, chain_param
from induction_gui.engine import ModelConfig, Weights
from induction_gui.model.markov_chain import default_chain, random_chain
from induction_gui.model.sequence_edit import generate_markov_chain

# float64 counts and a float64 log-softmax on both sides: they differ only by summation order
TOL = dict(rtol=1e-12, atol=1e-12)


def hand_counts(states: list[int], t: int, k: int) -> tuple[list[int], list[list[int]]]:
    """(c_j over states[0..t], transition counts C[i][j] over the pairs (s-1, s) with 1 ≤ s ≤ t), by loops."""
    unigram = [0] * k
    for s in range(t + 1):
        unigram[states[s]] += 1
    pairs = [[0] * k for _ in range(k)]
    for s in range(1, t + 1):
        pairs[states[s - 1]][states[s]] += 1
    return unigram, pairs


def hand_model(logits_row: np.ndarray, ids: list[int]) -> list[float]:
    """The softmax over the whole vocabulary at one position, read at the state ids (not renormalised)."""
    top = max(float(x) for x in logits_row)
    total = sum(math.exp(float(x) - top) for x in logits_row)
    return [math.exp(float(logits_row[i]) - top) / total for i in ids]


def hand_kl(p: list[float], q: list[float]) -> float:
    return sum(pj * math.log(pj / qj) for pj, qj in zip(p, q) if pj > 0)


def check_against_hand(counting: Counting, logits: np.ndarray, states: list[int], ids: list[int], offset: int,
                       alpha: float) -> None:
    """Every number of the entry, at every position, equals the hand count's."""
    k = counting.k
    assert counting.states.tolist() == states and list(counting.state_ids) == ids and counting.offset == offset
    kls: dict[str, list[float]] = {"uniform": [], "unigram": [], "bigram": []}
    for t in range(len(states)):
        at = counting.at(t + offset)
        assert at is not None and at.step == t and at.position == t + offset
        unigram, pairs = hand_counts(states, t, k)
        i = states[t]
        c_i = sum(pairs[i])
        assert at.current == i and at.seen == t + 1
        assert at.next_state == (states[t + 1] if t + 1 < len(states) else None)
        assert at.unigram_counts.tolist() == unigram
        assert at.bigram_counts.tolist() == pairs[i] and at.out_of_current == c_i
        assert at.transition_counts.tolist() == pairs
        uni = [(unigram[j] + alpha) / (t + 1 + k * alpha) for j in range(k)]
        bi = [(pairs[i][j] + alpha) / (c_i + k * alpha) for j in range(k)]
        matrix = [[(pairs[r][j] + alpha) / (sum(pairs[r]) + k * alpha) for j in range(k)] for r in range(k)]
        np.testing.assert_allclose(at.unigram, uni, **TOL)
        np.testing.assert_allclose(at.bigram, bi, **TOL)
        np.testing.assert_allclose(at.bigram_matrix, matrix, **TOL)
        model = hand_model(logits[t + offset], ids)
        np.testing.assert_allclose(at.model, model, rtol=1e-9, atol=1e-12)
        assert at.other_mass == pytest.approx(1.0 - sum(model), abs=1e-9)
        if t >= 1:  # the curves' convention: positions ≥ 1 of the chain
            kls["uniform"].append(hand_kl([1.0 / k] * k, model))
            kls["unigram"].append(hand_kl(uni, model))
            kls["bigram"].append(hand_kl(bi, model))
    for name, values in kls.items():
        assert counting.kl[name] == pytest.approx(sum(values) / len(values), rel=1e-9)
    assert counting.nearest == min(kls, key=lambda n: sum(kls[n]))


@pytest.mark.parametrize("seed, k, alpha", [(0, 3, 1.0), (5, 4, 1.0), (2, 2, 0.5)])
def test_generator_sequence_on_a_preset_with_a_start_token(seed: int, k: int, alpha: float) -> None:
    """induction-circuit (start token id 0, 13 ids): states are ids 1..k, position 0 is not a state."""
    scenario = load_scenario("induction-circuit")
    chain = random_chain(k, 1.0, seed)
    scenario.view["markov_chain"] = chain
    tokens = generate_markov_chain(scenario, seed, k=k, length=scenario.weights.config.n_ctx).tokens
    analysis = Analysis.of(scenario.weights, tokens, bos=scenario.bos, vocab=scenario.vocab)
    counting = analysis.get("markov_counting", chain=chain_param(chain), alpha=alpha)
    assert isinstance(counting, Counting), counting
    assert tokens[0] == scenario.bos and counting.at(0) is None  # the start token: nothing counted before it
    assert counting.names == tuple(scenario.vocab[1:k + 1]) and counting.d_vocab == 13
    np.testing.assert_array_equal(counting.chain, chain)
    states = [int(t) - 1 for t in tokens[1:]]
    check_against_hand(counting, analysis.results.logits, states, list(range(1, k + 1)), 1, alpha)
    assert (counting.other_mass > 0).all()  # 13 ids, 3 states: the model's mass elsewhere is reported


def test_a_model_whose_vocabulary_is_the_states() -> None:
    """bos None, d_vocab = k (the trained Markov model's vocabulary): token id = state, nothing else."""
    k = 3
    cfg = ModelConfig(n_layers=2, n_heads=1, d_model=16, d_head=8, d_vocab=k, n_ctx=40)
    weights = Weights.random(cfg, seed=3)
    rng = np.random.default_rng(1)
    chain = default_chain(k)
    states = [int(rng.integers(k))]
    for _ in range(39):
        states.append(int(rng.choice(k, p=chain[states[-1]])))
    analysis = Analysis.of(weights, states, bos=None, vocab=("x", "y", "z"))
    counting = analysis.get("markov_counting", chain=chain_param(chain))
    assert isinstance(counting, Counting), counting
    assert counting.offset == 0 and counting.names == ("x", "y", "z") and counting.alpha == 1.0
    check_against_hand(counting, analysis.results.logits, states, [0, 1, 2], 0, 1.0)
    np.testing.assert_allclose(counting.other_mass, 0.0)
    np.testing.assert_allclose(counting.model.sum(axis=-1), 1.0, rtol=1e-12)


def test_a_new_chain_is_a_new_value() -> None:
    """The chain is a parameter: editing it changes the true matrix drawn, not the counts."""
    scenario = load_scenario("induction-circuit")
    tokens = generate_markov_chain(scenario, 0, k=3, length=20).tokens
    analysis = Analysis.of(scenario.weights, tokens, bos=scenario.bos, vocab=scenario.vocab)
    a = analysis.get("markov_counting", chain=chain_param(default_chain(3)))
    b = analysis.get("markov_counting", chain=chain_param(random_chain(3, 1.0, 9)))
    assert not np.array_equal(a.chain, b.chain)
    np.testing.assert_array_equal(a.transitions, b.transitions)


def _refusal(tokens: list[int], *, bos: int | None = 0, k: int = 3, d_vocab: int | None = None) -> str:
    scenario = load_scenario("induction-circuit")
    weights = scenario.weights
    if d_vocab is not None:
        cfg = ModelConfig(n_layers=1, n_heads=1, d_model=8, d_head=4, d_vocab=d_vocab, n_ctx=16)
        weights = Weights.random(cfg, seed=0)
    vocab = scenario.vocab[: weights.config.d_vocab]
    value = Analysis.of(weights, tokens, bos=bos, vocab=vocab).get("markov_counting",
                                                                   chain=chain_param(default_chain(k)))
    assert isinstance(value, NotDefinedHere), value
    return value.message


def test_a_token_that_is_not_a_state_is_refused_by_position_and_name() -> None:
    message = _refusal([0, 1, 2, 3, 4, 1])  # id 4 = "D": the 3 states are A, B, C
    assert "position 4 holds “D”" in message and "(A, B, C)" in message
    assert '"Markov chain" generator' in message


def test_a_state_of_a_larger_chain_says_the_saved_chain_is_smaller() -> None:
    """Generated with 4 states while the saved chain has 3: the refusal says why the fourth is not a state."""
    message = _refusal([0, 1, 4, 2])
    assert "position 2 holds “D”" in message and "the chain saved with the scenario has 3" in message
    assert "saved with the scenario" not in _refusal([0, 1, 12, 2])  # id 12 could not be a state of any chain


def test_a_chain_that_is_not_a_transition_matrix_is_refused() -> None:
    scenario = load_scenario("induction-circuit")
    value = Analysis.of(scenario.weights, [0, 1, 2], bos=0, vocab=scenario.vocab).get(
        "markov_counting", chain=((0.5, 0.6), (0.5, 0.5)))
    assert isinstance(value, NotDefinedHere) and "row 0" in value.message


def test_a_start_token_in_the_middle_is_refused() -> None:
    message = _refusal([0, 1, 2, 0, 1])
    assert "position 3 holds the start token in the middle" in message
    assert '"Markov chain" generator' in message


def test_without_a_start_token_the_first_token_is_a_state() -> None:
    """A preset vocabulary with a start token, but a sequence that does not begin with it: position 0 counts."""
    scenario = load_scenario("induction-circuit")
    analysis = Analysis.of(scenario.weights, [1, 2, 3, 1, 2], bos=scenario.bos, vocab=scenario.vocab)
    counting = analysis.get("markov_counting", chain=chain_param(default_chain(3)))
    assert counting.offset == 0 and counting.states.tolist() == [0, 1, 2, 0, 1]


def test_nothing_after_the_start_token_is_refused() -> None:
    assert "no token after the start token" in _refusal([0])


def test_a_chain_larger_than_the_vocabulary_is_refused() -> None:
    message = _refusal([0, 1], k=4, d_vocab=3)  # 4 states, only ids 1 and 2 besides the start token
    assert "has 4 states" in message and "only 2 token ids" in message


def test_one_state_has_no_kl() -> None:
    """KL is over chain positions ≥ 1: a single state has none, and says so by an empty dict."""
    scenario = load_scenario("induction-circuit")
    analysis = Analysis.of(scenario.weights, [0, 2], bos=scenario.bos, vocab=scenario.vocab)
    counting = analysis.get("markov_counting", chain=chain_param(default_chain(3)))
    assert counting.kl == {} and counting.nearest is None
    at = counting.at(1)
    assert at is not None and at.seen == 1 and at.out_of_current == 0
    np.testing.assert_allclose(at.bigram, 1.0 / 3)  # nothing counted: the prior alone
