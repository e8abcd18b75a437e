"""The scenario that opens a training run's model in the window, and the tokens it shows.

The trainer's tokens have no text and its model no view, so a run's scenario
is built here: neutral token names, a sequence of the kind the model was
trained on, and the most induction-like head in focus.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..engine.train_config import TrainConfig
from ..engine.training import StepRecord
from ..engine.training_data import START_TOKEN, tiled_blocks
from ..engine.weights import Weights
from .scenario import Scenario


def vocabulary(d_vocab: int) -> list[str]:
    """``["<s>", "t1", "t2", ...]``: the trainer's tokens have no text, so they get neutral names."""
    return ["<s>", *(f"t{i}" for i in range(1, d_vocab))]


def sample_tokens(config: TrainConfig, *, blocks: int | None = None) -> np.ndarray:
    """One sequence like those the model was trained on, for the scenario that opens the run.

    The start token, then a block of distinct tokens repeated, drawn by the
    trainer's own generator from the run's seed. The block length is the
    middle of the trained range (random-blocks) or the period (fixed-period):
    a length the model saw, repeated, so the induction stripe is plain to see.

    Parameters
    ----------
    config
        the run's settings.
    blocks
        how many times the block is shown; None tiles it to the end of the
        context. The Training dock shows two (half a training row redraws
        quickly while scrubbing).

    Returns
    -------
    np.ndarray
        int64 [pos] with ``pos == n_ctx`` (or ``1 + blocks · L ≤ n_ctx``).
    """
    if config.dataset == "fixed-period":
        length = config.effective_period
    else:
        length = (config.min_block + config.max_block) // 2
    room = config.n_ctx - 1 if blocks is None else (config.n_ctx - 1) // blocks
    length = max(1, min(length, config.d_vocab - 1, room))
    n_pos = config.n_ctx if blocks is None else 1 + blocks * length
    batch = tiled_blocks(np.array([length]), n_pos, config.d_vocab, np.random.default_rng(config.seed))
    return batch.tokens[0].astype(np.int64)  # [pos]


def best_head(record: StepRecord) -> tuple[int, int, float] | None:
    """(layer, head, score) of the head with the highest prefix-matching score, or None if not measured."""
    best: tuple[int, int, float] | None = None
    for layer, heads in enumerate(record.prefix_matching or []):
        for head, score in enumerate(heads):
            if score is not None and math.isfinite(score) and (best is None or score > best[2]):
                best = (layer, head, float(score))
    return best


def build_scenario(
    config: TrainConfig,
    weights: Weights,
    *,
    step: int,
    name: str,
    status: str,
    formed_at: int | None,
    records: Iterable[StepRecord] = (),
    blocks: int | None = None,
) -> Scenario:
    """The scenario that opens a run's model in the window, looking at its most induction-like head.

    Parameters
    ----------
    config, weights
        the run's configuration and the weights to show (final or last good).
    step
        the step of ``weights``, named in the title.
    name
        the run's name (its folder name), so several opened runs can be told apart.
    status, formed_at, records
        summarised in the notes; the last measured record picks the head in view.
    blocks
        how often the sequence shows its block (see :func:`sample_tokens`).
    """
    tokens = sample_tokens(config, blocks=blocks)
    view: dict[str, object] = {"query_pos": len(tokens) - 1}
    measured = [r for r in records if r.step <= step and best_head(r) is not None]
    if measured:
        layer, head, _ = best_head(measured[-1])  # type: ignore[misc]
        view.update(layer=layer, head=head)
    formed = f"the induction head formed at step {formed_at}" if formed_at is not None else "no induction head formed"
    return Scenario(
        title=f"{name}: step {step}",
        description=f"Trained run '{name}' at step {step} ({status}; {config.dataset} data)",
        notes=(
            f"Weights of the training run '{name}' at step {step} of {config.steps} ({status}); {formed}.\n"
            f"Trained with seed {config.seed}, learning rate {config.lr}, batch size {config.batch_size}. "
            "The sequence is of the kind the model was trained on: after <s>, a block of distinct tokens, repeated."
        ),
        vocab=vocabulary(config.d_vocab),
        tokens=tokens,
        weights=weights,
        bos=START_TOKEN,
        seed=config.seed,
        view=view,
        attn_scale=weights.attn_scale,
    )
