"""Training on in-context Markov chains: the dataset, its held-out curves and its phases (issue 15, point 3)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from induction_gui.engine.forward import run_with_cache
from induction_gui.engine.markov import MarkovTask, sample_chains
from induction_gui.engine.markov_strategies import bayes_optimal_loss, strategy_kls
from induction_gui.engine.train_config import PRESET_TITLES, PRESETS, TrainConfig, TrainingConfigError
from induction_gui.engine.training import Trainer, held_out_batch, measure_markov, StepRecord
from induction_gui.engine.training_data import make_batch, markov_batch

MARKOV = PRESETS["markov-chains"]


def test_the_preset_is_the_issues_default_task_on_a_vocabulary_of_its_states() -> None:
    assert MARKOV.dataset == "markov-chains" and PRESET_TITLES["markov-chains"].startswith("Markov chains")
    assert (MARKOV.k, MARKOV.n_ctx, MARKOV.alpha, MARKOV.no_unigram) == (3, 100, 1.0, False)
    assert MARKOV.d_vocab == 3 and MARKOV.n_layers == 2
    assert MARKOV.markov_task == MarkovTask(k=3, T=100, alpha=1.0, no_unigram=False)
    MARKOV.validate()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"k": 9, "d_vocab": 9}, "k"),
        ({"k": 1, "d_vocab": 1}, "d_vocab"),  # the general vocabulary check comes first
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"no_unigram": 1}, "no_unigram"),
        ({"d_vocab": 4}, "d_vocab"),  # the tokens are the k = 3 states, no start token
        ({"k": 2.5}, "k"),
        ({"eval_batch": 0}, "eval_batch"),
    ],
)
def test_bad_markov_settings_are_refused_by_name(change: dict[str, object], field: str) -> None:
    with pytest.raises(TrainingConfigError, match=f"^{field}:"):
        dataclasses.replace(MARKOV, **change).validate()


def test_markov_fields_on_another_dataset_are_refused_not_ignored() -> None:
    PRESETS["default"].validate()  # the defaults of the chain fields bind nothing
    for change in ({"k": 9}, {"alpha": 0.5}, {"no_unigram": True}):
        name = next(iter(change))
        with pytest.raises(TrainingConfigError, match=f"^{name}: only the markov-chains dataset"):
            dataclasses.replace(PRESETS["default"], **change).validate()


def test_batches_are_chains_of_the_task_seeded_and_masked_by_what_was_seen() -> None:
    config = dataclasses.replace(MARKOV, batch_size=5, n_ctx=30, k=4, d_vocab=4)
    a = make_batch(config, np.random.default_rng(7))
    b = make_batch(config, np.random.default_rng(7))
    np.testing.assert_array_equal(a.tokens, b.tokens)
    np.testing.assert_array_equal(a.tokens, sample_chains(config.markov_task, 5, np.random.default_rng(7)).tokens)
    assert a.tokens.shape == (5, 30) and a.tokens.min() >= 0 and a.tokens.max() <= 3
    for row, first in zip(a.tokens, a.first_mask, strict=True):
        # column i predicts from state row[i]; "first" when that state was not current at an earlier column
        want = [row[i] not in set(row[:i].tolist()) for i in range(29)]
        assert first.tolist() == want
    np.testing.assert_array_equal(a.repeat_mask, ~a.first_mask)


def test_the_loss_covers_every_next_state_of_a_sequence_without_start_token() -> None:
    config = dataclasses.replace(MARKOV, batch_size=4, n_ctx=20, steps=1)
    trainer = Trainer(config)
    weights = trainer.weights.copy()
    batch = trainer.batch(0)
    record = trainer.step()
    logits, _ = run_with_cache(weights, batch.tokens, dtype=np.float64)  # [batch, T, k]
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    # position 0 predicts token 1 (there is no start token to skip), ..., position T-2 predicts token T-1
    want = -np.take_along_axis(log_probs[:, :-1], batch.tokens[:, 1:, None], axis=-1).mean()
    assert record.loss == pytest.approx(want, rel=1e-4)


def test_held_out_curves_are_the_strategy_kls_of_the_model_on_a_fixed_batch() -> None:
    config = dataclasses.replace(MARKOV, eval_batch=8, n_ctx=40)
    held = held_out_batch(config)
    np.testing.assert_array_equal(held.tokens, held_out_batch(config).tokens)  # fixed by the seed
    assert not np.array_equal(held.tokens[:8], Trainer(config).batch(0).tokens[:8])  # not a training batch
    assert held.bayes_loss == pytest.approx(bayes_optimal_loss(held.tokens, 3, 1.0))
    weights = Trainer(config).weights
    record = StepRecord(1, 0.0, 0.0, 0.0, 0.0, [], [])
    measure_markov(weights, held, record)
    logits, _ = run_with_cache(weights, held.tokens, dtype=np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    kls = strategy_kls(held.tokens, log_probs, 3, 1.0)
    assert record.kl_uniform == pytest.approx(kls["uniform"], rel=1e-4)
    assert record.kl_unigram == pytest.approx(kls["unigram"], rel=1e-4)
    assert record.kl_bigram == pytest.approx(kls["bigram"], rel=1e-4)
    assert record.nearest == min(kls, key=kls.__getitem__)
    want = -np.take_along_axis(log_probs[:, 1:-1], held.tokens[:, 2:, None], axis=-1).mean()
    assert record.heldout_loss == pytest.approx(want, rel=1e-4)


def test_a_short_seeded_run_reaches_the_unigram_phase() -> None:
    """About a second: from the uniform strategy, the in-context unigram estimate becomes the nearest."""
    config = dataclasses.replace(MARKOV, steps=60, eval_every=10, seed=1)
    trainer = Trainer(config)
    assert trainer.initial_curves is not None and trainer.initial_curves.nearest == "uniform"
    records = [r for r in trainer.run() if r.nearest is not None]
    assert [r.step for r in records] == [10, 20, 30, 40, 50, 60]
    assert "unigram" in [r.nearest for r in records]
    for r in records:
        assert r.bayes_loss is not None and r.heldout_loss is not None and r.heldout_loss > r.bayes_loss
        assert r.kl_unigram is not None and r.kl_uniform is not None and r.kl_unigram < r.kl_uniform
    again = [r.kl_bigram for r in Trainer(config).run() if r.nearest is not None]
    assert again == [r.kl_bigram for r in records]  # seeded: the same run twice


@pytest.mark.slow
def test_the_default_preset_goes_through_the_three_phases_to_the_bigram_estimate() -> None:
    trainer = Trainer(MARKOV)
    records = [r for r in trainer.run() if r.nearest is not None]
    nearest = [trainer.initial_curves.nearest, *(r.nearest for r in records)]
    assert nearest[0] == "uniform"
    assert "unigram" in nearest and "bigram" in nearest[nearest.index("unigram"):]
    final = records[-1]
    assert final.nearest == "bigram" and final.kl_bigram < 0.05
    assert final.kl_unigram > 3 * final.kl_bigram  # the issue's target for the final model
    assert final.heldout_loss - final.bayes_loss < 0.05
