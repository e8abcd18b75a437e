"""Extending a vocabulary: shapes grow, old ids keep their meaning, new words are distinct and neutral."""

from __future__ import annotations

import numpy as np
import pytest

from induction_gui import load_scenario
from induction_gui.engine import run
from induction_gui.engine.vocab_edit import extend_vocab, missing_words, new_embedding_rows, translate_tokens


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("induction-circuit")


def test_shapes_grow_and_old_parameters_are_kept(scenario) -> None:
    vocab, weights = extend_vocab(scenario.vocab, scenario.weights, ["cat", "dog"], seed=3)
    d_vocab = scenario.weights.config.d_vocab
    assert vocab == [*scenario.vocab, "cat", "dog"]
    assert weights.config.d_vocab == d_vocab + 2
    assert weights["embed.W_E"].shape == (d_vocab + 2, weights.config.d_model)
    assert weights["unembed.W_U"].shape == (weights.config.d_model, d_vocab + 2)
    assert weights["unembed.b_U"].shape == (d_vocab + 2,)
    np.testing.assert_array_equal(weights["embed.W_E"][:d_vocab], scenario.weights["embed.W_E"])
    np.testing.assert_array_equal(weights["unembed.W_U"][:, :d_vocab], scenario.weights["unembed.W_U"])
    assert weights["embed.W_E"].dtype == scenario.weights["embed.W_E"].dtype
    for name in scenario.weights:
        if name not in ("embed.W_E", "unembed.W_U", "unembed.b_U"):
            np.testing.assert_array_equal(weights[name], scenario.weights[name])


def test_inputs_are_not_modified(scenario) -> None:
    before_vocab = list(scenario.vocab)
    before = scenario.weights.copy()
    extend_vocab(scenario.vocab, scenario.weights, ["cat"])
    assert scenario.vocab == before_vocab
    assert scenario.weights == before


def test_new_unembedding_is_zero_so_new_words_get_logit_zero(scenario) -> None:
    vocab, weights = extend_vocab(scenario.vocab, scenario.weights, ["cat", "dog"])
    np.testing.assert_array_equal(weights["unembed.W_U"][:, -2:], 0.0)
    np.testing.assert_array_equal(weights["unembed.b_U"][-2:], 0.0)
    tokens = np.array([0, 1, 2, len(vocab) - 2, 1], dtype=np.int64)
    logits = run(weights, tokens)  # [1, pos, d_vocab]
    np.testing.assert_array_equal(logits[0, :, -2:], 0.0)


def test_random_rows_are_small_distinct_and_seeded(scenario) -> None:
    rows = new_embedding_rows(scenario.weights, 3, seed=7)  # [3, d_model]
    again = new_embedding_rows(scenario.weights, 3, seed=7)
    other = new_embedding_rows(scenario.weights, 3, seed=8)
    np.testing.assert_array_equal(rows, again)
    assert not np.array_equal(rows, other)
    norms = np.linalg.norm(rows, axis=1)
    # existing rows are one-hot (norm 1): new rows are about a tenth of that (chi distribution, d_model 85)
    assert np.all((norms > 0.05) & (norms < 0.2))
    assert np.linalg.matrix_rank(rows) == 3  # distinguishable from each other


def test_zero_init(scenario) -> None:
    _, weights = extend_vocab(scenario.vocab, scenario.weights, ["cat"], init="zero")
    np.testing.assert_array_equal(weights["embed.W_E"][-1], 0.0)


@pytest.mark.parametrize(
    ("words", "message"),
    [([], "at least one"), (["A"], "already in the vocabulary: 'A'"), (["x", "x"], "more than once"), ([""], "non-empty")],
)
def test_bad_words_are_refused(scenario, words: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        extend_vocab(scenario.vocab, scenario.weights, words)


def test_vocab_and_weights_must_agree(scenario) -> None:
    with pytest.raises(ValueError, match="d_vocab is 13"):
        extend_vocab(scenario.vocab[:-1], scenario.weights, ["cat"])


def test_missing_words_and_translate() -> None:
    assert missing_words(["<s>", "A"], ["B", "A", "C", "B"]) == ["B", "C"]
    source, target = ["<s>", "x", "y"], ["<s>", "y", "z", "x"]
    np.testing.assert_array_equal(translate_tokens([0, 1, 2, 1], source, target), [0, 3, 1, 3])
    with pytest.raises(ValueError, match="'y'"):
        translate_tokens([2], source, ["<s>", "x"])
