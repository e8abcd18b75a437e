"""Adding words a sequence needs to the vocabulary, as the sequence panel does, without Qt."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from induction_gui.engine.sequences import repeated_names_text
from induction_gui.model import Scenario
from induction_gui.model.sequence_edit import add_generated_words, add_typed_words, generated_tokens, sequence_text


def test_typed_words_are_added_and_the_text_tokenized(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario()
    edit = add_typed_words("the dog sat on the rug", s)
    assert edit is not None
    assert edit.words == ("dog", "rug")
    assert edit.vocab == [*s.vocab, "dog", "rug"]
    assert edit.weights.config.d_vocab == len(s.vocab) + 2
    assert [edit.vocab[i] for i in edit.tokens] == ["the", "dog", "sat", "on", "the", "rug"]
    assert add_typed_words("the cat sat", s) is None  # nothing missing


def test_typed_words_that_would_not_fit_the_context_are_not_added(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario()
    n_ctx = s.weights.config.n_ctx
    assert add_typed_words(" ".join(["dog"] * (n_ctx + 1)), s) is None


def test_generated_sentence_words_extend_the_vocabulary(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario()
    gen = repeated_names_text(0, bos="<bos>")  # a sentence in its own words, as generate_repeated_names loads
    edit = add_generated_words(gen, s)
    assert edit is not None
    np.testing.assert_array_equal(edit.tokens, s.tokens)  # the old tokens keep their ids
    tokens = generated_tokens(gen, edit.vocab)
    assert [edit.vocab[i] for i in tokens] == [gen.vocab[i] for i in gen.tokens]


def test_sequence_text_reads_back_as_the_tokens(make_scenario: Callable[..., Scenario]) -> None:
    s = make_scenario()
    assert sequence_text(s) == "<bos> the cat sat on mat the cat sat"
