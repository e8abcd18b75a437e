"""A markov-chains run opens into a scenario of its own kind: k named states, one sampled chain, no start token."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from induction_gui import load_scenario
from induction_gui.engine import Weights
from induction_gui.engine.markov import sample_chains
from induction_gui.engine.training import PRESETS, StepRecord
from induction_gui.model.markov_chain import state_names
from induction_gui.model.run_scenario import build_scenario, state_vocabulary
from induction_gui.model.scenario import save_scenario
from induction_gui.model.training_run import RunWriter, TrainingRun

# the preset's task, a smaller model: only the sizes have to be consistent
CONFIG = dataclasses.replace(PRESETS["markov-chains"], d_model=8, d_head=4, n_heads=2, n_ctx=24, steps=10, seed=7)


def record(step: int, prefix: list[list[float]], nearest: str | None = None) -> StepRecord:
    """A record with the fields the scenario reads (prefix-matching scores, the nearest strategy)."""
    return StepRecord(step=step, elapsed_s=0.0, loss=1.0, loss_first=1.0, loss_repeat=1.0,
                      prefix_matching=prefix, previous_token=[[0.0, 0.0], [0.0, 0.0]], nearest=nearest)


def weights() -> Weights:
    return Weights.random(CONFIG.model_config, seed=0)


def scenario(records: list[StepRecord] = (), step: int = 10):  # type: ignore[assignment]
    return build_scenario(CONFIG, weights(), step=step, name="mc", status="finished", formed_at=None,
                          records=records, blocks=2)


def test_the_vocabulary_is_the_k_states_named_by_letters_and_there_is_no_start_token() -> None:
    sc = scenario()
    assert sc.vocab == ["A", "B", "C"] and sc.bos is None
    assert state_names(sc.vocab, sc.bos, CONFIG.k) == ["A", "B", "C"], "the sequence panel's states are the vocabulary"
    assert state_vocabulary(8) == list("ABCDEFGH")


def test_the_sequence_is_the_engines_chain_from_the_runs_seed_and_the_view_holds_its_matrix() -> None:
    sc = scenario()
    expected = sample_chains(CONFIG.markov_task, 1, np.random.default_rng(CONFIG.seed))
    # a whole training sequence (whatever blocks says) but its last state, whose prediction is never trained
    np.testing.assert_array_equal(sc.tokens, expected.tokens[0, :-1])
    np.testing.assert_array_equal(np.array(sc.view["markov_chain"]), expected.transitions[0])
    assert sc.tokens.max() < CONFIG.k
    assert sc.view["query_pos"] == CONFIG.n_ctx - 2
    np.testing.assert_array_equal(scenario().tokens, sc.tokens)  # the same every time
    other = build_scenario(dataclasses.replace(CONFIG, seed=8), weights(), step=10, name="mc", status="finished",
                           formed_at=None)
    assert not np.array_equal(other.tokens, sc.tokens), "another seed, another chain"


def test_the_focus_is_the_last_layers_best_statistical_induction_head() -> None:
    # layer 0 scores highest overall, but the statistical induction head is looked for in layer 1
    records = [record(5, [[0.9, 0.1], [0.2, 0.3]]), record(10, [[0.95, 0.1], [0.6, 0.4]])]
    assert (scenario(records).view["layer"], scenario(records).view["head"]) == (1, 0)
    # the last measured record up to the step decides
    assert scenario(records, step=5).view["head"] == 1
    assert (scenario().view["layer"], scenario().view["head"]) == (1, 0), "no records: layer 1, head 0"


def test_the_notes_say_what_the_model_and_the_sequence_are_and_when_the_phases_began() -> None:
    records = [record(20, [[0.1, 0.1], [0.2, 0.1]], "unigram"), record(40, [[0.1, 0.1], [0.9, 0.1]], "bigram")]
    notes = scenario(records, step=40).notes
    assert "unigram estimate from step 20" in notes and "bigram estimate from step 40" in notes
    assert "own random Markov chain" in notes and "A, B, C" in notes and "no start token" in notes
    assert "have not yet" in scenario().notes


def test_a_markov_scenario_saves_and_reopens_identically(tmp_path: Path) -> None:
    sc = scenario()
    save_scenario(sc, tmp_path / "mc.json")
    back = load_scenario(tmp_path / "mc.json")
    assert back == sc and back.bos is None and back.view["markov_chain"] == sc.view["markov_chain"]


def test_a_markov_run_folder_writes_and_reopens_the_markov_scenario(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path / "run", CONFIG)
    writer.checkpoint(0, weights())
    writer.add(record(10, [[0.1, 0.1], [0.2, 0.7]], "unigram"))
    writer.finish("finished", weights(), 10)
    sc = TrainingRun.open(tmp_path / "run").scenario()  # read back from the folder's scenario.json
    assert sc.vocab == ["A", "B", "C"] and sc.bos is None and sc.view["head"] == 1
    expected = build_scenario(CONFIG, weights(), step=10, name="run", status="finished", formed_at=None,
                              records=[record(10, [[0.1, 0.1], [0.2, 0.7]], "unigram")])
    assert sc == expected


@pytest.mark.parametrize("k", [2, 8])
def test_every_allowed_k_gets_a_matrix_the_file_check_accepts(k: int) -> None:
    config = dataclasses.replace(CONFIG, k=k, d_vocab=k)
    sc = build_scenario(config, Weights.random(config.model_config, seed=0), step=0, name="mc", status="running",
                        formed_at=None)
    assert len(sc.vocab) == k and len(sc.view["markov_chain"]) == k
    sc.validate()
