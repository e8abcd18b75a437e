"""Training speed: Adam steps per second and wall time until the induction head forms.

The default preset (2 layers × 1 head, d_model 32, batch 32 × 64 tokens), one
BLAS thread, float32. Steps per second include everything a step does (batch,
forward, backward, Adam, per-step metrics, the ICL and copying scores every
``eval_every`` steps), as the Training panel sees it.
"""

from __future__ import annotations

import time

import numpy as np

from bench import Metric, register
from induction_gui.engine.training import PRESETS, Trainer, induction_formed, limit_blas_threads

# the speed of a PyTorch CPU implementation of the same model on one thread
TARGET_STEPS_PER_S = 145.0
TARGET_SECONDS_TO_INDUCTION = 2.0


@register("train")
def train(quick: bool) -> dict[str, Metric]:
    """``train_steps_per_s`` (median over blocks), ``train_seconds_to_induction`` and its step."""
    limit_blas_threads()
    config = PRESETS["default"]

    trainer = Trainer(config)
    for _ in range(10):  # warm-up: first-touch of the buffers
        trainer.step()
    block = 50
    rates = []
    for _ in range(3 if quick else 8):
        t0 = time.perf_counter()
        for _ in range(block):
            trainer.step()
        rates.append(block / (time.perf_counter() - t0))

    # a fresh run from the preset's seed, timed from construction to the first record that shows induction
    t0 = time.perf_counter()
    trainer = Trainer(config)
    formed_at = None
    for record in trainer.run():
        if induction_formed(record):
            formed_at = record.step
            break
    seconds = time.perf_counter() - t0 if formed_at is not None else float("inf")

    return {
        "train_steps_per_s": Metric(float(np.median(rates)), "steps/s", TARGET_STEPS_PER_S, lower_is_better=False),
        "train_steps_per_s_best": Metric(float(np.max(rates)), "steps/s"),
        "train_seconds_to_induction": Metric(seconds, "s", TARGET_SECONDS_TO_INDUCTION),
        "train_step_of_induction": Metric(float(formed_at or config.steps), "steps"),
    }
