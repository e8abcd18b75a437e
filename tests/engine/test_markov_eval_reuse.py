"""The held-out evaluation of a markov-chains run keeps its buffers and strategies: no state leaks between calls."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from induction_gui.engine.train_config import PRESETS
from induction_gui.engine.training import HeldOut, StepRecord, Trainer, held_out_batch, measure_markov
from induction_gui.engine.weights import Weights

CONFIG = dataclasses.replace(PRESETS["markov-chains"], eval_batch=6, n_ctx=30)
FIELDS = ("heldout_loss", "bayes_loss", "kl_uniform", "kl_unigram", "kl_bigram", "nearest")


def _measured(weights: Weights, held: HeldOut) -> tuple[object, ...]:
    record = StepRecord(1, 0.0, 0.0, 0.0, 0.0, [], [])
    measure_markov(weights, held, record)
    return tuple(getattr(record, f) for f in FIELDS)


def test_an_evaluation_after_another_equals_a_first_one() -> None:
    a = Trainer(CONFIG).weights
    b = Trainer(dataclasses.replace(CONFIG, seed=5)).weights
    used = held_out_batch(CONFIG)
    first_a = _measured(a, used)
    after = _measured(b, used)  # the buffers and strategies of the first call are reused
    assert after == _measured(b, held_out_batch(CONFIG))  # the same numbers as on a fresh batch object
    assert after != first_a  # different weights: the reuse did not return the old numbers
    assert _measured(a, used) == first_a


def test_weights_of_another_dtype_get_their_own_buffers() -> None:
    held = held_out_batch(CONFIG)
    weights = Trainer(CONFIG).weights
    in_float32 = _measured(weights, held)
    in_float64 = _measured(weights.astype(np.float64), held)
    assert in_float64[-1] == in_float32[-1]
    assert in_float64[:-1] == pytest.approx(in_float32[:-1], rel=1e-4)
