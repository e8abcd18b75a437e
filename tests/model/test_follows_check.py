"""The lesson check "follows": a state the learner's chain sends to one other, and the trained model predicting it."""

from __future__ import annotations

import numpy as np

from induction_gui.analysis import Analysis
from induction_gui.analysis.lesson_checks import evaluate
from induction_gui.model.document import Document
from induction_gui.model.markov_chain import default_chain, stored_chain, with_cell
from induction_gui.model.scenario import load_scenario
from induction_gui.model.sequence_edit import generate_markov_chain

CHECK = {"kind": "follows", "chain_min": 0.9, "min": 0.5}
A, B, C = 0, 1, 2  # the states of the statistical-induction preset are its token ids (no start token)


def live(preset: str = "statistical-induction") -> Analysis:
    return Analysis(Document(load_scenario(preset)))


def send(d: Analysis, state: int, to: int, weight: float = 20.0) -> None:
    """What the Markov chain editor does when a learner types ``weight`` into cell (state, to)."""
    d.document.set_markov_chain(with_cell(stored_chain(d.scenario.view), state, to, weight))


def regenerate(d: Analysis, seed: int = 0, length: int = 40) -> None:
    """What the sequence panel's Generate button does with the Markov chain generator."""
    d.document.set_tokens(generate_markov_chain(d.scenario, seed, k=3, length=length).tokens)


def test_the_preset_chain_has_no_near_certain_transition_so_the_task_starts_undone() -> None:
    result = evaluate(CHECK, live())
    assert not result.met and "the most: B → C, 0.75" in result.detail


def test_editing_the_chain_is_not_enough_the_counts_must_come_from_it() -> None:
    d = live()
    send(d, C, A)
    result = evaluate(CHECK, d)
    assert not result.met
    assert "sends C to A with probability 0.96" in result.detail and "at the last C (position 98)" in result.detail
    regenerate(d)
    result = evaluate(CHECK, d)
    assert result.met, result.detail
    last_c = int(np.flatnonzero(d.scenario.tokens == C)[-1])
    probs = d.get("logits").probs  # [pos, d_vocab]
    assert f"(position {last_c})" in result.detail and f"with {probs[last_c, A]:.2f}" in result.detail
    assert probs[last_c, A] == probs[last_c].max(), "the model's top guess after C is now A"


def test_named_states_restrict_the_transition() -> None:
    d = live()
    send(d, C, A)
    regenerate(d)
    assert evaluate({**CHECK, "state": "C", "next": "A"}, d).met
    other = evaluate({**CHECK, "state": "A", "next": "C"}, d)
    assert not other.met and "to that state" in other.detail and "A → C" in other.detail
    missing = evaluate({**CHECK, "state": "Z"}, d)
    assert not missing.met and "no state 'Z'" in missing.detail and "A, B, C" in missing.detail


def test_staying_put_counts_only_when_next_names_the_state_itself() -> None:
    d = live()
    send(d, C, C, 50.0)  # C → C 0.99: not "one other state"
    regenerate(d)
    assert not evaluate(CHECK, d).met
    assert evaluate({**CHECK, "state": "C", "next": "C"}, d).met


def test_a_sequence_without_the_state_says_to_generate_one() -> None:
    d = live()
    send(d, C, A)
    d.document.set_tokens(np.array([A, B] * 10))
    result = evaluate(CHECK, d)
    assert not result.met and "the sequence has no C" in result.detail


def test_states_skip_the_start_token() -> None:
    d = live("induction-circuit")  # <s> is id 0: state j is token id j + 1
    d.document.set_markov_chain(default_chain(3))  # 0.73 on to the next state: below 0.9
    names = d.scenario.vocab[1:4]
    result = evaluate(CHECK, d)
    assert not result.met and f"{names[0]} → {names[1]}, 0.73" in result.detail
