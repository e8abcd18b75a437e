"""The bundled Markov-chain run and its preset: all three phases to scrub through, and the heads the lesson names."""

from __future__ import annotations

import csv

import numpy as np

from induction_gui import engine, load_scenario
from induction_gui.engine.markov_strategies import strategy_kls
from induction_gui.model.presets import BUNDLED_RUNS, MARKOV_RUN
from induction_gui.model.training_run import TrainingRun
from induction_gui.model.training_session import phase_changes
from induction_gui.resources import resource_path

PRESET = "statistical-induction"


def run() -> TrainingRun:
    return TrainingRun.open(resource_path("runs", MARKOV_RUN))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)  # [..., k]
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def test_the_run_goes_uniform_then_unigram_then_bigram_with_checkpoints_in_each_phase() -> None:
    r = run()
    assert r.status == "finished" and r.config.dataset == "markov-chains"
    with open(resource_path("runs", MARKOV_RUN, "curves.csv"), newline="") as f:
        first = next(csv.DictReader(f))
    assert first["step"] == "0"
    assert float(first["kl_uniform"]) < min(float(first["kl_unigram"]), float(first["kl_bigram"])), "starts uniform"
    phases = phase_changes(r.records)
    assert 0 < phases["unigram"] < phases["bigram"] < r.config.steps
    steps = r.checkpoint_steps
    assert steps[0] == 0 and steps[-1] == r.config.steps
    assert sum(phases["unigram"] <= s < phases["bigram"] for s in steps) >= 5, "the unigram plateau can be scrubbed"
    assert sum(s >= phases["bigram"] for s in steps) >= 5
    assert len(steps) <= 60, "the bundled run stays small"
    last = [x for x in r.records if x.kl_bigram is not None][-1]
    assert last.nearest == "bigram" and last.kl_bigram < 0.05


def test_the_preset_is_the_runs_final_model_on_a_chain_and_opens_the_run() -> None:
    sc = load_scenario(PRESET)
    r = run()
    assert sc.weights == r.load_checkpoint(r.checkpoint_steps[-1])
    assert sc.vocab == ["A", "B", "C"] and sc.bos is None and len(sc.tokens) == r.config.n_ctx - 1
    assert "scripts/make_markov_run.py" in sc.notes and "--checkpoint-every 20" in sc.notes
    assert (sc.view["layer"], sc.view["head"], sc.view["query_pos"]) == (1, 0, len(sc.tokens) - 1)
    assert BUNDLED_RUNS[PRESET] == MARKOV_RUN


def test_layer_0_is_a_previous_token_head_and_layer_1_a_statistical_induction_head() -> None:
    sc = load_scenario(PRESET)
    tokens = sc.tokens  # [pos]
    logits, cache = engine.run_with_cache(sc.weights, tokens, dtype=np.float64)
    prev = cache["pattern", 0][0, 0]  # [query_pos, key_pos]
    assert np.diag(prev, -1)[10:].mean() > 0.4, "layer 0 attends to the previous position"
    pattern = cache["pattern", 1][0, 0]  # [query_pos, key_pos]
    # the keys of query q that count: positions right after an earlier copy of q's state (what followed it)
    mass = [pattern[q, np.flatnonzero(tokens[:q] == tokens[q]) + 1].sum() for q in range(10, len(tokens))]
    assert np.mean(mass) > 0.7, "layer 1 attends to the positions whose previous state is the current one"
    kls = strategy_kls(tokens[None], log_softmax(logits), k=3)  # on this one sequence
    assert kls["bigram"] < kls["unigram"] < kls["uniform"], kls
