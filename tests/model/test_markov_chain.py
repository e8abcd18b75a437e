"""The learner's Markov chain: rows renormalized, bad rows refused by row, saved with the scenario, and sampled.

The chain is a view setting of the scenario (``view.markov_chain``), edited
through the document; the undo command around it is tested in
``tests/qt/test_markov_editor.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from induction_gui.model import ScenarioError, load_scenario, loads_scenario, save_scenario
from induction_gui.model.document import Document
from induction_gui.model.events import SettingsChanged
from induction_gui.model.markov_chain import (
    VIEW_KEY,
    ChainError,
    chain_for,
    check_chain,
    default_chain,
    random_chain,
    resized,
    state_names,
    with_cell,
)
from induction_gui.model.scenario import dumps_scenario
from induction_gui.model.sequence_edit import GENERATORS

CYCLE = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]  # 0 -> 1 -> 2 -> 0
MARKOV = next(spec for spec in GENERATORS if spec.key == "markov_chain")


@pytest.fixture
def doc() -> Document:
    return Document(load_scenario("induction-circuit"))  # <s> A B C D ..., d_vocab 13, n_ctx 32, bos 0


def test_editing_a_cell_renormalizes_its_row_and_only_it() -> None:
    chain = [[1.0, 0.0, 0.0], [0.25, 0.25, 0.5], [0.5, 0.5, 0.0]]
    new = with_cell(chain, 1, 2, 2.0)  # weights 0.25, 0.25, 2 -> divided by 2.5
    assert new[1] == pytest.approx([0.1, 0.1, 0.8], abs=1e-15)
    assert new[0] == chain[0] and new[2] == chain[2]
    assert chain[1] == [0.25, 0.25, 0.5]  # the argument is left alone


@pytest.mark.parametrize(("row", "weight", "why"), [
    (1, -0.5, "row 1: weights must not be negative"),
    (2, math.nan, "row 2: every weight must be a finite number"),
    (0, math.inf, "row 0: every weight must be a finite number"),
    (0, 0.0, "row 0: the weights are all zero"),
])
def test_a_bad_row_is_refused_naming_the_row(row: int, weight: float, why: str) -> None:
    with pytest.raises(ChainError, match=f"^{why}"):
        with_cell(CYCLE, row, (row + 1) % 3, weight)  # the cycle's only positive cell of that row


def test_the_document_refuses_a_matrix_that_is_not_a_chain_naming_the_row(doc: Document) -> None:
    with pytest.raises(ChainError, match=r"^row 1: the probabilities sum to 0\.9, not 1$"):
        doc.check_markov_chain([[0.5, 0.5], [0.4, 0.5]])
    with pytest.raises(ChainError, match=r"^matrix: expected 2 to 8 states, got 9$"):
        doc.check_markov_chain(np.full((9, 9), 1 / 9))
    with pytest.raises(ChainError, match=r"^matrix: expected k rows of k numbers"):
        doc.check_markov_chain([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    with pytest.raises(ChainError):
        doc.set_markov_chain([[0.5, 0.5], [-0.5, 1.5]])
    assert VIEW_KEY not in doc.scenario.view  # nothing was stored


def test_setting_the_chain_announces_it_and_returns_the_old_one_exactly(doc: Document) -> None:
    seen: list[object] = []
    doc.events.scenario.connect(seen.append)
    chain = random_chain(4, 0.3, seed=7)
    assert doc.set_markov_chain(chain) is None  # the file had none: the default chain
    assert seen == [SettingsChanged(VIEW_KEY)]
    assert doc.scenario.view[VIEW_KEY] == chain
    again = with_cell(chain, 3, 0, 5.0)
    old = doc.set_markov_chain(again)
    assert old == chain  # bit for bit, so an undo puts back exactly this
    doc.set_markov_chain(old)
    assert doc.scenario.view[VIEW_KEY] == chain
    doc.set_markov_chain(None)
    assert VIEW_KEY not in doc.scenario.view and chain_for(doc.scenario.view, 3) == default_chain(3)


def test_a_saved_scenario_keeps_its_chain_bit_for_bit(doc: Document, tmp_path: Path) -> None:
    chain = random_chain(5, 0.5, seed=3)  # floats with every digit used
    doc.set_markov_chain(chain)
    path = tmp_path / "chain.induction.json"
    save_scenario(doc.scenario_for_saving(), path)
    reopened = load_scenario(path)
    assert reopened.view[VIEW_KEY] == chain
    assert all(a.hex() == b.hex() for ra, rb in zip(reopened.view[VIEW_KEY], chain, strict=True)
               for a, b in zip(ra, rb, strict=True))


def test_an_older_file_without_a_chain_opens_with_the_default_chain() -> None:
    scenario = load_scenario("induction-circuit")  # written before the chain existed
    assert VIEW_KEY not in scenario.view
    assert chain_for(scenario.view, 3) == default_chain(3)
    assert check_chain(default_chain(8)) == default_chain(8)


@pytest.mark.parametrize(("value", "path"), [
    ([[0.5, 0.5], [1.0]], "view.markov_chain: expected k rows of k numbers"),
    ([[0.5, "x"], [1.0, 0.0]], "view.markov_chain[0][1]: expected a number"),
    ([[0.5, 0.5], [0.7, 0.7]], "view.markov_chain: row 1: the probabilities sum to 1.4, not 1"),
    ([[1.0]], "view.markov_chain: matrix: expected 2 to 8 states, got 1"),
    ("cycle", "view.markov_chain: expected a list of rows"),
])
def test_a_hand_written_chain_is_checked_by_its_json_path(value: object, path: str) -> None:
    doc = json.loads(dumps_scenario(load_scenario("induction-circuit")))
    doc["view"] = {VIEW_KEY: value}
    with pytest.raises(ScenarioError, match="^" + path.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(".", r"\.")):
        loads_scenario(json.dumps(doc))


def test_the_generator_follows_the_chain_with_states_after_the_start_token(doc: Document) -> None:
    doc.set_markov_chain(CYCLE)
    gen = MARKOV.generate(doc.scenario, 11, k=3, length=20)
    tokens = np.asarray(gen.tokens)  # [20]
    assert tokens[0] == doc.scenario.bos == 0  # the start token stays first
    states = tokens[1:] - 1  # [19]: state j is id j + 1 (the j-th id that is not <s>)
    assert set(states.tolist()) <= {0, 1, 2}
    assert (np.diff(states) % 3 == 1).all()  # 0 -> 1 -> 2 -> 0 ... wherever it starts
    names = state_names(doc.scenario.vocab, doc.scenario.bos, 3)
    assert names == [doc.scenario.vocab[i] for i in (1, 2, 3)]
    # the first state comes from the stationary law, uniform for a cycle: every start shows up across seeds
    starts = {int(MARKOV.generate(doc.scenario, s, k=3, length=3).tokens[1]) for s in range(40)}
    assert starts == {1, 2, 3}


def test_the_generator_uses_the_chain_resized_to_k() -> None:
    scenario = load_scenario("lecture-demo")  # d_vocab 4, no start token
    scenario.view[VIEW_KEY] = CYCLE
    gen = MARKOV.generate(scenario, 0, k=2, length=8)  # 3 states cut to 2: row 1's mass lay on state 2
    assert resized(CYCLE, 2) == [[0.0, 1.0], list(default_chain(2)[1])]
    assert set(np.asarray(gen.tokens).tolist()) <= {0, 1} and len(gen.tokens) == 8


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 8).flatmap(lambda k: st.tuples(
    st.just(k), st.integers(0, k - 1), st.integers(0, k - 1),
    st.floats(0, 1e6) | st.sampled_from([0.0, 1e-300, 1.0]), st.integers(0, 2**31 - 1))))
def test_any_cell_edit_leaves_a_chain_or_is_refused_by_row(edit: tuple[int, int, int, float, int]) -> None:
    k, row, col, weight, seed = edit
    chain = random_chain(k, 1.0, seed)
    try:
        new = with_cell(chain, row, col, weight)
    except ChainError as exc:
        assert str(exc).startswith(f"row {row}: ")
        return
    assert check_chain(new) == new
    assert [r for i, r in enumerate(new) if i != row] == [r for i, r in enumerate(chain) if i != row]
    if weight > 0:
        assert new[row][col] > 0
    assert resized(new, k) == new
