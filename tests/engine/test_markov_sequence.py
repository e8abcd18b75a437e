"""The "Markov chain" test sequence: states mapped to the ids besides the start token, seeded, refused when too big."""

from __future__ import annotations

import numpy as np
import pytest

from induction_gui.engine.sequences import markov_chain

SWAP = np.array([[0.0, 1.0], [1.0, 0.0]])  # 0 <-> 1


@pytest.mark.parametrize(("bos", "ids"), [(None, (0, 1)), (0, (1, 2)), (1, (0, 2))])
def test_states_are_the_ids_besides_the_start_token(bos: int | None, ids: tuple[int, int]) -> None:
    gen = markov_chain(SWAP, 9, 5, seed=3, bos=bos)
    tokens = np.asarray(gen.tokens)  # [9]
    body = tokens if bos is None else tokens[1:]
    if bos is not None:
        assert tokens[0] == bos
    assert set(body.tolist()) == set(ids)
    assert (body[1:] != body[:-1]).all()  # the swap chain alternates
    assert np.array_equal(markov_chain(SWAP, 9, 5, seed=3, bos=bos).tokens, tokens)  # seeded


def test_a_chain_larger_than_the_vocabulary_is_refused_naming_d_vocab() -> None:
    with pytest.raises(ValueError, match=r"^d_vocab: 3 states need 3 ids besides the start token, got 2$"):
        markov_chain(np.full((3, 3), 1 / 3), 5, 3, seed=0, bos=0)


def test_a_row_that_is_not_a_distribution_is_refused() -> None:
    with pytest.raises(ValueError, match="every row must be non-negative and sum to 1"):
        markov_chain(np.array([[0.5, 0.4], [0.5, 0.5]]), 5, 4, seed=0, bos=None)
